"""Reading a JSON request body: size (413), media type (415), then syntax and shape (400).

Syntax and shape are checked by `patron.wire.parse_model` against the route's wire model.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from patron import errors
from patron.errors import ApiError
from patron.wire import parse_model

MAX_BODY_BYTES = 64 * 1024

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, model: type[M]) -> M:
    """The request's JSON body as `model`, or ApiError (413, 415, 400) naming what is wrong."""
    return parse_model(model, await read_raw(request))


async def read_raw(request: Request) -> bytes:
    """The request's raw JSON body, at most MAX_BODY_BYTES; ApiError (413, 415) otherwise."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError.one(errors.BODY_TOO_LARGE, "The body is larger than 64 KiB")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise ApiError.one(
            errors.UNSUPPORTED_MEDIA_TYPE,
            "Send the body as JSON with Content-Type: application/json",
        )
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError.one(errors.BODY_TOO_LARGE, "The body is larger than 64 KiB")
    return raw
