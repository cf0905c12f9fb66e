"""`patron import`: lines take the API's path, refused lines get the API's answer, events follow."""

from __future__ import annotations

from pathlib import Path

import orjson
from starlette.testclient import TestClient

from patron.bulk.formats import fingerprint
from tests.builders import details
from tests.bulk.support import cli as patron
from tests.bulk.support import count, customer_body, make_org, rejects, rows, write_jsonl


def _strip(data: dict[str, object]) -> dict[str, object]:
    """Details without what differs between two orgs' twins (id, attribution)."""
    out = dict(data)
    out.pop("id")
    for p in out["profiles"]:  # type: ignore[attr-defined]
        p.pop("attribution")
    return out


RICH = customer_body(
    1,
    extendedFields={"city": "Pune", "children": 2, "is_vip": True, "dob": "1990-04-01"},
    loyaltyProgramEnrollments=[{"programId": 1016, "tierNumber": 2, "loyaltyPoints": 75}],
)
RICH["profiles"][0]["commChannels"] = [
    {"type": "email", "value": "person1@example.com", "primary": True, "meta": {"optIn": True}}
]
RICH["profiles"][0]["fields"] = {"shoe_size": 9, "employee": "true"}
RICH["profiles"].append(
    {
        "source": "WECHAT",
        "accountId": "wc_main",
        "identifiers": [{"type": "wechat", "value": "wx1"}],
    }
)


