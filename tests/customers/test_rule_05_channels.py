"""SPEC 6 rule 5: communication channels."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.builders import (
    codes,
    details,
    fields_of,
    lookup_params,
    profile,
    register,
    the_profile,
    update,
)


def _channels(
    client: TestClient, cid: int, source: str = "INSTORE", account: str | None = None
) -> list[Any]:
    return list(the_profile(details(client, cid), source, account)["commChannels"])


def test_rule_05_new_channel_is_added_with_normalised_value(client: TestClient) -> None:
    cid = register(client)
    response = update(
        client,
        {
            "commChannels": [
                {
                    "type": "email",
                    "value": " Tom@Example.com",
                    "primary": "true",
                    "meta": {"residence": True},
                }
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert _channels(client, cid) == [
        {
            "type": "email",
            "value": "tom@example.com",
            "primary": True,
            "verified": False,
            "meta": {"residence": True},
        }
    ]


def test_rule_05_matching_channel_is_changed_and_meta_merged(client: TestClient) -> None:
    cid = register(client)
    update(
        client,
        {"commChannels": [{"type": "mobile", "value": "919999000001", "meta": {"a": 1, "b": 2}}]},
    )
    response = update(
        client,
        {
            "commChannels": [
                {
                    "type": "mobile",
                    "value": "+91 99990 00001",
                    "verified": True,
                    "meta": {"b": None, "c": 3},
                }
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert _channels(client, cid) == [
        {
            "type": "mobile",
            "value": "919999000001",
            "primary": False,
            "verified": True,
            "meta": {"a": 1, "c": 3},
        }
    ]


def test_rule_05_unknown_type_is_8010(client: TestClient) -> None:
    register(client)
    response = update(client, {"commChannels": [{"type": "fax", "value": "123"}]})
    assert response.status_code == 400
    assert codes(response) == [8010]
    assert fields_of(response) == ["commChannels[0].type"]


def test_rule_05_mobile_push_only_on_app_sources(client: TestClient) -> None:
    cid = register(client, profile("WECHAT", "wc_main"))
    params = lookup_params(source="WECHAT", account="wc_main")
    response = update(client, {"commChannels": [{"type": "mobilePush", "value": "tok-1"}]}, params)
    assert response.status_code == 400
    assert codes(response) == [8010]
    assert "MOBILE_APP" in response.json()["errors"][0]["message"]
    ok = update(
        client,
        {
            "profiles": [
                {
                    "source": "MOBILE_APP",
                    "accountId": "app1",
                    "commChannels": [{"type": "mobilePush", "value": "tok-1"}],
                }
            ]
        },
        params,
    )
    assert ok.status_code == 200, ok.text
    assert _channels(client, cid, "MOBILE_APP", "app1")[0]["value"] == "tok-1"


def test_rule_05_primary_and_verified_take_booleans_or_their_strings(client: TestClient) -> None:
    register(client)
    bad = update(
        client,
        {
            "commChannels": [
                {"type": "email", "value": "a@example.com", "primary": "yes", "verified": 1}
            ]
        },
    )
    assert bad.status_code == 400
    assert fields_of(bad) == ["commChannels[0].primary", "commChannels[0].verified"]
    good = update(
        client,
        {
            "commChannels": [
                {"type": "email", "value": "a@example.com", "primary": "false", "verified": True}
            ]
        },
    )
    assert good.status_code == 200


def test_rule_05_making_one_primary_demotes_the_others_of_its_type(client: TestClient) -> None:
    cid = register(client)
    update(
        client,
        {
            "commChannels": [
                {"type": "email", "value": "a@example.com", "primary": True},
                {"type": "mobile", "value": "919999000001", "primary": True},
            ]
        },
    )
    response = update(
        client, {"commChannels": [{"type": "email", "value": "b@example.com", "primary": True}]}
    )
    assert response.status_code == 200
    primaries = {(c["type"], c["value"]): c["primary"] for c in _channels(client, cid)}
    assert primaries == {
        ("email", "a@example.com"): False,
        ("mobile", "919999000001"): True,
        ("email", "b@example.com"): True,
    }


def test_rule_05_two_primaries_of_one_type_in_one_request_is_refused(client: TestClient) -> None:
    register(client)
    response = update(
        client,
        {
            "commChannels": [
                {"type": "email", "value": "a@example.com", "primary": True},
                {"type": "email", "value": "b@example.com", "primary": True},
            ]
        },
    )
    assert response.status_code == 400
    assert codes(response) == [8135]


def test_rule_05_last_viewed_date_kept_on_mobile_push(client: TestClient) -> None:
    cid = register(client, profile("MOBILE_APP", "app1"))
    params = lookup_params(source="MOBILE_APP", account="app1")
    response = update(
        client,
        {
            "commChannels": [
                {"type": "mobilePush", "value": "tok", "lastViewedDate": "2026-11-01T10:00:00Z"}
            ]
        },
        params,
    )
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []
    assert _channels(client, cid, "MOBILE_APP", "app1")[0]["meta"] == {
        "lastViewedDate": "2026-11-01T10:00:00Z"
    }


def test_rule_05_last_viewed_date_dropped_with_warning_on_other_types(client: TestClient) -> None:
    cid = register(client)
    response = update(
        client,
        {
            "commChannels": [
                {
                    "type": "email",
                    "value": "a@example.com",
                    "meta": {"lastViewedDate": "2026-11-01", "x": "y"},
                }
            ]
        },
    )
    assert response.status_code == 200
    assert codes(response, "warnings") == [8403]
    assert _channels(client, cid)[0]["meta"] == {"x": "y"}


def test_rule_05_invalid_channel_values(client: TestClient) -> None:
    register(client)
    response = update(
        client,
        {
            "commChannels": [
                {"type": "mobile", "value": "1"},
                {"type": "email", "value": "x@"},
                {"type": "wechat", "value": "w" * 151},
            ]
        },
    )
    assert response.status_code == 400
    assert codes(response) == [8058, 8057, 8133]
