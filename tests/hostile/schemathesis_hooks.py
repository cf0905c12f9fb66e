"""A check of patron's own, loaded by `schemathesis run` through schemathesis.toml (`hooks`).

The document allows values that the org or a value rule still refuses with 400 (a source the org
does not enable, an account it does not have, a mobile number that is not one), so the
configuration lets a schema-valid request be 400. This check keeps what the 400 may be for: a
schema-valid request is never refused for leaving out something the document calls optional.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis import GenerationMode


class MissingValueRefused(AssertionError):
    """A schema-valid request was refused because it left out something."""


@schemathesis.check
def nothing_optional_is_required(ctx: Any, response: Any, case: Any) -> bool | None:
    """A positive request's 400 never says that something it could leave out is required."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return None
    if response.status_code != 400:
        return None
    try:
        errors = json.loads(response.content).get("errors", [])
    except (ValueError, AttributeError):
        return None
    missing = [e for e in errors if str(e.get("message", "")).endswith(" is required")]
    if missing:
        raise MissingValueRefused(
            f"{case.operation.label}: the document lets the request leave out what the "
            f"server requires: {json.dumps(missing)}"
        )
    return None
