"""SPEC 10.2: communication consent per (channel, priority), with org defaults and provenance."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from patron import errors
from tests.builders import codes, details, fields_of, history, lookup_params, register
from tests.conftest import ACME_AUTH, ADMIN, GLOBEX_AUTH, acme_doc, basic, new_org_code
from tests.customers.consent import DEFAULTS, post, states, sub, with_state
from tests.events.support import outbox

# Capillary's documented sample POST of "Update Subscription Details", verbatim.
CAPILLARY_SAMPLE = """
{
    "communicationId": -1,
    "campaignId": -1,
    "reason": "Example reason",
    "scope": {
        "scope": "USER",
        "subScope": "NONE"
    },
    "subscriptions": [
        {
            "channel": "EMAIL",
            "accountId": "",
            "priority": "BULK",
            "type": "OPTOUT",
\t\t\t"orgUnitId": 200031782,
\t\t\t"sourceName": "INSTORE"
        },
        {
            "channel": "MOBILE",
            "accountId": "",
            "priority": "BULK",
            "type": "OPTOUT",
\t\t\t"orgUnitId": 200031782,
\t\t\t"sourceName": "INSTORE"
        },
        {
            "channel": "EMAIL",
            "accountId": "",
            "priority": "TRANS",
            "type": "OPTIN",
\t\t\t"orgUnitId": 200031782,
\t\t\t"sourceName": "INSTORE"
        },
        {
            "channel": "MOBILE",
            "accountId": "123",
            "priority": "TRANS",
            "type": "OPTIN",
\t\t\t"orgUnitId": 200031782,
\t\t\t"sourceName": "WECHAT"
        }
    ]
}
"""


def _org(client: TestClient, **changes: Any) -> dict[str, str]:
    """A fresh org like ACME (plus WECHAT account 123 of Capillary's sample); its till's auth."""
    code = new_org_code("consent")
    sources = [{"source": "INSTORE"}, {"source": "WECHAT", "accounts": ["123", "wc_main"]}]
    doc = acme_doc(
        sources=sources,
        tills=[{"code": f"{code}.till", "password": "s3cret-pass"}],
        oauthClients=[],
        **changes,
    )
    response = client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN)
    assert response.status_code == 200, response.text
    return basic(f"{code}.till")


def test_consent_get_lists_sms_and_email_at_the_org_default(client: TestClient) -> None:
    cid = register(client)
    assert states(client, cid) == DEFAULTS
    response = client.get(f"/v2/customers/{cid}/subscriptions", headers=ACME_AUTH)
    assert response.headers["etag"] == '"1"'


def test_consent_org_defaults_apply_to_pairs_never_set(client: TestClient) -> None:
    auth = _org(client, subscriptionDefaults={"BULK": "OPTOUT"})
    cid = register(client, auth=auth)
    expected = [{**d, "type": "OPTOUT" if d["priority"] == "BULK" else "OPTIN"} for d in DEFAULTS]
    assert states(client, cid, auth) == expected
    # Opting in to a default opt-out is a change, from the default in effect.
    response = post(client, cid, {"subscriptions": [sub("sms", "bulk", "optin")]}, auth)
    assert response.status_code == 200, response.text
    assert history(client, cid, auth)[0]["changes"] == [
        {"path": "subscriptions[SMS:BULK]", "old": "OPTOUT", "new": "OPTIN"}
    ]


def test_consent_post_records_an_opt_out_and_answers_the_state_after(client: TestClient) -> None:
    cid = register(client)
    response = post(
        client,
        cid,
        {"subscriptions": [sub("Email", "bulk", "OptOut")], "reason": "asked at the till"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert response.json() == {
        "subscriptions": with_state(DEFAULTS, "EMAIL", "BULK", "OPTOUT"),
        "campaignId": 0,
        "communicationId": 0,
        "reason": "asked at the till",
        "warnings": [],
    }
    assert states(client, cid) == with_state(DEFAULTS, "EMAIL", "BULK", "OPTOUT")


def test_consent_capillary_sample_is_replayed_verbatim(client: TestClient) -> None:
    auth = _org(client)
    cid = register(client, auth=auth)
    response = client.post(
        f"/v2/customers/{cid}/subscriptions",
        content=CAPILLARY_SAMPLE,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subscriptions"] == [
        {"channel": "SMS", "priority": "TRANS", "type": "OPTIN"},
        {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"},
        {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"},
        {"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT"},
    ]
    assert (body["campaignId"], body["communicationId"], body["reason"]) == (
        -1,
        -1,
        "Example reason",
    )
    # The keys patron does not use are warnings that name them (rule 10).
    assert sorted(w["field"] for w in body["warnings"]) == [
        "scope",
        "subscriptions[0].orgUnitId",
        "subscriptions[1].orgUnitId",
        "subscriptions[2].orgUnitId",
        "subscriptions[3].orgUnitId",
    ]
    assert set(codes(response, "warnings")) == {errors.UNKNOWN_KEY.code}


def test_consent_names_are_case_insensitive_and_mobile_is_sms(client: TestClient) -> None:
    cid = register(client)
    response = post(client, cid, {"subscriptions": [sub(" mobile ", "Trans", "optout")]})
    assert response.status_code == 200, response.text
    assert states(client, cid) == with_state(DEFAULTS, "SMS", "TRANS", "OPTOUT")


def test_consent_unknown_names_are_400_naming_the_item(client: TestClient) -> None:
    cid = register(client)
    body = {
        "subscriptions": [
            sub("EMAIL", "BULK", "OPTOUT"),
            sub("PIGEON", "BULK", "OPTOUT"),
            sub("SMS", "URGENT", "OPTOUT"),
            sub("SMS", "BULK", "MAYBE"),
        ]
    }
    response = post(client, cid, body)
    assert response.status_code == 400
    assert codes(response) == [errors.INVALID_SUBSCRIPTION.code] * 3
    assert fields_of(response) == [
        "subscriptions[1].channel",
        "subscriptions[2].priority",
        "subscriptions[3].type",
    ]
    assert states(client, cid) == DEFAULTS  # atomic: the good entry was not stored either


def test_consent_shape_errors_are_400(client: TestClient) -> None:
    cid = register(client)
    for body, field in (
        ({}, "subscriptions"),
        ({"subscriptions": []}, "subscriptions"),
        ({"subscriptions": [{"channel": "SMS", "priority": "BULK"}]}, "subscriptions[0].type"),
        ({"subscriptions": [sub("SMS", "BULK", 1)]}, "subscriptions[0].type"),
        ({"subscriptions": [sub("SMS", "BULK", "OPTIN")], "campaignId": "x"}, "campaignId"),
    ):
        response = post(client, cid, body)
        assert response.status_code == 400, body
        assert fields_of(response) == [field], body


def test_consent_same_channel_and_priority_twice_is_400(client: TestClient) -> None:
    cid = register(client)
    body = {"subscriptions": [sub("SMS", "BULK", "OPTOUT"), sub("MOBILE", "bulk", "OPTIN")]}
    response = post(client, cid, body)
    assert response.status_code == 400
    assert codes(response) == [errors.DUPLICATE_SUBSCRIPTION.code]
    assert fields_of(response) == ["subscriptions[1]"]
    # The same channel with the other priority is another pair.
    other = {"subscriptions": [sub("SMS", "BULK", "OPTOUT"), sub("SMS", "TRANS", "OPTOUT")]}
    assert post(client, cid, other).status_code == 200


def test_consent_source_and_account_must_be_the_orgs_when_given(client: TestClient) -> None:
    cid = register(client)
    given = [
        sub("SMS", "BULK", "OPTOUT", sourceName="", accountId=""),
        sub("EMAIL", "BULK", "OPTOUT", sourceName="wechat", accountId="wc_main"),
        sub("SMS", "TRANS", "OPTOUT", accountId="app1"),
    ]
    assert post(client, cid, {"subscriptions": given}).status_code == 200
    bad = [
        sub("SMS", "BULK", "OPTIN", sourceName="TMALL"),
        sub("EMAIL", "BULK", "OPTIN", sourceName="NOWHERE"),
        sub("SMS", "TRANS", "OPTIN", sourceName="WECHAT", accountId="app1"),
        sub("EMAIL", "TRANS", "OPTIN", accountId="nobody"),
    ]
    response = post(client, cid, {"subscriptions": bad})
    assert response.status_code == 400
    assert list(zip(codes(response), fields_of(response), strict=True)) == [
        (errors.INVALID_SOURCE.code, "subscriptions[0].sourceName"),
        (errors.INVALID_SOURCE.code, "subscriptions[1].sourceName"),
        (errors.UNKNOWN_ACCOUNT.code, "subscriptions[2].accountId"),
        (errors.UNKNOWN_ACCOUNT.code, "subscriptions[3].accountId"),
    ]


def test_consent_history_records_who_when_why_and_where(client: TestClient) -> None:
    cid = register(client)
    body = {
        "subscriptions": [
            sub("EMAIL", "BULK", "OPTOUT", sourceName="INSTORE", accountId=""),
            sub("WHATSAPP", "TRANS", "OPTOUT", sourceName="WECHAT", accountId="wc_promo"),
            sub("SMS", "TRANS", "OPTIN"),
        ],
        "reason": "unsubscribe link",
        "campaignId": 77,
        "communicationId": 9001,
    }
    response = post(client, cid, body, headers={"X-Request-Id": "consent-1"})
    assert response.status_code == 200, response.text
    newest = history(client, cid)[0]
    assert newest["requestId"] == "consent-1"
    assert newest["by"] == {"code": "acme.till", "type": "TILL"}
    assert newest["at"].endswith("Z")
    assert newest["changes"] == [
        {"path": "subscriptions[EMAIL:BULK]", "old": "OPTIN", "new": "OPTOUT"},
        {"path": "subscriptions[WHATSAPP:TRANS]", "old": "OPTIN", "new": "OPTOUT"},
    ]
    assert newest["context"] == {
        "reason": "unsubscribe link",
        "campaignId": 77,
        "communicationId": 9001,
        "subscriptions": [
            {
                "channel": "EMAIL",
                "priority": "BULK",
                "type": "OPTOUT",
                "sourceName": "INSTORE",
                "accountId": None,
            },
            {
                "channel": "WHATSAPP",
                "priority": "TRANS",
                "type": "OPTOUT",
                "sourceName": "WECHAT",
                "accountId": "wc_promo",
            },
            {
                "channel": "SMS",
                "priority": "TRANS",
                "type": "OPTIN",
                "sourceName": None,
                "accountId": None,
            },
        ],
    }
    # Entries of other writes have no provenance beyond who and when.
    assert history(client, cid)[-1]["context"] is None
    # A pair once set is listed from then on.
    assert states(client, cid) == [
        *with_state(DEFAULTS, "EMAIL", "BULK", "OPTOUT"),
        {"channel": "WHATSAPP", "priority": "TRANS", "type": "OPTOUT"},
    ]


def test_consent_post_that_changes_nothing_writes_nothing(client: TestClient) -> None:
    cid = register(client)
    post(client, cid, {"subscriptions": [sub("EMAIL", "BULK", "OPTOUT")]})
    entries = history(client, cid)
    events = outbox(client)
    response = post(
        client,
        cid,
        {"subscriptions": [sub("EMAIL", "BULK", "OPTOUT"), sub("SMS", "BULK", "OPTIN")]},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert history(client, cid) == entries
    assert outbox(client) == events


def test_consent_change_event_carries_the_provenance(client: TestClient) -> None:
    cid = register(client)
    before = len(outbox(client))
    body = {"subscriptions": [sub("SMS", "BULK", "OPTOUT")], "reason": "STOP", "campaignId": 5}
    assert post(client, cid, body, headers={"X-Request-Id": "consent-evt"}).status_code == 200
    events = outbox(client)[before:]
    assert [e["body"]["type"] for e in events] == ["customer.updated"]
    event = events[0]["body"]
    assert event["customerId"] == cid and event["version"] == 2
    assert event["requestId"] == "consent-evt"
    assert event["changes"] == [
        {"path": "subscriptions[SMS:BULK]", "old": "OPTIN", "new": "OPTOUT"}
    ]
    assert event["context"] == history(client, cid)[0]["context"]
    assert event["context"]["reason"] == "STOP" and event["context"]["campaignId"] == 5


def test_consent_dry_run_answers_the_changes_and_stores_nothing(client: TestClient) -> None:
    cid = register(client)
    entries = history(client, cid)
    response = post(client, cid, {"subscriptions": [sub("EMAIL", "BULK", "OPTOUT")]}, dryRun="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changes"] == [
        {"path": "subscriptions[EMAIL:BULK]", "old": "OPTIN", "new": "OPTOUT"}
    ]
    assert body["subscriptions"] == with_state(DEFAULTS, "EMAIL", "BULK", "OPTOUT")
    assert response.headers["etag"] == '"1"'
    assert states(client, cid) == DEFAULTS
    assert history(client, cid) == entries


def test_consent_idempotency_key_replays_the_first_answer(client: TestClient) -> None:
    cid = register(client)
    key = {"Idempotency-Key": "consent-retry-1"}
    body = {"subscriptions": [sub("SMS", "BULK", "OPTOUT")]}
    first = post(client, cid, body, headers=key)
    assert first.status_code == 200, first.text
    # Meanwhile someone opts back in; the retry must not undo it.
    post(client, cid, {"subscriptions": [sub("SMS", "BULK", "OPTIN")]})
    again = post(client, cid, body, headers=key)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert states(client, cid) == DEFAULTS
    other = post(client, cid, {"subscriptions": [sub("SMS", "TRANS", "OPTOUT")]}, headers=key)
    assert other.status_code == 409
    assert codes(other) == [errors.IDEMPOTENCY_KEY_REUSED.code]


def test_consent_if_match_makes_the_change_conditional(client: TestClient) -> None:
    cid = register(client)
    body = {"subscriptions": [sub("SMS", "BULK", "OPTOUT")]}
    stale = post(client, cid, body, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert codes(stale) == [errors.PRECONDITION_FAILED.code]
    assert states(client, cid) == DEFAULTS
    etag = client.get(f"/v2/customers/{cid}/subscriptions", headers=ACME_AUTH).headers["etag"]
    fresh = post(client, cid, body, headers={"If-Match": etag})
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["etag"] == '"2"'


def test_consent_by_lookup_reads_and_changes_the_customer_found(client: TestClient) -> None:
    cid = register(client)
    url = "/v2/customers/lookup/subscriptions"
    response = client.post(
        url,
        params=lookup_params(),
        json={"subscriptions": [sub("EMAIL", "TRANS", "OPTOUT")]},
        headers=ACME_AUTH,
    )
    assert response.status_code == 200, response.text
    expected = with_state(DEFAULTS, "EMAIL", "TRANS", "OPTOUT")
    assert response.json()["subscriptions"] == expected
    found = client.get(url, params=lookup_params(source="ALL"), headers=ACME_AUTH)
    assert found.status_code == 200, found.text
    assert found.json()["subscriptions"] == expected
    assert states(client, cid) == expected


def test_consent_unknown_customer_is_404(client: TestClient) -> None:
    body = {"subscriptions": [sub("SMS", "BULK", "OPTOUT")]}
    for path in ("/v2/customers/999999/subscriptions", "/v2/customers/abc/subscriptions"):
        assert codes(client.get(path, headers=ACME_AUTH)) == [errors.CUSTOMER_NOT_FOUND.code]
        assert codes(client.post(path, json=body, headers=ACME_AUTH)) == [
            errors.CUSTOMER_NOT_FOUND.code
        ]
    url = "/v2/customers/lookup/subscriptions"
    missing = client.post(url, params=lookup_params(), json=body, headers=ACME_AUTH)
    assert missing.status_code == 404
    assert codes(missing) == [errors.CUSTOMER_NOT_FOUND.code]
    bad_lookup = client.post(url, params={"source": "ALL"}, json=body, headers=ACME_AUTH)
    assert bad_lookup.status_code == 400


def test_consent_of_another_orgs_customer_is_not_found(client: TestClient) -> None:
    cid = register(client)
    body = {"subscriptions": [sub("SMS", "BULK", "OPTOUT")]}
    response = post(client, cid, body, auth=GLOBEX_AUTH)
    assert response.status_code == 404
    assert codes(response) == [errors.CUSTOMER_NOT_FOUND.code]
    read = client.get(f"/v2/customers/{cid}/subscriptions", headers=GLOBEX_AUTH)
    assert read.status_code == 404
    assert states(client, cid) == DEFAULTS


def test_consent_embed_subscriptions_on_the_details_routes(client: TestClient) -> None:
    cid = register(client)
    post(client, cid, {"subscriptions": [sub("LINE", "BULK", "OPTOUT")]})
    expected = {
        "subscriptions": [*DEFAULTS, {"channel": "LINE", "priority": "BULK", "type": "OPTOUT"}]
    }
    assert details(client, cid, embed="Subscriptions")["subscriptionInfo"] == expected
    by_lookup = client.get(
        "/v2/customers/lookup/customerDetails",
        params=lookup_params(embed="points,subscriptions"),
        headers=ACME_AUTH,
    )
    assert by_lookup.status_code == 200, by_lookup.text
    assert by_lookup.json()["subscriptionInfo"] == expected
    assert "subscriptionInfo" not in details(client, cid)


def test_consent_more_than_100_unknown_keys_is_400(client: TestClient) -> None:
    cid = register(client)
    pairs = [(c, p) for c in ("SMS", "EMAIL", "WECHAT", "LINE") for p in ("TRANS", "BULK")]
    noisy = {f"k{n}": 1 for n in range(13)}
    body = {"subscriptions": [sub(c, p, "OPTOUT", **noisy) for c, p in pairs]}  # 104 unknown
    response = post(client, cid, body)
    assert response.status_code == 400
    assert codes(response) == [errors.TOO_MANY.code]
    assert states(client, cid) == DEFAULTS
    body["subscriptions"] = body["subscriptions"][:7]  # 91 unknown: warnings, and applied
    applied = post(client, cid, body)
    assert applied.status_code == 200, applied.text
    assert len(applied.json()["warnings"]) == 91
