"""Structured logs: every record of the `patron` loggers as one JSON line.

The request line (logger `patron.access`) carries its fields in the record's `fields` attribute;
any other record (warnings, errors with their traceback) gets the same envelope, so one parser
reads everything patron writes. uvicorn's own lines keep uvicorn's format.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

ACCESS_LOGGER = "patron.access"
"""The logger of the one line per request."""

APP_LOGGER = "patron"
"""The parent of every logger of the application."""


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "pid", "message", ...fields, "exc"?}` on one line."""

    def __init__(self) -> None:
        super().__init__()
        # (second, its formatted date and time): one strftime per second, not per line.
        self._second: tuple[int, str] = (-1, "")

    def timestamp(self, created: float) -> str:
        """`created` in UTC, ISO 8601 with milliseconds: `2026-01-31T12:00:00.123Z`."""
        second = int(created)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached
        return f"{cached[1]}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "ts": self.timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            # Which worker wrote it, when several serve side by side.
            "pid": record.process,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class AccessLog:
    """Writes the request lines to the `patron.access` logger, at a few microseconds a line.

    `Logger.info` would look up the caller's file and line and fill a new record attribute by
    attribute, which costs more than the rest of the line; each line is instead a copy of one
    record made up front (same logger, level and process), with its own time and fields.
    """

    def __init__(self) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)
        template = logging.LogRecord(
            ACCESS_LOGGER, logging.INFO, __file__, 0, "request", None, None
        )
        self._template = dict(vars(template))

    def enabled(self) -> bool:
        """Whether request lines would go anywhere (the logger's level allows INFO)."""
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, fields: dict[str, Any]) -> None:
        """Log one request line with `fields`."""
        record = logging.LogRecord.__new__(logging.LogRecord)
        record.__dict__.update(self._template)
        now = time.time()
        record.created = now
        record.msecs = (now - int(now)) * 1000
        record.fields = fields
        self.logger.handle(record)


def access_fields(
    *,
    method: str,
    route: str,
    status: int,
    seconds: float,
    org: str | None,
    till: str | None,
    request_id: str,
) -> dict[str, Any]:
    """The fields of a request line."""
    return {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "org": org,
        "till": till,
        "request_id": request_id,
    }


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's default logging, plus JSON lines on standard error for the `patron` loggers.

    Given to `uvicorn.run(log_config=...)`, it is applied in every worker process.
    """
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "formatters": {**LOGGING_CONFIG["formatters"], "json": {"()": JsonFormatter}},
        "handlers": {
            **LOGGING_CONFIG["handlers"],
            "json": {
                "formatter": "json",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            **LOGGING_CONFIG["loggers"],
            APP_LOGGER: {"handlers": ["json"], "level": level, "propagate": False},
        },
    }
    return config


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on standard error for the `patron` loggers, unless logging was configured already."""
    logger = logging.getLogger(APP_LOGGER)
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
