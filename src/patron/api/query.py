"""Query parameters that routes read by hand, and their OpenAPI declarations.

Every parameter here is a string whose meaning the route itself checks, so FastAPI has nothing
to validate; reading `request.query_params` directly spares the per-request cost of its
parameter machinery. A repeated parameter counts once, with its last value, as FastAPI reads it.
The declaration says what the route enforces: whether the parameter is required, and the shape
(`schema`) a value must have to get past the route's own checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from starlette.requests import Request

NOT_BLANK = r"\S"
"""Pattern of a required value: the route strips it, and a blank one is as good as missing."""


@dataclass(frozen=True, slots=True)
class QueryParam:
    """One string query parameter: its name on the wire, what it means and what it must be."""

    name: str
    description: str
    required: bool = False
    schema: dict[str, Any] = field(default_factory=dict)
    """JSON Schema keywords the value meets (enum, pattern); a string of any form without."""
    example: str | None = None
    """A value a client would send, shown in the document (and sent by its examples)."""

    def read(self, request: Request) -> str | None:
        """The parameter's value in `request`, None when absent."""
        return request.query_params.get(self.name)

    def needed(self) -> QueryParam:
        """The same parameter, required by the route that declares it."""
        return replace(self, required=True)

    def openapi(self) -> dict[str, Any]:
        """The parameter's OpenAPI object."""
        schema: dict[str, Any] = {"type": "string", **self.schema}
        if self.required:
            schema = {"pattern": NOT_BLANK, **schema} if "enum" not in schema else schema
        else:
            # Shaped as FastAPI declares an optional `str` query.
            schema = {"anyOf": [schema, {"type": "null"}]}
        declared = {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "description": self.description,
            "schema": {
                **schema,
                "description": self.description,
                "title": self.name.replace("_", " ").title(),
            },
        }
        if self.example is not None:
            declared["example"] = self.example
        return declared
