"""The reference app: the least a FastAPI + asyncpg service must do for an update by lookup.

Two routes, served with exactly patron's server settings (uvicorn, `--workers 2`, the event
loop of PATRON_EVENT_LOOP (patron's default: Python's own, one new connection per turn), patron's
httptools protocol (bounded
heads, TCP_NODELAY), no access log; asyncpg
pool of PATRON_POOL_SIZE, default 10, connections per worker, JSON codecs with orjson):

* `PUT /v2/customers/lookup`: the bare transaction of an update. The JSON body is parsed and
  not validated; the org comes from the till code in the Basic header, unchecked; the customer
  is found by the identifier of the query and locked, its version bumped and the body's
  `extendedFields` merged into its row, and a history row holding the body is inserted: three
  statements in one transaction. Answers `{"createdId", "warnings", "sideEffects"}`.
* `PUT /echo/v2/customers/lookup`: parses the same query and body and sends the body back,
  touching no database: the floor of FastAPI + uvicorn for this request.

    python -m bench.reference_app --port 8102 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import base64
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import orjson
import uvicorn
from fastapi import FastAPI, Query, Request
from starlette.responses import Response

from patron.api.event_loop import serving_loop
from patron.api.http_protocol import BoundedHttpToolsProtocol
from patron.config import Settings

ENV_DATABASE_URL = "BENCH_REFERENCE_DATABASE_URL"

LOCK = (
    "SELECT c.id, c.version FROM identifiers x JOIN customers c"
    " ON c.org_id = x.org_id AND c.id = x.customer_id"
    " WHERE x.org_id = $1 AND x.source = $2 AND x.account_id = $3 AND x.type = $4"
    " AND x.value = $5 FOR UPDATE OF c"
)
UPDATE = (
    "UPDATE customers SET version = $3, extended_fields = extended_fields || $4,"
    " modified_at = $5 WHERE org_id = $1 AND id = $2"
)
HISTORY = (
    "INSERT INTO customer_history (org_id, customer_id, version, at, request_id, actor_code,"
    " actor_type, changes) VALUES ($1, $2, $3, $4, $5, $6, 'TILL', $7)"
)

Param = Annotated[str | None, Query()]


class OrjsonResponse(Response):
    """A JSON response serialised with orjson (as patron's)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def _init(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


def _till(authorization: str) -> str:
    """The till code of a Basic header, unverified."""
    raw = authorization.partition(" ")[2]
    return base64.b64decode(raw).decode().partition(":")[0]


def create_app() -> FastAPI:
    """The reference app, on the database named by BENCH_REFERENCE_DATABASE_URL."""
    url = os.environ.get(ENV_DATABASE_URL)
    if not url:
        raise RuntimeError(f"{ENV_DATABASE_URL} is not set")
    pool_size = int(os.environ.get("PATRON_POOL_SIZE", "10"))
    pools: list[asyncpg.Pool] = []
    orgs: dict[str, str] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, init=_init)
        for row in await pool.fetch("SELECT code, org_id FROM tills"):
            orgs[row["code"]] = row["org_id"]
        pools.append(pool)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="patron bench reference", lifespan=lifespan)

    @app.get("/health")
    async def health() -> Response:
        """Ready."""
        return OrjsonResponse({"ok": True})

    @app.put("/v2/customers/lookup")
    async def update(
        request: Request,
        source: Param = None,
        account_id: Annotated[str | None, Query(alias="accountId")] = None,
        identifier_name: Annotated[str | None, Query(alias="identifierName")] = None,
        identifier_value: Annotated[str | None, Query(alias="identifierValue")] = None,
    ) -> Response:
        """Find the customer by identifier, update it, insert a history row."""
        body = orjson.loads(await request.body())
        till = _till(request.headers.get("authorization", ""))
        org = orgs.get(till)
        now = datetime.now(UTC)
        async with pools[0].acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                LOCK,
                org,
                (source or "").upper(),
                account_id or "",
                identifier_name,
                identifier_value,
            )
            if row is None:
                return OrjsonResponse({"errors": [{"code": 8015}], "warnings": []}, 404)
            version = row["version"] + 1
            await conn.execute(
                UPDATE, org, row["id"], version, body.get("extendedFields") or {}, now
            )
            await conn.execute(
                HISTORY, org, row["id"], version, now, uuid.uuid4().hex, till, [{"new": body}]
            )
        return OrjsonResponse(
            {"createdId": row["id"], "warnings": [], "sideEffects": []},
            headers={"ETag": f'"{version}"'},
        )

    @app.put("/echo/v2/customers/lookup")
    async def echo(
        request: Request,
        source: Param = None,
        account_id: Annotated[str | None, Query(alias="accountId")] = None,
        identifier_name: Annotated[str | None, Query(alias="identifierName")] = None,
        identifier_value: Annotated[str | None, Query(alias="identifierValue")] = None,
    ) -> Response:
        """Parse the query and the body, and send the body back."""
        return OrjsonResponse(orjson.loads(await request.body()))

    return app


def main() -> None:
    """Serve the reference app with patron's server settings (see `patron.cli.serve`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ[ENV_DATABASE_URL] = args.database_url
    uvicorn.run(
        "bench.reference_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop=serving_loop(Settings().event_loop, args.workers),
        # patron's protocol: httptools with bounded heads and Nagle off (patron.api.http_protocol).
        http=BoundedHttpToolsProtocol,
        log_level="info",
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
