"""SPEC 6 rule 2: which profile an entry changes, and creating one in another source."""

from __future__ import annotations

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


def test_rule_02_entry_defaults_to_the_lookup_profile(client: TestClient) -> None:
    cid = register(client, profile("WECHAT", "wc_main"))
    params = lookup_params(source="WECHAT", account="wc_main")
    response = update(client, {"profiles": [{"firstName": "Tom"}]}, params)
    assert response.status_code == 200, response.text
    data = details(client, cid)
    assert the_profile(data, "WECHAT", "wc_main")["firstName"] == "Tom"
    assert len(data["profiles"]) == 1


def test_rule_02_naming_another_source_creates_its_profile(client: TestClient) -> None:
    cid = register(client)
    body = {
        "profiles": [
            {
                "source": "WECHAT",
                "accountId": "wc_promo",
                "firstName": "Tom",
                "identifiers": [{"type": "wechat", "value": "wx-tom"}],
            }
        ]
    }
    response = update(client, body)
    assert response.status_code == 200, response.text
    wechat = the_profile(details(client, cid), "WECHAT", "wc_promo")
    assert wechat["firstName"] == "Tom"
    assert wechat["identifiers"] == [{"type": "wechat", "value": "wx-tom"}]
    assert wechat["attribution"]["createdBy"] == {"code": "acme.till", "type": "TILL"}


def test_rule_02_source_of_entry_case_insensitive(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"profiles": [{"source": "ecommerce", "firstName": "Tom"}]})
    assert response.status_code == 200, response.text
    assert the_profile(details(client, cid), "ECOMMERCE")["firstName"] == "Tom"


def test_rule_02_unknown_or_disabled_source_is_refused(client: TestClient) -> None:
    register(client)
    response = update(client, {"profiles": [{"source": "TMALL"}, {"source": "NOPE"}]})
    assert response.status_code == 400
    assert codes(response) == [8012, 8012]
    assert fields_of(response) == ["profiles[0].source", "profiles[1].source"]


def test_rule_02_missing_account_is_refused(client: TestClient) -> None:
    register(client)
    response = update(client, {"profiles": [{"source": "WECHAT", "firstName": "x"}]})
    assert response.status_code == 400
    assert codes(response) == [8045]
    assert fields_of(response) == ["profiles[0].accountId"]


def test_rule_02_unknown_account_is_refused(client: TestClient) -> None:
    register(client)
    response = update(client, {"profiles": [{"source": "WECHAT", "accountId": "wc_other"}]})
    assert response.status_code == 400
    assert codes(response) == [8011]


def test_rule_02_same_profile_twice_is_refused(client: TestClient) -> None:
    register(client)
    response = update(
        client, {"profiles": [{"firstName": "a"}, {"source": "INSTORE", "lastName": "b"}]}
    )
    assert response.status_code == 400
    assert codes(response) == [8130]
