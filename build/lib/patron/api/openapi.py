"""OpenAPI for bodies that patron reads itself (to control every error), and the error shape.

Routes read their JSON bodies through `patron.api.body.read_body`, so FastAPI cannot see the
models; `json_body(Model)` declares them in the operation, and `install_openapi` adds the
models' schemas and the shared error response to the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

_REF = "#/components/schemas/{model}"
_BODY_MODELS: dict[str, type[BaseModel]] = {}


class ProblemItem(BaseModel):
    """An error or warning item."""

    code: int = Field(description="Catalogue code (docs/errors.md).")
    message: str
    status: bool = Field(False, description="Always false.")
    field: str | None = Field(None, description="Path in the request of the field at fault.")


class ErrorBody(BaseModel):
    """Every failure: all errors of the request together, and the warnings so far."""

    errors: list[ProblemItem]
    warnings: list[ProblemItem]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed JSON, wrong types, values outside their rules",
        401: "Missing or invalid credential",
        404: "No such customer",
        409: "Conflict with stored data (or Idempotency-Key reused with another body)",
        412: "If-Match does not match the customer's version",
        413: "Body larger than 64 KiB",
        415: "Body not sent as JSON",
        429: "Too many failed authentications from this till or address (see Retry-After)",
        503: "Database unavailable or busy (see Retry-After)",
    }.items()
}


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON request body of `model`."""
    _BODY_MODELS[model.__name__] = model
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}
            },
        }
    }


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, with the body models patron validates itself."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        # FastAPI documents a 422 for every route with parameters; patron answers 400 instead.
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for name, model in _BODY_MODELS.items():
            body = model.model_json_schema(by_alias=True, ref_template=_REF, mode="validation")
            components.update(body.pop("$defs", {}))
            components[name] = body
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
