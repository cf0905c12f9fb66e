"""Capillary's documented changeIdentifier requests, replayed verbatim against patron.

The bodies and query are those of Capillary's "Update Customer Identifiers/Issue Card" page
(`POST /v2/customers/418/changeIdentifier?source=WECHAT&accountId=22232`); only the customer id
in the path is the one this org gave. The org is configured the way the sample assumes: WECHAT
with account 22232, and a customer holding the e-mail the sample removes.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.builders import details, the_profile
from tests.conftest import ADMIN, PASSWORD, basic, new_org_code

SAMPLE_REQUEST = b"""{
    "add": [
        {
            "type": "wechat",
            "value": "ray11"
        }
    ],
    "remove": [
        {
            "type": "email",
            "value": "tom.sawyer@example.com"
        }
    ]
}"""

SAMPLE_ISSUE_CARD = b"""{
  "add": [
    {
      "value": "TTM001110000000001ZS",
      "type": "cardnumber",
      "seriesId": 19,
      "statusLabel": "ACTIVE"
    }
  ]
}"""


@pytest.fixture
def wechat_org(client: TestClient) -> tuple[dict[str, str], int]:
    """An org with WECHAT account 22232, and a customer there holding the sample's e-mail."""
    code = new_org_code("cap")
    doc = {
        "name": "Sample",
        "defaultCountry": "IN",
        "sources": [{"source": "INSTORE"}, {"source": "WECHAT", "accounts": ["22232"]}],
        "tills": [{"code": f"{code}.till", "password": PASSWORD}],
    }
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    auth = basic(f"{code}.till")
    body = {
        "profiles": [
            {
                "source": "WECHAT",
                "accountId": "22232",
                "identifiers": [
                    {"type": "email", "value": "tom.sawyer@example.com"},
                    {"type": "mobile", "value": "919999000001"},
                ],
            }
        ]
    }
    reg = client.post("/v2/customers", json=body, headers=auth)
    assert reg.status_code == 200, reg.text
    return auth, int(reg.json()["createdId"])


def _post(client: TestClient, auth: dict[str, str], cid: int, raw: bytes) -> Any:
    return client.post(
        f"/v2/customers/{cid}/changeIdentifier?source=WECHAT&accountId=22232",
        content=raw,
        headers={**auth, "Content-Type": "application/json"},
    )


def test_capillary_sample_change_identifier_request_replays(
    client: TestClient, wechat_org: tuple[dict[str, str], int]
) -> None:
    auth, cid = wechat_org
    response = _post(client, auth, cid, SAMPLE_REQUEST)
    assert response.status_code == 200, response.text
    assert response.json() == {"createdId": cid, "warnings": [], "sideEffects": []}
    p = the_profile(details(client, cid, auth=auth), "WECHAT", "22232")
    assert p["identifiers"] == [
        {"type": "mobile", "value": "919999000001"},
        {"type": "wechat", "value": "ray11"},
    ]


def test_capillary_sample_issue_card_request_replays(
    client: TestClient, wechat_org: tuple[dict[str, str], int]
) -> None:
    auth, cid = wechat_org
    response = _post(client, auth, cid, SAMPLE_ISSUE_CARD)
    assert response.status_code == 200, response.text
    body = orjson.loads(response.content)
    assert body["createdId"] == cid
    # Card series and status are Capillary card-management keys patron does not keep.
    assert [w["field"] for w in body["warnings"]] == ["add[0].seriesId", "add[0].statusLabel"]
    p = the_profile(details(client, cid, auth=auth), "WECHAT", "22232")
    assert {"type": "cardnumber", "value": "TTM001110000000001ZS"} in p["identifiers"]
