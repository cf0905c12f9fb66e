"""Query parameters read by hand (`patron.api.query`): values and OpenAPI declarations."""

from __future__ import annotations

from starlette.requests import Request

from patron.api.query import QueryParam

SOURCE = QueryParam("source", "A source of the org.")


def _request(query: bytes) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": []}
    )


def test_a_parameter_reads_its_value_or_none() -> None:
    assert SOURCE.read(_request(b"source=INSTORE&other=1")) == "INSTORE"
    assert SOURCE.read(_request(b"other=1")) is None
    assert SOURCE.read(_request(b"source=")) == ""


def test_a_repeated_parameter_counts_once_with_its_last_value() -> None:
    # As FastAPI reads a scalar query parameter.
    assert SOURCE.read(_request(b"source=A&source=B")) == "B"


def test_the_declaration_is_that_of_an_optional_string() -> None:
    declared = QueryParam("use_async", "Accepted.").openapi()
    assert declared == {
        "name": "use_async",
        "in": "query",
        "required": False,
        "description": "Accepted.",
        "schema": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "Accepted.",
            "title": "Use Async",
        },
    }
