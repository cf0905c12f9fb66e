"""Every SQL statement of org configuration: load it, read it back, write it as a diff.

A new configuration is written as the difference with the stored one (rows removed, added,
changed), never as delete-all-and-insert, so that customer data keeps pointing at the same rows
(enrolments reference tiers, which reference programs) and an unchanged row is never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from patron.db.driver import Connection
from patron.orgs.model import (
    SOURCES,
    ConsoleUser,
    DataType,
    FieldDef,
    OAuthClient,
    OrgConfig,
    OrgId,
    Program,
    Tier,
    Till,
)
from patron.orgs.schema import config_to_wire

# Any constant works, as long as every process that applies configurations uses the same one.
APPLY_LOCK_KEY = 0x70617472_6F726773  # "patrorgs"

Rows = dict[tuple[Any, ...], tuple[Any, ...]]
"""A table's rows of one org: primary key (without org_id) -> the other columns."""


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    keys: tuple[str, ...]
    values: tuple[str, ...]


# Parents before children: rows are inserted in this order and deleted in the reverse one.
_TABLES: tuple[_Table, ...] = (
    _Table("org_sources", ("source",), ()),
    _Table("org_accounts", ("source", "account_id"), ()),
    _Table("tills", ("code",), ("password_hash",)),
    _Table("oauth_clients", ("client_key",), ("secret_hash", "till_code")),
    _Table("field_definitions", ("kind", "name"), ("data_type", "enum_values", "position")),
    _Table("programs", ("program_id",), ("name", "is_default")),
    _Table("tiers", ("program_id", "number"), ("name",)),
    _Table("console_users", ("login",), ("login_key", "password_hash", "role")),
)


async def config_version(conn: Connection, org_id: OrgId) -> int | None:
    """The org's configuration version, or None when the org does not exist."""
    version = await conn.fetchval("SELECT config_version FROM orgs WHERE org_id = $1", org_id)
    return None if version is None else int(version)


async def load_config(conn: Connection, org_id: OrgId) -> OrgConfig | None:
    """The org's whole configuration (secrets as hashes), or None when it does not exist."""
    org = await conn.fetchrow(
        "SELECT name, default_country, strict_fields, config_version FROM orgs WHERE org_id = $1",
        org_id,
    )
    if org is None:
        return None
    source_rows = await conn.fetch(
        "SELECT s.source, a.account_id FROM org_sources s LEFT JOIN org_accounts a"
        " ON a.org_id = s.org_id AND a.source = s.source WHERE s.org_id = $1",
        org_id,
    )
    till_rows = await conn.fetch("SELECT code, password_hash FROM tills WHERE org_id = $1", org_id)
    client_rows = await conn.fetch(
        "SELECT client_key, secret_hash, till_code FROM oauth_clients WHERE org_id = $1", org_id
    )
    user_rows = await conn.fetch(
        "SELECT login, password_hash, role FROM console_users WHERE org_id = $1", org_id
    )
    field_rows = await conn.fetch(
        "SELECT kind, name, data_type, enum_values FROM field_definitions WHERE org_id = $1"
        " ORDER BY position",
        org_id,
    )
    program_rows = await conn.fetch(
        "SELECT p.program_id, p.name, p.is_default, t.number, t.name AS tier_name"
        " FROM programs p LEFT JOIN tiers t"
        " ON t.org_id = p.org_id AND t.program_id = p.program_id WHERE p.org_id = $1",
        org_id,
    )
    accounts: dict[str, list[str]] = {}
    for row in source_rows:
        accounts.setdefault(row["source"], [])
        if row["account_id"] is not None:
            accounts[row["source"]].append(row["account_id"])
    fields: dict[str, dict[str, FieldDef]] = {"extended": {}, "custom": {}}
    for row in field_rows:
        fields[row["kind"]][row["name"]] = FieldDef(
            row["name"], DataType(row["data_type"]), tuple(row["enum_values"] or ())
        )
    programs: dict[int, tuple[str, bool, dict[int, Tier]]] = {}
    for row in program_rows:
        pid = int(row["program_id"])
        _, _, tiers = programs.setdefault(pid, (row["name"], bool(row["is_default"]), {}))
        if row["number"] is not None:
            tiers[int(row["number"])] = Tier(int(row["number"]), row["tier_name"])
    return canonical(
        OrgConfig(
            org_id=org_id,
            name=org["name"],
            default_country=org["default_country"],
            strict_fields=bool(org["strict_fields"]),
            version=int(org["config_version"]),
            sources={s: tuple(a) for s, a in accounts.items()},
            tills={r["code"]: Till(r["code"], r["password_hash"]) for r in till_rows},
            oauth_clients={
                r["client_key"]: OAuthClient(r["client_key"], r["secret_hash"], r["till_code"])
                for r in client_rows
            },
            extended_fields=fields["extended"],
            custom_fields=fields["custom"],
            programs={
                pid: Program(pid, name, default, tiers)
                for pid, (name, default, tiers) in programs.items()
            },
            console_users={
                r["login"]: ConsoleUser(r["login"], r["password_hash"], r["role"])
                for r in user_rows
            },
        )
    )


