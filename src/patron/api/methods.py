"""The `Allow` header of a 405: every method the API serves at the request's path.

Starlette answers 405 from the first route whose path matches, naming only that route's
methods; patron declares GET and PUT on one path as two routes, so the header also takes every
method the OpenAPI document declares for the path (RFC 9110 section 15.5.6: a 405 lists the
target's supported methods).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PARAMETER = re.compile(r"\\\{[^/]+?\\\}")


@cache
def _template(path: str) -> re.Pattern[str]:
    """A path template of the document (`/v2/customers/{customer_id}`) as a full-match regex."""
    return re.compile(_PARAMETER.sub("[^/]+", re.escape(path)))


def allowed_methods(
    paths: Mapping[str, Mapping[str, Any]], path: str, matched: Iterable[str] = ()
) -> str:
    """The methods of `path`: those of the matched route and of every document path it fits."""
    methods = {m.strip().upper() for m in matched}
    for template, operations in paths.items():
        if _template(template).fullmatch(path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    known = [m for m in _ORDER if m in methods]
    return ", ".join(known + sorted(methods - set(_ORDER)))
