"""SPEC 10.1: POST /v2/customers/{id}/changeIdentifier, each rule a test, over the API."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from patron.db.driver import Connection
from tests.builders import (
    MOBILE,
    change_identifier,
    codes,
    details,
    fields_of,
    history,
    ident,
    lookup_params,
    profile,
    register,
    the_profile,
)
from tests.conftest import ACME_AUTH, run, table_counts
from tests.events.support import outbox

NEW_MOBILE = "919999000002"


def _values(client: TestClient, cid: int, source: str = "INSTORE") -> list[tuple[str, str]]:
    p = the_profile(details(client, cid), source)
    return [(i["type"], i["value"]) for i in p["identifiers"]]


def _owners(client: TestClient, type_: str, value: str) -> list[int]:
    async def q(conn: Connection) -> list[int]:
        rows = await conn.fetch(
            "SELECT customer_id FROM identifier_owners WHERE org_id = 'acme' AND type = $1"
            " AND value = $2",
            type_,
            value,
        )
        return [int(r["customer_id"]) for r in rows]

    return run(client, q)


def test_rule_10_1_replacing_a_mobile_is_atomic_and_frees_the_old_one(client: TestClient) -> None:
    cid = register(client)
    response = change_identifier(
        client, cid, {"remove": [ident("mobile", MOBILE)], "add": [ident("mobile", NEW_MOBILE)]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"createdId": cid, "warnings": [], "sideEffects": []}
    assert _values(client, cid) == [("mobile", NEW_MOBILE)]
    assert _owners(client, "mobile", MOBILE) == []
    gone = client.get("/v2/customers/lookup", params=lookup_params(), headers=ACME_AUTH)
    assert gone.status_code == 404
    # The old number is free for another customer at once, in any source.
    other = register(client, profile("ECOMMERCE"))
    assert _owners(client, "mobile", MOBILE) == [other]


def test_rule_10_1_removes_apply_before_adds(client: TestClient) -> None:
    cid = register(client)
    # Removing the only identifier is allowed because the add follows in the same request;
    # removing and adding back one value leaves it where it is.
    both = {
        "remove": [ident("mobile", MOBILE), ident("mobile", NEW_MOBILE)],
        "add": [ident("mobile", MOBILE)],
    }
    refused = change_identifier(client, cid, both)
    assert codes(refused) == [8200]
    assert fields_of(refused) == ["remove[1]"]
    entries = len(history(client, cid))
    again = change_identifier(
        client, cid, {"remove": [ident("mobile", MOBILE)], "add": [ident("mobile", MOBILE)]}
    )
    assert again.status_code == 200, again.text
    assert len(history(client, cid)) == entries
    assert _values(client, cid) == [("mobile", MOBILE)]


def test_rule_10_1_a_removed_identifier_must_be_on_that_profile(client: TestClient) -> None:
    cid = register(client, profile(), profile("ECOMMERCE", mobile=None, email="a@example.com"))
    counts = table_counts(client)
    response = change_identifier(
        client,
        cid,
        {
            "remove": [ident("email", "a@example.com"), ident("mobile", "919999000009")],
            "add": [ident("email", "b@example.com")],
        },
    )
    assert response.status_code == 400
    assert codes(response) == [8200, 8200]
    assert fields_of(response) == ["remove[0]", "remove[1]"]
    assert table_counts(client) == counts


def test_rule_10_1_the_last_identifier_cannot_be_removed(client: TestClient) -> None:
    cid = register(client)
    response = change_identifier(client, cid, {"remove": [ident("mobile", MOBILE)]})
    assert response.status_code == 400
    assert codes(response) == [8201]
    assert _values(client, cid) == [("mobile", MOBILE)]


def test_rule_10_1_a_profile_may_lose_its_last_identifier_when_another_keeps_one(
    client: TestClient,
) -> None:
    cid = register(client, profile(), profile("ECOMMERCE", mobile=None, email="a@example.com"))
    # Kinds are read in any case (SPEC 5.4), values normalised as added ones are (5.3).
    response = change_identifier(client, cid, {"remove": [ident("Mobile", " +91 99990-00001")]})
    assert response.status_code == 200, response.text
    assert _values(client, cid) == []
    assert _values(client, cid, "ECOMMERCE") == [("email", "a@example.com")]


def test_rule_10_1_an_added_identifier_is_normalised_and_validated(client: TestClient) -> None:
    cid = register(client)
    ok = change_identifier(
        client,
        cid,
        {"add": [ident("mobile", "+91 99990-00002"), ident("email", " Tom@Example.COM ")]},
    )
    assert ok.status_code == 200, ok.text
    assert _values(client, cid) == [
        ("mobile", MOBILE),
        ("mobile", NEW_MOBILE),
        ("email", "tom@example.com"),
    ]
    bad = change_identifier(
        client, cid, {"add": [ident("mobile", "12"), ident("email", "nope"), ident("fax", "1")]}
    )
    assert bad.status_code == 400
    assert sorted(codes(bad)) == [8013, 8055, 8056]


def test_rule_10_1_an_identifier_already_on_the_profile_changes_nothing(
    client: TestClient,
) -> None:
    cid = register(client)
    entries = len(history(client, cid))
    response = change_identifier(client, cid, {"add": [ident("mobile", "9999000001")]})
    assert response.status_code == 200, response.text
    assert len(history(client, cid)) == entries


def test_rule_10_1_held_by_another_customer_in_the_same_source_is_8008(
    client: TestClient,
) -> None:
    register(client)
    cid = register(client, profile(mobile=NEW_MOBILE))
    counts = table_counts(client)
    response = change_identifier(client, cid, {"add": [ident("mobile", MOBILE)]})
    assert response.status_code == 409
    assert codes(response) == [8008]
    assert fields_of(response) == ["add[0].value"]
    assert table_counts(client) == counts


def test_rule_10_1_held_by_another_customer_in_another_source_is_8053(
    client: TestClient,
) -> None:
    register(client, profile("ECOMMERCE"))
    cid = register(client, profile(mobile=NEW_MOBILE))
    counts = table_counts(client)
    response = change_identifier(client, cid, {"add": [ident("mobile", MOBILE)]})
    assert response.status_code == 409
    assert codes(response) == [8053]
    assert table_counts(client) == counts


def test_rule_10_1_a_missing_profile_in_that_source_is_created(client: TestClient) -> None:
    cid = register(client)
    response = change_identifier(
        client, cid, {"add": [ident("wechat", "wx-1")]}, source="WECHAT", accountId="wc_main"
    )
    assert response.status_code == 200, response.text
    p = the_profile(details(client, cid), "WECHAT", "wc_main")
    assert p["identifiers"] == [ident("wechat", "wx-1")]
    [entry, *_] = history(client, cid)
    assert [c["path"] for c in entry["changes"]] == [
        "profiles[WECHAT/wc_main]",
        "profiles[WECHAT/wc_main].identifiers[wechat:wx-1]",
    ]


def test_rule_10_1_channels_are_not_touched(client: TestClient) -> None:
    channel = {"type": "mobile", "value": MOBILE, "primary": True}
    cid = register(client, profile(commChannels=[channel]))
    before = the_profile(details(client, cid))["commChannels"]
    response = change_identifier(
        client, cid, {"remove": [ident("mobile", MOBILE)], "add": [ident("mobile", NEW_MOBILE)]}
    )
    assert response.status_code == 200, response.text
    assert the_profile(details(client, cid))["commChannels"] == before


def test_rule_10_1_history_names_each_identifier(client: TestClient) -> None:
    cid = register(client)
    change_identifier(
        client, cid, {"remove": [ident("mobile", MOBILE)], "add": [ident("mobile", NEW_MOBILE)]}
    )
    [entry, *_] = history(client, cid)
    assert entry["by"] == {"code": "acme.till", "type": "TILL"}
    assert entry["changes"] == [
        {
            "path": f"profiles[INSTORE].identifiers[mobile:{MOBILE}]",
            "old": ident("mobile", MOBILE),
            "new": None,
        },
        {
            "path": f"profiles[INSTORE].identifiers[mobile:{NEW_MOBILE}]",
            "old": None,
            "new": ident("mobile", NEW_MOBILE),
        },
    ]


def test_rule_10_1_a_change_event_carries_the_history_changes(client: TestClient) -> None:
    cid = register(client)
    change_identifier(client, cid, {"add": [ident("email", "a@example.com")]})
    last = outbox(client, "acme")[-1]
    assert last["subject"] == "patron.acme.customer.updated"
    assert last["body"]["customerId"] == cid
    assert last["body"]["changes"] == history(client, cid)[0]["changes"]


def test_rule_10_1_dry_run_answers_the_changes_and_stores_nothing(client: TestClient) -> None:
    cid = register(client)
    counts = table_counts(client)
    body = {"remove": [ident("mobile", MOBILE)], "add": [ident("mobile", NEW_MOBILE)]}
    response = change_identifier(client, cid, body, dryRun="true")
    assert response.status_code == 200, response.text
    assert [c["path"] for c in response.json()["changes"]] == [
        f"profiles[INSTORE].identifiers[mobile:{MOBILE}]",
        f"profiles[INSTORE].identifiers[mobile:{NEW_MOBILE}]",
    ]
    assert table_counts(client) == counts
    assert _values(client, cid) == [("mobile", MOBILE)]


def test_rule_10_1_an_idempotency_key_replays_the_first_answer(client: TestClient) -> None:
    cid = register(client)
    body = {"remove": [ident("mobile", MOBILE)], "add": [ident("mobile", NEW_MOBILE)]}
    key = {"Idempotency-Key": "change-1"}
    first = change_identifier(client, cid, body, headers=key)
    second = change_identifier(client, cid, body, headers=key)
    assert first.status_code == second.status_code == 200, second.text
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(history(client, cid)) == 2
    other = change_identifier(client, cid, {"add": [ident("email", "a@example.com")]}, headers=key)
    assert other.status_code == 409


def test_rule_10_1_if_match_and_etag(client: TestClient) -> None:
    cid = register(client)
    stale = change_identifier(
        client, cid, {"add": [ident("email", "a@example.com")]}, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    assert codes(stale) == [8172]
    fresh = change_identifier(
        client, cid, {"add": [ident("email", "a@example.com")]}, headers={"If-Match": '"1"'}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["ETag"] == '"2"'


def test_rule_10_1_a_body_names_one_to_fifty_entries_per_list(client: TestClient) -> None:
    cid = register(client)
    for empty in ({}, {"add": [], "remove": []}):
        response = change_identifier(client, cid, empty)
        assert response.status_code == 400
        assert codes(response) == [8202]
    many = [ident("externalId", f"x{n}") for n in range(51)]
    too_many = change_identifier(client, cid, {"add": many})
    assert too_many.status_code == 400
    assert codes(too_many) == [8104]


def test_rule_10_1_source_and_account_name_the_profile_as_in_5_1(client: TestClient) -> None:
    cid = register(client)
    body: dict[str, Any] = {"add": [ident("email", "a@example.com")]}
    assert codes(change_identifier(client, cid, body, source=None)) == [8012]
    assert codes(change_identifier(client, cid, body, source="ALL")) == [8012]
    assert codes(change_identifier(client, cid, body, source="WECHAT")) == [8045]
    assert codes(change_identifier(client, cid, body, source="WECHAT", accountId="x")) == [8011]
    lowered = change_identifier(client, cid, body, source="instore")
    assert lowered.status_code == 200, lowered.text


def test_rule_10_1_an_unknown_customer_is_404(client: TestClient) -> None:
    response = change_identifier(client, 987654, {"add": [ident("email", "a@example.com")]})
    assert response.status_code == 404
    assert codes(response) == [8015]


def test_rule_10_1_unknown_keys_are_warnings(client: TestClient) -> None:
    cid = register(client)
    card = {"type": "cardnumber", "value": "TTM1", "seriesId": 19, "statusLabel": "ACTIVE"}
    response = change_identifier(client, cid, {"add": [card], "reason": "lost"})
    assert response.status_code == 200, response.text
    assert fields_of(response, "warnings") == ["reason", "add[0].seriesId", "add[0].statusLabel"]
