"""The ASGI application: `create_app(settings)` wires the database, caches, routers and handlers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from patron import __version__, errors
from patron.api.body import translate
from patron.api.middleware import ObservabilityMiddleware
from patron.api.openapi import install_openapi
from patron.api.responses import error_response
from patron.auth.router import throttled_handler
from patron.auth.service import Authenticator
from patron.auth.throttle import Throttled
from patron.config import Settings, get_settings
from patron.customers.idempotency import purge_periodically
from patron.db.driver import DatabaseUnavailable, create_database
from patron.errors import ApiError, Problem
from patron.observability.logs import configure_logging
from patron.observability.metrics import Metrics, record_pool_periodically
from patron.orgs.cache import OrgConfigCache

log = logging.getLogger("patron")

RETRY_AFTER_SECONDS = "1"
"""Retry-After of a 503: a restarted database or a released lock is usually back within it."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """A patron application for `settings` (by default, read from the environment)."""
    settings = settings or get_settings()
    db = create_database(
        settings.database_url,
        pool_size=settings.pool_size,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.statement_timeout_ms,
        connect_timeout_s=settings.db_connect_timeout_seconds,
        timeout_s=settings.db_timeout_seconds,
    )

    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.open()
        # Expired Idempotency-Keys are deleted in the background, in bounded batches
        # (docs/reliability.md); every process runs its own round, harmlessly.
        tasks = [asyncio.create_task(purge_periodically(db), name="patron-idempotency-purge")]
        if metrics.multiprocess:
            # A scrape reaches one worker: every worker records its own pool usage ahead.
            tasks.append(
                asyncio.create_task(record_pool_periodically(metrics, db), name="patron-pool")
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await db.close()

    app = FastAPI(
        title="patron",
        version=__version__,
        summary="Customer profiles and loyalty enrolments, on the wire format of Capillary's v2 Customer API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.metrics = metrics
    app.state.orgs = OrgConfigCache(db, ttl_seconds=settings.config_cache_seconds)
    app.state.authenticator = Authenticator(
        db,
        app.state.orgs,
        secret_key=settings.secret_key,
        token_ttl=settings.oauth_token_ttl_seconds,
    )

    app.add_middleware(ObservabilityMiddleware, metrics=metrics, access_log=settings.access_log)
    _install_handlers(app)
    _include_routers(app)
    install_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn's worker processes: settings from the environment, JSON logs."""
    configure_logging()
    return create_app(get_settings())


def _include_routers(app: FastAPI) -> None:
    from patron.auth.router import router as auth_router
    from patron.console.router import install as install_console
    from patron.customers.router import router as customers_router
    from patron.observability.routes import router as operations_router
    from patron.orgs.router import router as orgs_router

    # Routers are matched in order, route by route: the customer API, the hot path, goes first.
    app.include_router(customers_router)
    app.include_router(auth_router)
    app.include_router(orgs_router)
    app.include_router(operations_router)
    # The member-care console: its own pages, last, off the API's hot path.
    install_console(app)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="patron"'} if exc.status == 401 else None
        return error_response(exc, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Only query and path parameters reach here: bodies are read by patron.api.body.
        return error_response(translate_request_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        entry = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(exc.status_code)
        if entry is None:
            entry = errors.INVALID_QUERY if exc.status_code == 400 else errors.INTERNAL
        return error_response(ApiError.one(entry, str(exc.detail)))

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
        # The cause (driver message, maybe naming SQL) goes to the log only; the client gets
        # a fixed sentence, the catalogue code and when to retry (docs/reliability.md, Faults).
        log.warning(
            "database unavailable on %s %s (request %s): %s",
            request.method,
            request.url.path,
            getattr(request.state, "request_id", "-"),
            exc,
        )
        return error_response(
            ApiError.one(errors.UNAVAILABLE, "The database is unavailable; retry shortly"),
            {"Retry-After": RETRY_AFTER_SECONDS},
        )

    app.add_exception_handler(Throttled, throttled_handler)

    @app.exception_handler(ClientDisconnect)
    async def disconnected(request: Request, exc: ClientDisconnect) -> Response:
        # The client went away mid-body: nothing was applied and nobody reads the answer.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return error_response(ApiError.one(errors.MALFORMED_JSON, "The body was cut short"))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "-")
        log.exception(
            "unhandled error on %s %s (request %s)", request.method, request.url.path, request_id
        )
        # Rendered outside the middleware (Starlette's outermost layer): give the id here.
        return error_response(
            ApiError.one(errors.INTERNAL, "Internal error"), {"X-Request-Id": request_id}
        )


def translate_request_errors(exc: RequestValidationError) -> ApiError:
    """FastAPI's query and path parameter errors as INVALID_QUERY problems."""
    errs = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if loc and loc[0] in ("query", "path", "header"):
            loc = loc[1:]
        errs.append({**err, "loc": loc})
    return ApiError(
        [Problem(errors.INVALID_QUERY, p.message, p.field) for p in translate(errs).errors]
    )
