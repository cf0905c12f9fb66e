"""`patron export` writes what `patron import` takes back: a round trip loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from starlette.testclient import TestClient

from tests.builders import details, update
from tests.bulk.support import cli as patron
from tests.bulk.support import count, customer_body, make_org, rejects, rows, write_jsonl
from tests.bulk.test_import import RICH, _strip
from tests.customers.consent import post, states, sub
from tests.customers.ledger import credit


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
    ledgers = [orjson.loads(line).get("pointsLedger") for line in second.read_bytes().splitlines()]
    assert ledgers == [[{"programId": 1016, "points": 75, "expiresAt": None}], None, None, None]


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


def _get(client: TestClient, path: str, auth: dict[str, str], **params: str) -> Any:
    response = client.get(path, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def _points_views(client: TestClient, customer_id: int, auth: dict[str, str]) -> list[Any]:
    """What the API shows of a customer's points: loyaltyDetails, the expiry schedule and the
    details' pointsSummary and mlp entries."""
    base = f"/v2/customers/{customer_id}"
    schedule = _get(client, f"{base}/pointsExpirySchedule", auth)
    schedule.pop("id")
    shown = _get(client, base, auth, source="ALL", embed="points,mlp")
    return [
        _get(client, f"{base}/loyaltyDetails", auth)["data"],
        schedule,
        shown["pointsSummary"],
        shown["loyaltyProgramDetails"],
    ]


