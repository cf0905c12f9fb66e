"""The one middleware every request passes: request id, timing, metrics and the request log line.

It is pure ASGI (no BaseHTTPMiddleware, which costs a task and a stream per request), and does
all four jobs in one layer so a request pays for one wrapper only.
"""

from __future__ import annotations

import re
import time
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patron import errors
from patron.auth.principal import Principal
from patron.observability.logs import AccessLog, access_fields
from patron.observability.metrics import Metrics

_SAFE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

UNMATCHED = "unmatched"
"""The route label of a request no route matched (never the raw path: it would be unbounded)."""


def route_template(scope: Scope) -> str:
    """The path template of the route that handled the request, e.g. `/v2/customers/{customer_id}`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def error_codes(body: bytes) -> list[int]:
    """The catalogue codes of an error body `{"errors": [{"code": ...}, ...]}` (none otherwise)."""
    try:
        items = orjson.loads(body).get("errors")
    except (orjson.JSONDecodeError, AttributeError):
        return []
    if not isinstance(items, list):
        return []
    return [i["code"] for i in items if isinstance(i, dict) and isinstance(i.get("code"), int)]


class ObservabilityMiddleware:
    """Gives every request an id and, when its response ends, counts, times and logs it.

    The request id is the caller's `X-Request-Id` when it is short and plain, otherwise a new
    one; it is put in `request.state.request_id` (the history entry records it) and in the
    response's `X-Request-Id`. The org and till of the log line are those the auth dependency
    left in `request.state.principal`. Error codes are read from the bodies of 4xx/5xx
    responses, which every error path of the app renders the same way, so no error escapes
    the count.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log = AccessLog() if access_log else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        request_id = given.decode() if _SAFE.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        status = 500
        error_body: list[bytes] | None = None

        async def send_observed(message: Message) -> None:
            nonlocal status, error_body
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
                if status >= 400:
                    error_body = []
            elif error_body is not None and message["type"] == "http.response.body":
                error_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            if error_body is None:
                # Raised before any response: the app's outermost handler answers 500 with
                # the INTERNAL entry, outside this middleware.
                error_body = []
                self.metrics.count_errors([errors.INTERNAL.code])
            raise
        finally:
            self._finish(scope, state, status, time.perf_counter() - started, error_body)

    def _finish(
        self,
        scope: Scope,
        state: dict[str, object],
        status: int,
        seconds: float,
        error_body: list[bytes] | None,
    ) -> None:
        route = route_template(scope)
        method: str = scope["method"]
        self.metrics.observe_request(method, route, status, seconds)
        if error_body:
            self.metrics.count_errors(error_codes(b"".join(error_body)))
        if self.log is not None and self.log.enabled():
            principal = state.get("principal")
            org = till = None
            if isinstance(principal, Principal):
                org, till = str(principal.org_id), principal.till_code
            fields = access_fields(
                method=method,
                route=route,
                status=status,
                seconds=seconds,
                org=org,
                till=till,
                request_id=str(state["request_id"]),
            )
            self.log.write(fields)
