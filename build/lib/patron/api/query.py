"""Query parameters that routes read by hand, and their OpenAPI declarations.

Every parameter here is an optional string whose meaning the route itself checks, so FastAPI has
nothing to validate; reading `request.query_params` directly spares the per-request cost of its
parameter machinery. A repeated parameter counts once, with its last value, as FastAPI reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request


@dataclass(frozen=True, slots=True)
class QueryParam:
    """One optional string query parameter: its name on the wire and what it means."""

    name: str
    description: str

    def read(self, request: Request) -> str | None:
        """The parameter's value in `request`, None when absent."""
        return request.query_params.get(self.name)

    def openapi(self) -> dict[str, Any]:
        """The parameter's OpenAPI object, shaped as FastAPI declares an optional `str` query."""
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "description": self.description,
            "schema": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": self.description,
                "title": self.name.replace("_", " ").title(),
            },
        }
