"""Applying an org document (one write transaction) and reading it back.

The admin API and `patron org apply` both call `apply_document`, so a document means the same
thing whichever way it arrives.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from patron import errors
from patron.auth.passwords import hash_secret, md5_hex, verify_secret
from patron.db.driver import Connection, Database
from patron.errors import ApiError, Problem
from patron.orgs import repository, validation
from patron.orgs.model import (
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
from patron.orgs.schema import OrgCustomField, OrgDocument, OrgExtendedField

# argon2 takes tens of milliseconds and 64 MiB per hash: a few at a time, off the event loop.
_HASHING_CONCURRENCY = 4


async def apply_document(db: Database, org_code: str, doc: OrgDocument) -> tuple[OrgConfig, bool]:
    """Create org `org_code` or bring it to exactly `doc`; the config and whether it changed."""
    org_id = validation.org_id_of(org_code)
    problems = validation.document_problems(doc)
    if problems:
        raise ApiError(problems)
    # Hash outside the write transaction, which on SQLite holds the whole process's connection.
    async with db.transaction(write=False) as conn:
        snapshot = await repository.load_config(conn, org_id)
    hashes = await _credential_hashes(doc, snapshot)
    async with db.transaction(write=True) as conn:
        await repository.lock_for_apply(conn)
        stored = await repository.load_config(conn, org_id)
        if _version(stored) != _version(snapshot):
            # Another apply got in between: the hashes kept from the snapshot may be stale.
            hashes = await _credential_hashes(doc, stored)
        await _check_conflicts(conn, org_id, doc, stored)
        new = build_config(org_id, doc, hashes, version=_version(stored) or 0)
        if stored is not None and repository.same_config(stored, new):
            return stored, False
        new = replace(new, version=(_version(stored) or 0) + 1)
        await repository.write_config(conn, stored, new)
        return new, True


async def read(db: Database, org_code: str) -> dict[str, Any] | None:
    """The stored document of org `org_code` without secrets, or None; 400 for a bad code."""
    org_id = validation.org_id_of(org_code)
    async with db.transaction(write=False) as conn:
        return await repository.read_document(conn, org_id)


def _version(config: OrgConfig | None) -> int | None:
    return None if config is None else config.version


Hashes = tuple[dict[str, str], dict[str, str], dict[str, str]]
"""Till code -> password hash, OAuth key -> secret hash, console login -> password hash."""


def _keep_or_hash(stored_hash: str | None, secret: str) -> str:
    # Keeping a hash that still verifies is what makes re-applying a document change nothing.
    if stored_hash is not None and verify_secret(stored_hash, secret):
        return stored_hash
    return hash_secret(secret)


async def _credential_hashes(doc: OrgDocument, stored: OrgConfig | None) -> Hashes:
    """The hash to store for each till password (of its md5 hex), OAuth secret and console
    user's password."""
    limit = asyncio.Semaphore(_HASHING_CONCURRENCY)

    async def one(stored_hash: str | None, secret: str) -> str:
        async with limit:
            return await asyncio.to_thread(_keep_or_hash, stored_hash, secret)

    tills = stored.tills if stored else {}
    clients = stored.oauth_clients if stored else {}
    till_hashes = await asyncio.gather(
        *(
            one(tills[t.code].password_hash if t.code in tills else None, md5_hex(t.password))
            for t in doc.tills
        )
    )
    client_hashes = await asyncio.gather(
        *(
            one(clients[c.key].secret_hash if c.key in clients else None, c.secret)
            for c in doc.oauth_clients
        )
    )
    users = stored.console_users if stored else {}
    user_hashes = await asyncio.gather(
        *(
            one(users[u.login].password_hash if u.login in users else None, u.password)
            for u in doc.console_users
        )
    )
    return (
        {t.code: h for t, h in zip(doc.tills, till_hashes, strict=True)},
        {c.key: h for c, h in zip(doc.oauth_clients, client_hashes, strict=True)},
        {u.login: h for u, h in zip(doc.console_users, user_hashes, strict=True)},
    )


