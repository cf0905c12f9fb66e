"""One JSON line per request, with method, route template, status, duration, org, till, id."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from patron.observability.logs import ACCESS_LOGGER, APP_LOGGER, JsonFormatter
from tests.builders import register
from tests.conftest import ACME_AUTH, GLOBEX_AUTH


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    # Other patron lines (a stalled event loop on a busy machine) may be written meanwhile.
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == ACCESS_LOGGER]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The raw text the `patron` loggers write while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(APP_LOGGER)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_one_line_per_request_with_every_field(client: TestClient, captured: io.StringIO) -> None:
    cid = register(client)
    captured.truncate(0)
    captured.seek(0)
    response = client.get(
        f"/v2/customers/{cid}", headers={**ACME_AUTH, "X-Request-Id": "log-line-1"}
    )
    assert response.status_code == 200
    [line] = access_lines(captured)
    assert line["logger"] == ACCESS_LOGGER
    assert line["level"] == "info"
    assert line["method"] == "GET"
    assert line["route"] == "/v2/customers/{customer_id}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 10_000
    assert line["org"] == "acme"
    assert line["till"] == "acme.till"
    assert line["request_id"] == "log-line-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])
    assert line["pid"] == os.getpid()


def test_the_line_names_the_caller_of_each_org(client: TestClient, captured: io.StringIO) -> None:
    client.get("/v2/customers/1", headers=GLOBEX_AUTH)
    client.get("/v2/customers/1")  # no credential: nobody to name
    globex, anonymous = access_lines(captured)
    assert (globex["org"], globex["till"], globex["status"]) == ("globex", "globex.till", 404)
    assert (anonymous["org"], anonymous["till"], anonymous["status"]) == (None, None, 401)
    assert globex["request_id"] != anonymous["request_id"]


def test_no_line_when_the_access_log_is_off(database_url: str, captured: io.StringIO) -> None:
    from patron.app import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(database_url, access_log=False))) as quiet:
        assert quiet.get("/healthz").status_code == 200
    assert access_lines(captured) == []


def test_error_records_are_json_with_their_traceback() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "patron", logging.ERROR, __file__, 1, "failed on %s", ("/x",), sys.exc_info()
        )
    line = orjson.loads(JsonFormatter().format(record))
    assert line["level"] == "error"
    assert line["message"] == "failed on /x"
    assert "ValueError: broken" in line["exc"]
    assert "\n" not in JsonFormatter().format(record)


_UVICORN_FAULT = """
import logging.config, warnings
from patron.observability.logs import configure_logging, uvicorn_log_config
logging.config.dictConfig(uvicorn_log_config())
configure_logging()
try:
    raise ValueError("boom")
except ValueError:
    logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
logging.getLogger("some.library").warning("a library's warning")
warnings.warn("a Python warning", UserWarning)
"""


def test_uvicorn_tracebacks_library_lines_and_warnings_are_json_lines() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UVICORN_FAULT], capture_output=True, text=True, check=True
    )
    lines = [orjson.loads(line) for line in (done.stdout + done.stderr).splitlines()]
    by_message = {line["message"]: line for line in lines}
    fault = by_message["Exception in ASGI application"]
    assert fault["logger"] == "uvicorn.error" and fault["level"] == "error"
    assert "ValueError: boom" in fault["exc"]
    assert by_message["a library's warning"]["logger"] == "some.library"
    assert any("a Python warning" in m for m in by_message)
