"""`patron export` writes what `patron import` takes back: a round trip loses nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
from starlette.testclient import TestClient

from tests.builders import details, update
from tests.bulk.support import cli as patron
from tests.bulk.support import customer_body, make_org, rows, write_jsonl
from tests.bulk.test_import import RICH, _strip


def _ids(client: TestClient, org: str) -> list[int]:
    found = rows(client, "SELECT id FROM customers WHERE org_id = $1 ORDER BY id", org)
    return [int(r["id"]) for r in found]


def test_export_then_import_into_a_fresh_org_gives_the_same_customers(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    source, source_auth = make_org(client)
    kids = customer_body(
        2,
        loyaltyType="loyalty",
        loyaltyProgramEnrollments=[
            {"programId": 2020, "tierNumber": 1, "tierExpiryDate": "2099-01-01T00:00:00+05:30"}
        ],
        extendedFields={"annual_income": 1e3, "anniversary": "2020-02-02T10:00:00+01:00"},
    )
    app = customer_body(3)
    app["profiles"].append(
        {
            "source": "MOBILE_APP",
            "accountId": "app1",
            "lastName": "Appuser",
            "identifiers": [{"type": "cuid", "value": "c-3"}],
            "commChannels": [
                {"type": "mobilePush", "value": "token-3", "meta": {"lastViewedDate": "2026-01-01"}}
            ],
            "fields": {"favourite_colour": "teal"},
        }
    )
    for body in (RICH, kids, app, customer_body(4)):
        assert client.post("/v2/customers", json=body, headers=source_auth).status_code == 200
    # A later update: the export holds the customer as it is now, not as first registered.
    params = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": "9800000004"}
    assert (
        update(client, {"extendedFields": {"city": "Goa"}}, params, source_auth).status_code == 200
    )
    first = tmp_path / "first.jsonl"
    assert patron(database_url, "export", "--org", source, "--output", str(first)).exit_code == 0

    target, target_auth = make_org(client)
    imported = patron(database_url, "import", str(first), "--org", target)
    second = tmp_path / "second.jsonl"
    assert patron(database_url, "export", "--org", target, "--output", str(second)).exit_code == 0

    assert imported.exit_code == 0, imported.output
    assert len(first.read_bytes().splitlines()) == 4
    assert second.read_bytes() == first.read_bytes()
    pairs = zip(_ids(client, source), _ids(client, target), strict=True)
    for a, b in pairs:
        assert _strip(details(client, b, auth=target_auth)) == _strip(
            details(client, a, auth=source_auth)
        )
    points = [
        e.get("loyaltyPoints")
        for line in second.read_bytes().splitlines()
        for e in orjson.loads(line).get("loyaltyProgramEnrollments", [])
    ]
    assert points == [75, None]


def test_export_to_stdout_pages_through_every_customer(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    file = write_jsonl(tmp_path / "many.jsonl", [customer_body(n) for n in range(1, 1203)])
    assert patron(database_url, "import", str(file), "--org", org).exit_code == 0

    result = patron(database_url, "export", "--org", org)

    lines = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert len(lines) == 1202
    assert lines[0]["profiles"][0]["identifiers"][0] == {"type": "mobile", "value": "919800000001"}
    assert lines[-1]["profiles"][0]["firstName"] == "First1202"
