"""Response rendering: orjson bodies, the error shape of the wire contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from patron.errors import ApiError, Problem


class JsonResponse(Response):
    """A JSON response serialised with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> JsonResponse:
    """`{"errors": [...], "warnings": [...]}` with the status the errors imply."""
    return JsonResponse(
        {
            "errors": [p.to_wire() for p in error.errors],
            "warnings": [p.to_wire() for p in error.warnings],
        },
        status_code=error.status,
        headers=dict(headers or {}),
    )


def wire(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems as wire items."""
    return [p.to_wire() for p in problems]
