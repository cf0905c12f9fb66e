"""SPEC 10.2 under rule 12: concurrent consent changes and updates of one customer, over TCP."""

from __future__ import annotations

import asyncio

from starlette.testclient import TestClient

from patron.customers.consent import CHANNELS
from tests.conftest import ADMIN, PASSWORD, basic, new_org_code
from tests.integrity.test_concurrency import _gather, _lookup
from tests.live import live_server


def test_rule_12_concurrent_consent_changes_and_updates_lose_nothing(
    client: TestClient, database_url: str
) -> None:
    code = new_org_code("consent-race")
    doc = {
        "name": "Consent race",
        "defaultCountry": "IN",
        "sources": [{"source": "INSTORE"}],
        "tills": [{"code": f"{code}.till", "password": PASSWORD}],
        "extendedFields": [{"name": "city", "dataType": "STRING"}],
    }
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    auth = basic(f"{code}.till")
    mobile = "919999000301"
    profile = {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": mobile}]}
    reg = client.post("/v2/customers", json={"profiles": [profile]}, headers=auth)
    assert reg.status_code == 200, reg.text
    cid = reg.json()["createdId"]
    pairs = [(c, p) for c in CHANNELS for p in ("TRANS", "BULK")]
    consent = [
        (
            "POST",
            f"/v2/customers/{cid}/subscriptions",
            {},
            {"subscriptions": [{"channel": c, "priority": p, "type": "OPTOUT"}], "reason": c + p},
        )
        for c, p in pairs
    ]
    updates = [
        ("PUT", "/v2/customers/lookup", _lookup(mobile), {"extendedFields": {"city": f"c{i}"}})
        for i in range(len(pairs))
    ]
    # Interleaved, so consent changes and updates of the same customer race each other.
    calls = [call for pair in zip(consent, updates, strict=True) for call in pair]
    with live_server(database_url) as base:
        responses = asyncio.run(_gather(base, calls, auth))
    assert [r.status_code for r in responses] == [200] * len(calls), [
        r.text for r in responses if r.status_code != 200
    ]
    listed = client.get(f"/v2/customers/{cid}/subscriptions", headers=auth).json()
    assert {(s["channel"], s["priority"], s["type"]) for s in listed["subscriptions"]} == {
        (c, p, "OPTOUT") for c, p in pairs
    }
    history = client.get(
        f"/v2/customers/{cid}/changes", params={"limit": 100}, headers=auth
    ).json()["data"]
    # Every write was applied on top of the one before: one entry and one version each.
    assert [e["context"] is not None for e in history].count(True) == len(pairs)
    assert len(history) == 1 + 2 * len(pairs)
    etag = client.get(f"/v2/customers/{cid}", headers=auth).headers["etag"]
    assert etag == f'"{1 + 2 * len(pairs)}"'
