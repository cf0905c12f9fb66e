"""SPEC 5.3: two values that read the same to a person are one identifier, one channel, one lookup.

Through the API on each database: a look-alike of a held identifier is refused as the identifier
itself is (rule 4), a lookup by a look-alike finds the customer, a look-alike channel changes the
channel rather than adding one (rule 5), and what is stored and answered is the canonical form.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.builders import (
    MOBILE,
    codes,
    details,
    lookup_params,
    profile,
    register,
    the_profile,
    update,
)
from tests.conftest import ACME_AUTH

# (identifier type, the value first registered, a look-alike of it, the stored form)
LOOK_ALIKES = [
    ("externalId", "ab", "a\u200bb", "ab"),  # zero-width space inside
    ("externalId", "ab", "ab\u200b", "ab"),  # trailing zero-width space
    ("externalId", "ab", "ab\ufeff", "ab"),  # trailing byte-order mark
    ("externalId", "caf\u00e9", "cafe\u0301", "caf\u00e9"),  # NFC vs NFD
    ("cardnumber", "4111222233334444", "\uff14\uff11\uff11\uff11222233334444", "4111222233334444"),
    ("email", "tom@b\u00fccher.de", "tom@xn--bcher-kva.de", "tom@xn--bcher-kva.de"),
    ("email", "tom@xn--bcher-kva.de", "TOM@B\u00dcCHER.DE", "tom@xn--bcher-kva.de"),
    (
        "wechat",
        "\u5fae\u4fe1\u7528\u6237",
        "\u5fae\u4fe1\u200d\u7528\u6237",
        "\u5fae\u4fe1\u7528\u6237",
    ),
]
IDS = [f"{t}:{second.encode('unicode_escape').decode()}" for t, _, second, _ in LOOK_ALIKES]


def _profile(id_type: str, value: str, source: str = "INSTORE") -> dict[str, Any]:
    return profile(source, mobile=None, identifiers=[{"type": id_type, "value": value}])


@pytest.mark.parametrize(("id_type", "first", "second", "stored"), LOOK_ALIKES, ids=IDS)
def test_rule_04_a_look_alike_of_a_held_identifier_is_the_same_identifier(
    client: TestClient, id_type: str, first: str, second: str, stored: str
) -> None:
    cid = register(client, _profile(id_type, first))
    same_source = client.post(
        "/v2/customers", json={"profiles": [_profile(id_type, second)]}, headers=ACME_AUTH
    )
    assert same_source.status_code == 409, same_source.text
    assert codes(same_source) == [8008]
    other_source = client.post(
        "/v2/customers",
        json={"profiles": [_profile(id_type, second, "ECOMMERCE")]},
        headers=ACME_AUTH,
    )
    assert other_source.status_code == 409, other_source.text
    assert codes(other_source) == [8053]
    identifiers = the_profile(details(client, cid))["identifiers"]
    assert identifiers == [{"type": id_type, "value": stored}]


@pytest.mark.parametrize(("id_type", "first", "second", "stored"), LOOK_ALIKES, ids=IDS)
def test_a_lookup_by_a_look_alike_finds_the_customer(
    client: TestClient, id_type: str, first: str, second: str, stored: str
) -> None:
    cid = register(client, _profile(id_type, first))
    for value in (second, stored):
        response = client.get(
            "/v2/customers/lookup", params=lookup_params(value, id_type), headers=ACME_AUTH
        )
        assert response.status_code == 200, response.text
        assert response.json()["entity"] == cid
    by_lookup = update(client, {"extendedFields": {"city": "Pune"}}, lookup_params(second, id_type))
    assert by_lookup.status_code == 200, by_lookup.text
    assert by_lookup.json()["createdId"] == cid


def test_adding_a_look_alike_of_an_identifier_the_profile_holds_changes_nothing(
    client: TestClient,
) -> None:
    held = [{"type": "mobile", "value": MOBILE}, {"type": "externalId", "value": "EXT-1"}]
    cid = register(client, profile(identifiers=held))
    before = details(client, cid)
    response = update(
        client, {"profiles": [{"identifiers": [{"type": "externalId", "value": "EXT\u200b-1"}]}]}
    )
    assert response.status_code == 200, response.text
    assert details(client, cid) == before


def test_rule_05_a_look_alike_channel_value_changes_the_channel(client: TestClient) -> None:
    channel = {"type": "email", "value": "tom@b\u00fccher.de", "primary": True}
    cid = register(client, profile(commChannels=[channel]))
    look_alike = {"type": "email", "value": "tom@xn--bcher-kva.de\u200b", "verified": True}
    response = update(client, {"commChannels": [look_alike]})
    assert response.status_code == 200, response.text
    channels = the_profile(details(client, cid))["commChannels"]
    assert [(c["value"], c["primary"], c["verified"]) for c in channels] == [
        ("tom@xn--bcher-kva.de", True, True)
    ]


def test_two_look_alike_channels_in_one_request_are_one_channel_named_twice(
    client: TestClient,
) -> None:
    register(client)
    channels = [{"type": "wechat", "value": "wx-1"}, {"type": "wechat", "value": "wx\u2060-1"}]
    response = update(client, {"commChannels": channels})
    assert response.status_code == 400
    assert codes(response) == [8134]
