"""Operator routes: GET /metrics, /healthz and /readyz (no authentication)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from patron.api.responses import JsonResponse
from patron.observability.health import readiness
from patron.observability.metrics import Metrics
from patron.observability.pool import pool_usage

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The process is up."""

    status: str = Field(description='Always "ok".')
    pid: int = Field(description="The worker process that answered.")


class CheckOut(BaseModel):
    """One readiness check."""

    name: str = Field(description='"database" or "migrations".')
    ok: bool
    detail: str


class Readiness(BaseModel):
    """Every readiness check; `failed` names those that did not pass."""

    status: str = Field(description='"ready" or "unavailable".')
    failed: list[str]
    checks: list[CheckOut]


_METRICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text format",
        "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
    }
}


@router.get("/metrics", response_class=Response, responses=_METRICS_RESPONSE)
async def metrics(request: Request) -> Response:
    """Every metric in the Prometheus text format, summed over all worker processes."""
    registry: Metrics = request.app.state.metrics
    registry.set_pool(pool_usage(request.app.state.db))
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", responses={200: {"model": Health}})
async def healthz() -> Response:
    """The process is alive and answering (the database is not consulted)."""
    return JsonResponse({"status": "ok", "pid": os.getpid()})


@router.get(
    "/readyz",
    responses={
        200: {"model": Readiness},
        503: {"model": Readiness, "description": "A check failed"},
    },
)
async def readyz(request: Request) -> Response:
    """The database answers `SELECT 1` in time and its schema is at the migrations' head."""
    timeout: float = request.app.state.settings.readiness_timeout_seconds
    checks = await readiness(request.app.state.db, timeout)
    failed = [c.name for c in checks if not c.ok]
    body = {
        "status": "unavailable" if failed else "ready",
        "failed": failed,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
    }
    return JsonResponse(body, status_code=503 if failed else 200)