def canonical(config: OrgConfig) -> OrgConfig:
    """The same configuration in the order the admin API shows it.

    Sources follow SOURCES; accounts, tills, OAuth clients, programs and tiers are sorted (in
    Python, so the order is the same on every database); fields keep the document's order.
    """
    return OrgConfig(
        org_id=config.org_id,
        name=config.name,
        default_country=config.default_country,
        strict_fields=config.strict_fields,
        version=config.version,
        sources={s: tuple(sorted(config.sources[s])) for s in SOURCES if s in config.sources},
        tills=dict(sorted(config.tills.items())),
        oauth_clients=dict(sorted(config.oauth_clients.items())),
        extended_fields=dict(config.extended_fields),
        custom_fields=dict(config.custom_fields),
        programs={
            pid: Program(p.program_id, p.name, p.default, dict(sorted(p.tiers.items())))
            for pid, p in sorted(config.programs.items())
        },
        console_users=dict(sorted(config.console_users.items())),
    )


async def read_document(conn: Connection, org_id: OrgId) -> dict[str, Any] | None:
    """The org's document as stored (camelCase, without passwords or secrets), or None."""
    config = await load_config(conn, org_id)
    return None if config is None else config_to_wire(config)


def _rows(config: OrgConfig | None) -> dict[str, Rows]:
    rows: dict[str, Rows] = {t.name: {} for t in _TABLES}
    if config is None:
        return rows
    for source, accounts in config.sources.items():
        rows["org_sources"][(source,)] = ()
        for account in accounts:
            rows["org_accounts"][(source, account)] = ()
    for till in config.tills.values():
        rows["tills"][(till.code,)] = (till.password_hash,)
    for client in config.oauth_clients.values():
        rows["oauth_clients"][(client.key,)] = (client.secret_hash, client.till)
    for kind, defs in (("extended", config.extended_fields), ("custom", config.custom_fields)):
        for position, f in enumerate(defs.values()):
            values = list(f.values) if f.data_type.is_enum else None
            rows["field_definitions"][(kind, f.name)] = (f.data_type.value, values, position)
    for program in config.programs.values():
        rows["programs"][(program.program_id,)] = (program.name, program.default)
        for tier in program.tiers.values():
            rows["tiers"][(program.program_id, tier.number)] = (tier.name,)
    for user in config.console_users.values():
        rows["console_users"][(user.login,)] = (user.login.lower(), user.password_hash, user.role)
    return rows


def _org_row(config: OrgConfig) -> tuple[Any, ...]:
    return (config.name, config.default_country, config.strict_fields)


def same_config(a: OrgConfig | None, b: OrgConfig) -> bool:
    """Whether writing `b` over `a` would change no row (the version aside)."""
    return a is not None and _org_row(a) == _org_row(b) and _rows(a) == _rows(b)


def _where(table: _Table) -> str:
    """`org_id = $1 AND <key> = $2 ...`: the statements' parameters start with the row's key."""
    return " AND ".join(f"{c} = ${i}" for i, c in enumerate(("org_id", *table.keys), start=1))


async def write_config(conn: Connection, stored: OrgConfig | None, new: OrgConfig) -> None:
    """Make the stored rows of the org those of `new` (including its version), as a diff."""
    now = datetime.now(UTC)
    if stored is None:
        await conn.execute(
            "INSERT INTO orgs (org_id, name, default_country, strict_fields, config_version,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            new.org_id,
            *_org_row(new),
            new.version,
            now,
        )
    else:
        await conn.execute(
            "UPDATE orgs SET name = $2, default_country = $3, strict_fields = $4,"
            " config_version = $5, updated_at = $6 WHERE org_id = $1",
            new.org_id,
            *_org_row(new),
            new.version,
            now,
        )
    old_rows, new_rows = _rows(stored), _rows(new)
    org = new.org_id
    for table in _TABLES:
        old, wanted = old_rows[table.name], new_rows[table.name]
        added = [(org, *k, *v) for k, v in wanted.items() if k not in old]
        if added:
            cols = ", ".join(("org_id", *table.keys, *table.values))
            marks = ", ".join(f"${i}" for i in range(1, len(added[0]) + 1))
            await conn.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", added)
    for table in _TABLES:
        old, wanted = old_rows[table.name], new_rows[table.name]
        changed = [(org, *k, *v) for k, v in wanted.items() if k in old and old[k] != v]
        if changed:
            first = len(table.keys) + 2
            sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(table.values, start=first))
            await conn.executemany(f"UPDATE {table.name} SET {sets} WHERE {_where(table)}", changed)
    for table in reversed(_TABLES):
        old, wanted = old_rows[table.name], new_rows[table.name]
        removed = [(org, *k) for k in old if k not in wanted]
        if removed:
            await conn.executemany(f"DELETE FROM {table.name} WHERE {_where(table)}", removed)