def test_export_carries_every_points_credit_with_its_expiry(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    source, source_auth = make_org(client)
    body = customer_body(
        5,
        loyaltyType="loyalty",
        loyaltyProgramEnrollments=[
            {"programId": 1016, "tierNumber": 2, "loyaltyPoints": 75,
             "pointsExpiryDate": "2099-03-01T10:00:00+05:30"},
            {"programId": 2020},
        ],
    )  # fmt: skip
    response = client.post("/v2/customers", json=body, headers=source_auth)
    assert response.status_code == 200, response.text
    cid = int(response.json()["createdId"])
    now = datetime.now(UTC)
    # Expired credits count in lifetime and expired; several credits of one program keep their
    # own expiries; a credit without expiry never leaves the balance.
    credit(client, cid, 1016, [(20, now - timedelta(days=3)), (9, None), (4, now + timedelta(days=9))], org_id=source)  # fmt: skip
    credit(client, cid, 2020, [(6, now + timedelta(days=9)), (6, now + timedelta(days=9))], org_id=source)  # fmt: skip
    first = tmp_path / "first.jsonl"
    assert patron(database_url, "export", "--org", source, "--output", str(first)).exit_code == 0

    target, target_auth = make_org(client)
    imported = patron(database_url, "import", str(first), "--org", target)
    second = tmp_path / "second.jsonl"
    assert patron(database_url, "export", "--org", target, "--output", str(second)).exit_code == 0

    assert imported.exit_code == 0, imported.output
    assert second.read_bytes() == first.read_bytes()
    [line] = [orjson.loads(x) for x in first.read_bytes().splitlines()]
    assert [(c["programId"], c["points"]) for c in line["pointsLedger"]] == [
        (1016, 75), (1016, 20), (1016, 9), (1016, 4), (2020, 6), (2020, 6)
    ]  # fmt: skip
    [twin] = _ids(client, target)
    views = _points_views(client, twin, target_auth)
    assert views == _points_views(client, cid, source_auth)
    assert views[0][0]["lifetimePoints"] == 108.0 and views[0][0]["expired"] == 20.0
    assert _strip(details(client, twin, auth=target_auth)) == _strip(
        details(client, cid, auth=source_auth)
    )


def test_import_refuses_a_ledger_credit_of_a_program_the_line_does_not_enrol(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    line = customer_body(6, pointsLedger=[{"programId": 2020, "points": 5, "expiresAt": None}])
    file = write_jsonl(tmp_path / "ledger.jsonl", [line])

    result = patron(database_url, "import", str(file), "--org", org)

    assert result.exit_code == 1, result.output
    [entry] = rejects(tmp_path / "ledger.jsonl.rejects.jsonl")
    assert [(e["code"], e["field"]) for e in entry["errors"]] == [
        (8155, "pointsLedger[0].programId")
    ]
    assert count(client, "customers", org) == 0


def _consent_views(client: TestClient, customer_id: int, auth: dict[str, str]) -> list[Any]:
    """What the API shows of a customer's consent: /subscriptions and embed=subscriptions."""
    shown = _get(client, f"/v2/customers/{customer_id}", auth, source="ALL", embed="subscriptions")
    return [states(client, customer_id, auth), shown["subscriptionInfo"]]


def test_export_carries_consent_states(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    source, source_auth = make_org(client)
    opted = client.post("/v2/customers", json=customer_body(7), headers=source_auth)
    assert opted.status_code == 200, opted.text
    cid = int(opted.json()["createdId"])
    silent = client.post("/v2/customers", json=customer_body(8), headers=source_auth)
    assert silent.status_code == 200, silent.text
    body = {
        "reason": "asked at the till",
        "subscriptions": [
            sub("EMAIL", "BULK", "OPTOUT"),
            sub("mobile", "bulk", "optout", sourceName="INSTORE"),
            sub("WHATSAPP", "TRANS", "OPTOUT"),
        ],
    }
    assert post(client, cid, body, auth=source_auth).status_code == 200
    # Back to the default: still a pair the customer set, so still listed.
    back = {"subscriptions": [sub("WHATSAPP", "TRANS", "OPTIN")]}
    assert post(client, cid, back, auth=source_auth).status_code == 200
    first = tmp_path / "first.jsonl"
    assert patron(database_url, "export", "--org", source, "--output", str(first)).exit_code == 0

    target, target_auth = make_org(client)
    imported = patron(database_url, "import", str(first), "--org", target)
    second = tmp_path / "second.jsonl"
    assert patron(database_url, "export", "--org", target, "--output", str(second)).exit_code == 0

    assert imported.exit_code == 0, imported.output
    assert second.read_bytes() == first.read_bytes()
    lines = [orjson.loads(x) for x in first.read_bytes().splitlines()]
    assert [line.get("subscriptions") for line in lines] == [
        [
            {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"},
            {"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT"},
            {"channel": "WHATSAPP", "priority": "TRANS", "type": "OPTIN"},
        ],
        None,
    ]
    for a, b in zip(_ids(client, source), _ids(client, target), strict=True):
        assert _consent_views(client, b, target_auth) == _consent_views(client, a, source_auth)
        assert _strip(details(client, b, auth=target_auth)) == _strip(
            details(client, a, auth=source_auth)
        )


def test_import_checks_consent_states_as_the_api_does(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    line = customer_body(9, subscriptions=[sub("PIGEON", "BULK", "OPTOUT")])
    file = write_jsonl(tmp_path / "consent.jsonl", [line])

    result = patron(database_url, "import", str(file), "--org", org)

    assert result.exit_code == 1, result.output
    [entry] = rejects(tmp_path / "consent.jsonl.rejects.jsonl")
    assert [(e["code"], e["field"]) for e in entry["errors"]] == [
        (8210, "subscriptions[0].channel")
    ]
    assert count(client, "customers", org) == 0


def test_import_reads_ledger_and_consent_on_registration_lines_only(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, _ = make_org(client)
    lookup = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": "9800000010"}
    update_line = {
        "lookup": lookup,
        "pointsLedger": [{"programId": 1016, "points": 5, "expiresAt": None}],
        "subscriptions": [sub("SMS", "BULK", "OPTOUT")],
    }
    file = write_jsonl(tmp_path / "update.jsonl", [customer_body(10), update_line])

    result = patron(database_url, "import", str(file), "--org", org)

    assert result.exit_code == 1, result.output
    [entry] = rejects(tmp_path / "update.jsonl.rejects.jsonl")
    assert [(e["code"], e["field"]) for e in entry["errors"]] == [
        (8106, "pointsLedger"),
        (8106, "subscriptions"),
    ]
    assert count(client, "points_ledger", org) == 0
    assert count(client, "subscriptions", org) == 0


def test_export_holds_identifiers_as_changed(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    source, source_auth = make_org(client)
    response = client.post("/v2/customers", json=customer_body(12), headers=source_auth)
    assert response.status_code == 200, response.text
    cid = int(response.json()["createdId"])
    change = {
        "add": [{"type": "mobile", "value": "+91 9811111112"}],
        "remove": [{"type": "mobile", "value": "919800000012"}],
    }
    changed = client.post(
        f"/v2/customers/{cid}/changeIdentifier",
        params={"source": "INSTORE"},
        json=change,
        headers=source_auth,
    )
    assert changed.status_code == 200, changed.text
    first = tmp_path / "first.jsonl"
    assert patron(database_url, "export", "--org", source, "--output", str(first)).exit_code == 0

    target, target_auth = make_org(client)
    imported = patron(database_url, "import", str(first), "--org", target)

    assert imported.exit_code == 0, imported.output
    [line] = [orjson.loads(x) for x in first.read_bytes().splitlines()]
    assert line["profiles"][0]["identifiers"] == [
        {"type": "email", "value": "person12@example.com"},
        {"type": "mobile", "value": "919811111112"},
    ]
    [twin] = _ids(client, target)
    assert _strip(details(client, twin, auth=target_auth)) == _strip(
        details(client, cid, auth=source_auth)
    )
    # The replaced number is nobody's in the target either: another customer may take it.
    other = customer_body(13)
    other["profiles"][0]["identifiers"][0]["value"] = "919800000012"
    assert client.post("/v2/customers", json=other, headers=target_auth).status_code == 200