def _field_defs(fields: list[OrgExtendedField] | list[OrgCustomField]) -> dict[str, FieldDef]:
    return {f.name: FieldDef(f.name, DataType(f.data_type), tuple(f.values or ())) for f in fields}


def build_config(org_id: OrgId, doc: OrgDocument, hashes: Hashes, *, version: int) -> OrgConfig:
    """The configuration a valid document describes, with the given credential hashes."""
    till_hashes, client_hashes, user_hashes = hashes
    return repository.canonical(
        OrgConfig(
            org_id=org_id,
            name=doc.name,
            default_country=doc.default_country,
            strict_fields=doc.strict_fields,
            version=version,
            sources={s.source: tuple(s.accounts or ()) for s in doc.sources},
            tills={t.code: Till(t.code, till_hashes[t.code]) for t in doc.tills},
            oauth_clients={
                c.key: OAuthClient(c.key, client_hashes[c.key], c.till) for c in doc.oauth_clients
            },
            extended_fields=_field_defs(doc.extended_fields),
            custom_fields=_field_defs(doc.custom_fields),
            programs={
                p.program_id: Program(
                    p.program_id,
                    p.name,
                    p.default,
                    {t.number: Tier(t.number, t.name) for t in p.tiers},
                )
                for p in doc.programs
            },
            console_users={
                u.login: ConsoleUser(u.login, user_hashes[u.login], u.role)
                for u in doc.console_users
            },
        )
    )


async def _check_conflicts(
    conn: Connection, org_id: OrgId, doc: OrgDocument, stored: OrgConfig | None
) -> None:
    """409 naming every credential held by another org and every in-use program or tier removed."""
    problems: list[Problem] = []
    tills, clients = await repository.credentials_held_elsewhere(
        conn, org_id, [t.code for t in doc.tills], [c.key for c in doc.oauth_clients]
    )
    for i, till in enumerate(doc.tills):
        if till.code in tills:
            problems.append(
                Problem(
                    errors.CREDENTIAL_TAKEN,
                    f"till code {till.code!r} is already used by org {tills[till.code]!r}",
                    f"tills[{i}].code",
                )
            )
    for i, client in enumerate(doc.oauth_clients):
        if client.key in clients:
            problems.append(
                Problem(
                    errors.CREDENTIAL_TAKEN,
                    f"OAuth key {client.key!r} is already used by org {clients[client.key]!r}",
                    f"oauthClients[{i}].key",
                )
            )
    taken = await repository.console_logins_held_elsewhere(
        conn, org_id, [u.login for u in doc.console_users]
    )
    for i, user in enumerate(doc.console_users):
        if user.login.lower() in taken:
            problems.append(
                Problem(
                    errors.CREDENTIAL_TAKEN,
                    f"console login {user.login!r} is already used by org "
                    f"{taken[user.login.lower()]!r}",
                    f"consoleUsers[{i}].login",
                )
            )
    if stored is not None:
        problems += await _removed_in_use(conn, org_id, doc, stored)
    if problems:
        raise ApiError(problems)


async def _removed_in_use(
    conn: Connection, org_id: OrgId, doc: OrgDocument, stored: OrgConfig
) -> list[Problem]:
    kept = {p.program_id: (i, {t.number for t in p.tiers}) for i, p in enumerate(doc.programs)}
    removed = {
        (pid, number)
        for pid, program in stored.programs.items()
        for number in program.tiers
        if pid not in kept or number not in kept[pid][1]
    }
    if not removed:
        return []
    in_use = removed & await repository.enrolled_tiers(
        conn, org_id, sorted({pid for pid, _ in removed})
    )
    problems = []
    for pid in sorted({pid for pid, _ in in_use}):
        if pid not in kept:
            problems.append(
                Problem(
                    errors.CONFIG_IN_USE,
                    f"program {pid} cannot be removed: customers are enrolled in it",
                    "programs",
                )
            )
            continue
        numbers = ", ".join(str(n) for p, n in sorted(in_use) if p == pid)
        problems.append(
            Problem(
                errors.CONFIG_IN_USE,
                f"tier(s) {numbers} of program {pid} cannot be removed: customers are enrolled in them",
                f"programs[{kept[pid][0]}].tiers",
            )
        )
    return problems
