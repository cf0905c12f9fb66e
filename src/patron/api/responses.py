"""Response rendering: orjson bodies, the error shape of the wire contract."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from patron.conditions import REPLAY_HEADER, StoredResponse
from patron.errors import ApiError, Problem

R = TypeVar("R")


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


def written(
    request: Request,
    result: R | StoredResponse,
    answer: Callable[[R], StoredResponse],
    applied: Callable[[R], str | None],
) -> Response:
    """The response to a write: its first answer replayed, or `answer`'s, counted in the
    metrics under the kind `applied` names when it stored something."""
    if isinstance(result, StoredResponse):
        # A replay: the first response's bytes, status and ETag, marked as such.
        stored, headers = result, {**result.headers, REPLAY_HEADER: "true"}
    else:
        stored = answer(result)
        headers = stored.headers
        kind = applied(result)
        if kind is not None:
            request.app.state.metrics.write_applied(kind)
    return Response(stored.body, stored.status, headers, media_type="application/json")