def test_an_imported_registration_is_stored_as_the_api_stores_it(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    api_org, api_auth = make_org(client)
    bulk_org, bulk_auth = make_org(client)
    response = client.post("/v2/customers", json=RICH, headers=api_auth)
    assert response.status_code == 200, response.text
    api_id = response.json()["createdId"]
    file = write_jsonl(tmp_path / "one.jsonl", [RICH])

    result = patron(database_url, "import", str(file), "--org", bulk_org)

    assert result.exit_code == 0, result.output
    assert "1 applied, 0 refused" in result.output
    [bulk_id] = [
        r["id"] for r in rows(client, "SELECT id FROM customers WHERE org_id = $1", bulk_org)
    ]
    assert _strip(details(client, bulk_id, auth=bulk_auth)) == _strip(
        details(client, api_id, auth=api_auth)
    )
    for table in ("identifier_owners", "identifiers", "enrolments", "points_ledger"):
        assert count(client, table, bulk_org) == count(client, table, api_org), table
    assert _stored_profiles(client, bulk_org) == _stored_profiles(client, api_org)
    [entry] = client.get(f"/v2/customers/{bulk_id}/changes", headers=bulk_auth).json()["data"]
    import_id = fingerprint(file, "jsonl")
    assert entry["requestId"] == f"import:{import_id}:1"
    assert entry["by"] == {"code": "import", "type": "IMPORT"}
    [ledger] = rows(client, "SELECT request_id FROM points_ledger WHERE org_id = $1", bulk_org)
    assert ledger["request_id"] == f"import:{import_id}:1"


def test_text_that_copy_escapes_is_stored_as_the_api_stores_it(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    # On PostgreSQL the import streams COPY's text form, where a backslash starts an escape
    # (the API refuses control characters, so tabs and newlines reach it only inside JSON).
    body = customer_body(3, extendedFields={"city": "Back\\slash \\N"})
    body["profiles"][0]["lastName"] = 'D\\Souza "Jr" \\t'
    body["profiles"][0]["identifiers"].append({"type": "externalId", "value": "EXT\\7\\N"})
    _, api_auth = make_org(client)
    bulk_org, bulk_auth = make_org(client)
    response = client.post("/v2/customers", json=body, headers=api_auth)
    assert response.status_code == 200, response.text
    file = write_jsonl(tmp_path / "escaped.jsonl", [body])

    result = patron(database_url, "import", str(file), "--org", bulk_org, "--workers", "2")

    assert result.exit_code == 0, result.output
    [bulk_id] = [
        r["id"] for r in rows(client, "SELECT id FROM customers WHERE org_id = $1", bulk_org)
    ]
    imported = details(client, bulk_id, auth=bulk_auth)
    assert _strip(imported) == _strip(details(client, response.json()["createdId"], auth=api_auth))
    assert imported["profiles"][0]["lastName"] == 'D\\Souza "Jr" \\t'
    [external] = rows(
        client, "SELECT value FROM identifiers WHERE org_id = $1 AND type = 'externalId'", bulk_org
    )
    assert external["value"] == "EXT\\7\\N"


def _stored_profiles(client: TestClient, org: str) -> list[dict[str, object]]:
    """The org's stored profile lists, without the times and who wrote them."""
    [row] = rows(client, "SELECT profiles FROM customers WHERE org_id = $1", org)
    stored = row["profiles"]
    profiles: list[dict[str, object]] = orjson.loads(stored) if isinstance(stored, str) else stored
    return [
        {k: v for k, v in p.items() if not k.startswith(("created_", "modified_"))}
        for p in profiles
    ]


def test_each_registration_writes_its_events_to_the_outbox(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    file = write_jsonl(tmp_path / "two.jsonl", [RICH, customer_body(2)])

    assert patron(database_url, "import", str(file), "--org", org).exit_code == 0

    events = rows(
        client, "SELECT id, subject, payload FROM outbox WHERE org_id = $1 ORDER BY id", org
    )
    types = [orjson.loads(e["payload"])["type"] for e in events]
    assert types == [
        "customer.registered",
        "customer.enrolled",
        "customer.points_credited",
        "customer.registered",
    ]
    first = orjson.loads(events[0]["payload"])
    assert first["by"] == {"code": "import", "type": "IMPORT"}
    assert first["requestId"].endswith(":1")
    assert events[0]["subject"] == f"patron.{org}.customer.registered"


def test_refused_lines_get_the_api_answer_in_the_reject_file(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, auth = make_org(client)
    held = customer_body(9)
    held["profiles"][0]["source"] = "ECOMMERCE"
    assert client.post("/v2/customers", json=held, headers=auth).status_code == 200
    bad_mobile = customer_body(3)
    bad_mobile["profiles"][0]["identifiers"][0]["value"] = "12"
    lines = [
        customer_body(1),
        b'{"profiles": [',
        bad_mobile,
        customer_body(1),  # same identifiers as line 1: the first line wins
        customer_body(9),  # held in ECOMMERCE by a customer registered through the API
        {
            "lookup": {
                "source": "INSTORE",
                "identifierName": "mobile",
                "identifierValue": "9999999999",
            }
        },
        customer_body(4),
    ]
    file = write_jsonl(tmp_path / "mixed.jsonl", lines)

    result = patron(database_url, "import", str(file), "--org", org, "--batch-size", "3")

    assert result.exit_code == 1, result.output
    assert "2 applied, 5 refused" in result.output
    found = rejects(tmp_path / "mixed.jsonl.rejects.jsonl")
    assert [(e["line"], e["status"], [x["code"] for x in e["errors"]]) for e in found] == [
        (2, 400, [8100]),
        (3, 400, [8056]),
        (4, 409, [8008, 8008]),
        (5, 409, [8053, 8053]),
        (6, 404, [8015]),
    ]
    # Exactly what the API answers for the same body, field paths included.
    answer = client.post("/v2/customers", json=bad_mobile, headers=auth).json()
    assert found[1]["errors"] == answer["errors"]
    assert found[1]["input"] == orjson.dumps(bad_mobile).decode()
    assert count(client, "customers", org) == 3


def test_an_update_line_applies_the_put_by_lookup_body(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, auth = make_org(client)
    lookup = {
        "source": "INSTORE",
        "identifierName": "email",
        "identifierValue": "person1@example.com",
    }
    lines = [
        customer_body(1),
        # In the same batch as the registration it names.
        {"lookup": lookup, "extendedFields": {"city": "Delhi"}, "profiles": [{"lastName": "Roy"}]},
        {"lookup": {**lookup, "source": "nowhere"}, "extendedFields": {"city": 5}},
    ]
    file = write_jsonl(tmp_path / "updates.jsonl", lines)

    result = patron(database_url, "import", str(file), "--org", org)

    assert result.exit_code == 1, result.output
    [customer] = rows(client, "SELECT id, version FROM customers WHERE org_id = $1", org)
    assert customer["version"] == 2
    data = details(client, customer["id"], auth=auth)
    assert data["extendedFields"] == {"city": "Delhi"}
    assert data["profiles"][0]["lastName"] == "Roy"
    [refused] = rejects(tmp_path / "updates.jsonl.rejects.jsonl")
    assert [(x["code"], x.get("field")) for x in refused["errors"]] == [(8012, "source")]
    types = [
        orjson.loads(r["payload"])["type"]
        for r in rows(client, "SELECT payload FROM outbox WHERE org_id = $1 ORDER BY id", org)
    ]
    assert types == ["customer.registered", "customer.updated"]


def test_usage_errors_exit_2(client: TestClient, database_url: str, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "x.jsonl", [customer_body(1)])
    assert patron(database_url, "import", str(file), "--org", "no-such-org").exit_code == 2
    assert (
        patron(database_url, "import", str(tmp_path / "missing.jsonl"), "--org", "acme").exit_code
        == 2
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("source,shoeSize\nINSTORE,9\n")
    result = patron(database_url, "import", str(bad), "--org", "acme")
    assert result.exit_code == 2
    assert "unknown CSV columns: shoeSize" in result.output


def test_import_lines_make_look_alike_identifiers_one_value(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    """SPEC 5.3 holds for import lines as for requests: in bodies and in lookups."""
    org, auth = make_org(client)
    twin = customer_body(2)
    twin["profiles"][0]["identifiers"] = [{"type": "externalId", "value": "EXT\u200b-1"}]
    lines = [
        {
            "profiles": [
                {
                    "source": "INSTORE",
                    "identifiers": [
                        {"type": "email", "value": "tom@b\u00fccher.de"},
                        {"type": "externalId", "value": "EXT-1"},
                    ],
                }
            ]
        },
        twin,  # a look-alike of the first customer's externalId: refused as the API refuses it
        {
            "lookup": {
                "source": "INSTORE",
                "identifierName": "email",
                "identifierValue": "tom@xn--bcher-kva.de\ufeff",
            },
            "extendedFields": {"city": "Delhi"},
        },
    ]
    file = write_jsonl(tmp_path / "lookalikes.jsonl", lines)

    result = patron(database_url, "import", str(file), "--org", org)

    assert result.exit_code == 1, result.output
    [customer] = rows(client, "SELECT id FROM customers WHERE org_id = $1", org)
    data = details(client, customer["id"], auth=auth)
    assert data["extendedFields"] == {"city": "Delhi"}
    assert data["profiles"][0]["identifiers"] == [
        {"type": "email", "value": "tom@xn--bcher-kva.de"},
        {"type": "externalId", "value": "EXT-1"},
    ]
    [refused] = rejects(tmp_path / "lookalikes.jsonl.rejects.jsonl")
    assert [x["code"] for x in refused["errors"]] == [8008]