async def lock_for_apply(conn: Connection) -> None:
    """Serialise configuration writes across processes until the transaction ends.

    Two applies then cannot both claim one till code or OAuth key. On SQLite, BEGIN IMMEDIATE
    already serialises every write.
    """
    if conn.dialect == "postgresql":
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPLY_LOCK_KEY)


def _in_list(conn: Connection, column: str, param: int) -> str:
    if conn.dialect == "postgresql":
        return f"{column} = ANY(${param}::text[])"
    return f"{column} IN (SELECT value FROM json_each(${param}))"


async def credentials_held_elsewhere(
    conn: Connection, org_id: OrgId, till_codes: Sequence[str], oauth_keys: Sequence[str]
) -> tuple[dict[str, OrgId], dict[str, OrgId]]:
    """Which other org holds each of these till codes and OAuth keys (absent: none does)."""
    tills: dict[str, OrgId] = {}
    clients: dict[str, OrgId] = {}
    if till_codes:
        rows = await conn.fetch(
            f"SELECT code, org_id FROM tills WHERE {_in_list(conn, 'code', 2)} AND org_id <> $1",
            org_id,
            list(till_codes),
        )
        tills = {r["code"]: OrgId(r["org_id"]) for r in rows}
    if oauth_keys:
        rows = await conn.fetch(
            f"SELECT client_key, org_id FROM oauth_clients"
            f" WHERE {_in_list(conn, 'client_key', 2)} AND org_id <> $1",
            org_id,
            list(oauth_keys),
        )
        clients = {r["client_key"]: OrgId(r["org_id"]) for r in rows}
    return tills, clients


async def console_logins_held_elsewhere(
    conn: Connection, org_id: OrgId, logins: Sequence[str]
) -> dict[str, OrgId]:
    """Which other org holds each of these console logins, by lower-cased login."""
    if not logins:
        return {}
    rows = await conn.fetch(
        f"SELECT login_key, org_id FROM console_users"
        f" WHERE {_in_list(conn, 'login_key', 2)} AND org_id <> $1",
        org_id,
        sorted({login.lower() for login in logins}),
    )
    return {r["login_key"]: OrgId(r["org_id"]) for r in rows}


async def console_user_org(conn: Connection, login: str) -> OrgId | None:
    """The org whose console user signs in as `login` (ignoring case), or None.

    The one query of the console that searches across orgs: a sign-in names no org. Should two
    orgs ever hold one login anyway, refusing is safer than picking a tenant.
    """
    rows = await conn.fetch(
        "SELECT org_id FROM console_users WHERE login_key = $1 LIMIT 2", login.lower()
    )
    return OrgId(rows[0]["org_id"]) if len(rows) == 1 else None


async def enrolled_tiers(
    conn: Connection, org_id: OrgId, program_ids: Sequence[int]
) -> set[tuple[int, int]]:
    """The (program, tier) pairs of these programs that customers are enrolled in.

    On PostgreSQL the org's tiers are locked first, so an enrolment committed while the
    configuration is being written is either seen here or made to wait for it.
    """
    if not program_ids:
        return set()
    if conn.dialect == "postgresql":
        await conn.execute("SELECT 1 FROM tiers WHERE org_id = $1 FOR UPDATE", org_id)
        sql = (
            "SELECT DISTINCT program_id, tier_number FROM enrolments"
            " WHERE org_id = $1 AND program_id = ANY($2::bigint[])"
        )
    else:
        sql = (
            "SELECT DISTINCT program_id, tier_number FROM enrolments"
            " WHERE org_id = $1 AND program_id IN (SELECT value FROM json_each($2))"
        )
    rows = await conn.fetch(sql, org_id, list(program_ids))
    return {(int(r["program_id"]), int(r["tier_number"])) for r in rows}
