"""Reading a JSON request body: size, media type, syntax and shape, each with its code.

Shape is checked by the route's Pydantic wire model; its errors are translated into catalogue
problems with a field path in the request (`profiles[0].commChannels[1].value`), never
FastAPI's raw 422.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from patron import errors
from patron.errors import ApiError, Entry, Problem

MAX_BODY_BYTES = 64 * 1024

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "none_required": "null",
}


def field_path(loc: Sequence[int | str]) -> str:
    """`("profiles", 0, "firstName")` -> `profiles[0].firstName`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _clean_loc(loc: Sequence[int | str]) -> list[int | str]:
    # Pydantic adds the failing member of a union (e.g. "str", "int", "function-after[...]")
    # to the location; a client only cares about its own keys and indexes.
    cleaned: list[int | str] = []
    for part in loc:
        if isinstance(part, str) and (
            part in ("str", "int", "bool", "float", "list", "dict", "none")
            or "[" in part
            or part.startswith(("literal", "function", "constrained"))
        ):
            continue
        cleaned.append(part)
    return cleaned


def _problem(err: Any) -> Problem:
    kind: str = err["type"]
    path = field_path(_clean_loc(err["loc"])) or None
    ctx = err.get("ctx") or {}
    entry: Entry
    if kind == "json_invalid":
        entry, message = errors.MALFORMED_JSON, f"Malformed JSON: {ctx.get('error', 'invalid')}"
        path = None
    elif kind == "missing":
        entry, message = errors.REQUIRED, f"{path} is required"
    elif kind in ("string_too_long",):
        entry, message = (
            errors.TOO_LONG,
            f"{path} is longer than {ctx.get('max_length')} characters",
        )
    elif kind in ("too_long",):
        entry, message = errors.TOO_MANY, f"{path} has more than {ctx.get('max_length')} entries"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(ctx.values()), "")
        op = {
            "greater_than_equal": ">=",
            "less_than_equal": "<=",
            "greater_than": ">",
            "less_than": "<",
        }[kind]
        entry, message = errors.OUT_OF_RANGE, f"{path} must be {op} {bound}"
    elif kind in ("literal_error", "enum"):
        entry = errors.INVALID_VALUE
        message = f"{path} must be {ctx.get('expected', 'one of the allowed values')}"
    elif kind == "value_error" and isinstance(ctx.get("error"), _CodedValueError):
        coded: _CodedValueError = ctx["error"]
        entry, message = coded.entry, coded.message
    elif kind in _TYPE_NAMES:
        entry, message = errors.WRONG_TYPE, f"{path or 'the body'} must be {_TYPE_NAMES[kind]}"
    else:
        entry, message = (
            errors.WRONG_TYPE,
            f"{path or 'the body'}: {err.get('msg', 'invalid value')}",
        )
    return Problem(entry, message, path)


class _CodedValueError(ValueError):
    """Raised by wire-model validators that know their catalogue entry."""

    def __init__(self, entry: Entry, message: str) -> None:
        super().__init__(message)
        self.entry = entry
        self.message = message


def coded_error(entry: Entry, message: str) -> ValueError:
    """A ValueError for a Pydantic validator that carries its catalogue code."""
    return _CodedValueError(entry, message)


def translate(errs: Iterable[Mapping[str, Any]]) -> ApiError:
    """Pydantic errors (`exc.errors()`) as catalogue problems, duplicates folded."""
    seen: set[str | None] = set()
    problems: list[Problem] = []
    for err in errs:
        problem = _problem(err)
        if problem.field in seen:  # a value that fails every member of a union reports once
            continue
        seen.add(problem.field)
        problems.append(problem)
    return ApiError(problems)


# A JSON "\u0000" escape that is not itself escaped ("\\u0000" is a backslash and "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_paths(value: Any, path: str = "") -> list[str]:
    """Where the parsed body holds a NUL character (in a key or a string)."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else k
            found += [here] if "\x00" in k else _nul_paths(v, here)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _nul_paths(v, f"{path}[{i}]")
    return found


def _refuse_nul(raw: bytes) -> None:
    # Neither PostgreSQL text nor JSONB can hold U+0000, and no real name, identifier or
    # value needs it: refuse it with its path rather than fail at the database.
    if _NUL_ESCAPE.search(raw) is None:
        return
    try:
        paths = _nul_paths(orjson.loads(raw)) or [""]
    except orjson.JSONDecodeError:
        return  # malformed JSON: the parser below reports it
    raise ApiError(
        [
            Problem(errors.INVALID_CHARACTER, f"{p or 'the body'} holds a NUL character", p or None)
            for p in paths
        ]
    )


def parse_model(model: type[M], raw: bytes) -> M:
    """Validate raw JSON bytes against a wire model, raising ApiError with every problem."""
    _refuse_nul(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise translate(exc.errors()) from None


async def read_body(request: Request, model: type[M]) -> M:
    """The request's JSON body as `model`, or ApiError (413, 415, 400) naming what is wrong."""
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
    return parse_model(model, raw)
