"""Preparing processes change where lines are read and planned, never what is stored or refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from starlette.testclient import TestClient

from patron.customers import repository
from patron.db.driver import Connection
from patron.orgs.model import OrgId
from tests.bulk.support import cli as patron
from tests.bulk.support import customer_body, make_org, rejects, rows, write_jsonl
from tests.conftest import run


def _wechat(n: int, mobile: str) -> dict[str, Any]:
    """A registration whose only profile is WECHAT, holding `mobile`."""
    return {
        "profiles": [
            {
                "source": "WECHAT",
                "accountId": "wc_main",
                "firstName": f"W{n}",
                "identifiers": [{"type": "mobile", "value": mobile}],
            }
        ]
    }


def _lines() -> list[Any]:
    """Registrations with every way a line can meet another: within a batch of 5 and across
    batches, in the same source (8008) and in another (8053), refused at reading, and a batch
    with an update line."""
    bodies: list[Any] = [customer_body(n) for n in range(1, 31)]
    bodies[2] = customer_body(2)  # line 3 repeats line 2 in its batch: 8008
    bodies[6] = customer_body(1)  # line 7 repeats line 1 of the batch before: 8008
    bodies[11] = _wechat(12, "+91 9800000004")  # line 12 holds line 4's mobile elsewhere: 8053
    bodies[12] = customer_body(13, loyaltyType="nonsense")  # refused when read
    bodies[16] = b'{"profiles": ['  # malformed JSON
    bodies[17] = {
        "lookup": {
            "source": "INSTORE",
            "identifierName": "mobile",
            "identifierValue": "9800000005",
        },
        "profiles": [{"source": "INSTORE", "lastName": "Updated"}],
    }
    bodies[18] = customer_body(19, profiles=[customer_body(5)["profiles"][0]])  # 8008, after it
    bodies[23] = _wechat(24, "+91 9800000022")  # held by line 23 of its batch in INSTORE: 8053
    return bodies


def _stored(client: TestClient, org: str) -> dict[str, list[tuple[Any, ...]]]:
    """What the org holds, without its ids and times."""
    queries = {
        "identifiers": "SELECT source, account_id, type, value, position FROM identifiers"
        " WHERE org_id = $1 ORDER BY value, source",
        "history": "SELECT version, request_id, changes FROM customer_history"
        " WHERE org_id = $1 ORDER BY request_id, version",
        "outbox": "SELECT subject FROM outbox WHERE org_id = $1 ORDER BY id",
    }
    found = {
        name: [tuple(str(v) for v in r.values()) for r in rows(client, sql, org)]
        for name, sql in queries.items()
    }
    profiles = []
    channels = []
    for r in rows(client, "SELECT profiles FROM customers WHERE org_id = $1", org):
        stored = r["profiles"]
        for p in orjson.loads(stored) if isinstance(stored, str) else stored:
            profiles.append(
                tuple(
                    str(p[k]) for k in ("source", "account_id", "first_name", "last_name", "fields")
                )
            )
            channels += [
                tuple(str(c[k]) for k in ("type", "value", "is_primary", "verified"))
                for c in p["channels"]
            ]
    found["profiles"] = sorted(profiles, key=lambda p: (p[2], p[0]))
    found["channels"] = sorted(channels, key=lambda c: c[1])
    # `patron.<org>.<type>`: the type, in publication order.
    found["outbox"] = [(subject.split(".", 2)[2],) for (subject,) in found["outbox"]]
    return found


def _import_both_ways(
    client: TestClient, database_url: str, tmp_path: Path, bodies: list[Any], *, batch_size: int
) -> tuple[
    dict[str, tuple[list[dict[str, Any]], dict[str, list[tuple[Any, ...]]]]], dict[str, str]
]:
    """Import `bodies` into a new org in one process ("0") and into another with two preparing
    processes ("2"); per way, the reject entries and what the org holds, and the org. Both
    refuse a line."""
    found = {}
    orgs = {}
    for workers in ("0", "2"):
        org, _ = make_org(client)
        orgs[workers] = org
        (tmp_path / workers).mkdir()
        file = write_jsonl(tmp_path / workers / "lines.jsonl", bodies)
        result = patron(
            database_url,
            "import",
            str(file),
            "--org",
            org,
            "--batch-size",
            str(batch_size),
            "--workers",
            workers,
        )
        assert result.exit_code == 1, result.output
        found[workers] = (
            rejects(file.with_name("lines.jsonl.rejects.jsonl")),
            _stored(client, org),
        )
    return found, orgs


def test_rule_import_with_preparing_processes_stores_and_refuses_what_one_process_does(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    found, orgs = _import_both_ways(client, database_url, tmp_path, _lines(), batch_size=5)

    refused, stored = found["2"]
    assert [(e["line"], [p["code"] for p in e["errors"]]) for e in refused] == [
        (3, [8008, 8008]),
        (7, [8008, 8008]),
        (12, [8053]),
        (13, [8120]),
        (17, [8100]),
        (19, [8008, 8008]),
        (24, [8053]),
    ]
    assert found["2"] == found["0"]
    # Every applied line wrote one version: 22 registrations, and the update of line 18.
    assert len(stored["history"]) == 30 - len(refused)
    assert [p[3] for p in stored["profiles"] if p[2] == "First5"] == ["Updated"]
    assert len(_ids_by_line(client, orgs["2"])) == 22


def _ids_by_line(client: TestClient, org: str) -> list[int]:
    """The ids of the org's registered customers, in the order of their lines."""
    registered = rows(
        client,
        "SELECT customer_id, request_id FROM customer_history WHERE org_id = $1 AND version = 1",
        org,
    )
    return [
        customer_id
        for _, customer_id in sorted(
            (int(r["request_id"].rsplit(":", 1)[1]), r["customer_id"]) for r in registered
        )
    ]


