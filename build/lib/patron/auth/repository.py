"""SQL of authentication: which org holds a credential.

A Basic credential or an OAuth key carries no org, so these are the only queries that search
across orgs; they return an `OrgId`, which is how authentication vouches for a tenant.
"""

from __future__ import annotations

from patron.db.driver import Connection
from patron.orgs.model import OrgId


async def _only_org(conn: Connection, sql: str, value: str) -> OrgId | None:
    rows = await conn.fetch(sql, value)
    # The admin API keeps till codes and OAuth keys unique across orgs; should two orgs ever
    # hold one anyway, refusing is safer than picking a tenant.
    if len(rows) != 1:
        return None
    return OrgId(rows[0]["org_id"])


async def till_org(conn: Connection, code: str) -> OrgId | None:
    """The org that holds till `code`, or None."""
    return await _only_org(conn, "SELECT org_id FROM tills WHERE code = $1 LIMIT 2", code)


async def oauth_client_org(conn: Connection, key: str) -> OrgId | None:
    """The org that holds OAuth client `key`, or None."""
    return await _only_org(
        conn, "SELECT org_id FROM oauth_clients WHERE client_key = $1 LIMIT 2", key
    )
