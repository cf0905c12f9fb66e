"""SPEC 6 rule 10: unknown keys are reported; values change only by normalisation."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, register, the_profile, update


def test_rule_10_unknown_keys_are_warnings_naming_them(client: TestClient) -> None:
    cid = register(client)
    body = {
        "nickname": "Tommy",
        "profiles": [
            {
                "firstName": "Tom",
                "middleName": "T",
                "commChannels": [{"type": "email", "value": "t@example.com", "colour": "red"}],
            }
        ],
        "loyaltyProgramEnrollments": [{"programId": 2020, "bonus": 1}],
    }
    response = update(client, body)
    assert response.status_code == 200, response.text
    assert set(codes(response, "warnings")) == {8400}
    assert sorted(fields_of(response, "warnings")) == sorted(
        [
            "nickname",
            "profiles[0].middleName",
            "profiles[0].commChannels[0].colour",
            "loyaltyProgramEnrollments[0].bonus",
        ]
    )
    assert the_profile(details(client, cid))["firstName"] == "Tom"


def test_rule_10_known_keys_give_no_warning(client: TestClient) -> None:
    register(client)
    response = update(client, {"profiles": [{"firstName": "Tom"}]})
    assert response.json()["warnings"] == []


def test_rule_10_values_are_stored_exactly_as_sent_apart_from_normalisation(
    client: TestClient,
) -> None:
    cid = register(client)
    meta = {"note": "  spaced  ", "n": 1.25, "nested": {"list": [1, "two", None]}}
    response = update(
        client,
        {
            "fields": {"favourite_colour": " Blue "},
            "commChannels": [{"type": "wechat", "value": " wx-1 ", "meta": meta}],
        },
    )
    assert response.status_code == 200
    p = the_profile(details(client, cid))
    assert p["fields"] == {"favourite_colour": " Blue "}
    assert p["commChannels"][0]["value"] == "wx-1"
    assert p["commChannels"][0]["meta"] == meta