def test_customer_ids_follow_the_file_around_batches_of_updates(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    # On PostgreSQL a batch's ids are taken before it is handed to its preparing process, on
    # SQLite in its transaction; a batch with an update line is applied by the importing
    # process while the batches after it are already handed over.
    org, _ = make_org(client)
    bodies: list[Any] = [customer_body(n) for n in range(1, 41)]
    for line in (5, 23):
        bodies[line - 1] = {
            "lookup": {
                "source": "INSTORE",
                "identifierName": "mobile",
                "identifierValue": f"98{line - 4:08d}",
            },
            "profiles": [{"source": "INSTORE", "lastName": "Updated"}],
        }
    file = write_jsonl(tmp_path / "lines.jsonl", bodies)

    result = patron(
        database_url, "import", str(file), "--org", org, "--batch-size", "5", "--workers", "2"
    )

    assert result.exit_code == 0, result.output
    ids = _ids_by_line(client, org)
    assert len(ids) == 38
    assert ids == sorted(ids)


def test_an_import_into_an_empty_org_skips_the_holders_read_until_it_meets_a_holder(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    # Into an org with no identifiers held, a planned batch is stored without reading who holds
    # its identifiers; a later batch that repeats an earlier one's identifier is refused by the
    # unique key, retried line by line, and refused as the API refuses it.
    org, auth = make_org(client)

    async def held(conn: Connection) -> bool:
        return await repository.holds_identifiers(conn, OrgId(org))

    assert run(client, held) is False
    bodies: list[Any] = [customer_body(n) for n in range(1, 13)]
    bodies[7] = customer_body(2)  # line 8 repeats line 2, of the batch before
    file = write_jsonl(tmp_path / "lines.jsonl", bodies)

    result = patron(
        database_url, "import", str(file), "--org", org, "--batch-size", "5", "--workers", "2"
    )

    assert result.exit_code == 1, result.output
    refused = rejects(file.with_name("lines.jsonl.rejects.jsonl"))
    assert [(e["line"], [p["code"] for p in e["errors"]]) for e in refused] == [(8, [8008, 8008])]
    assert run(client, held) is True
    answer = client.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": "9800000012"},
        headers=auth,
    )
    assert answer.status_code == 200, answer.text


def test_a_batch_encoded_in_parts_stores_what_one_process_stores(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    # A preparing process encodes a batch's records 64 registrations at a time; batches of 150
    # lines are three parts each, the last one short, with refused lines between them.
    bodies: list[Any] = [customer_body(n) for n in range(1, 301)]
    for line in (10, 64, 66, 140, 200):
        bodies[line - 1] = customer_body(line - 1)  # repeats the line before it: 8008
    found, _ = _import_both_ways(client, database_url, tmp_path, bodies, batch_size=150)

    refused, stored = found["2"]
    assert [e["line"] for e in refused] == [10, 64, 66, 140, 200]
    assert len(stored["history"]) == 295
    assert found["2"] == found["0"]
