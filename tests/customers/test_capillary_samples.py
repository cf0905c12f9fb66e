"""SPEC 5.4: the sample requests of Capillary's customer documentation, sent as written.

The bodies below are copied from Capillary's "Register Customer" and "Update Customer Details"
pages; the only edits are expiry dates moved into the future and, in the register sample, the
mobile channel's value (Capillary's `91901000001` is not a valid number, 8058). Each spelling
they use is read: identifier types as Capillary writes them, whole numbers as JSON numbers or
strings, booleans as strings, `"lastViewedDate": ""` on a channel that is not mobilePush, an
enum value in another case, a mobile number sent as a JSON integer, and keys patron does not
use (`associatedWith`, `seriesId`, `statusLabel`) reported as warnings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, lookup_params, profile, register, the_profile
from tests.conftest import ADMIN, PASSWORD, basic

ORG = "capillary-samples"
AUTH = basic("capillary.samples.till")
FUTURE = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%dT16:36:17+05:30")

SAMPLE_ORG: dict[str, Any] = {
    "name": "Capillary samples",
    "defaultCountry": "IN",
    "sources": [
        {"source": "INSTORE"},
        {"source": "MOBILE_APP", "accounts": ["400"]},
        {"source": "WECHAT", "accounts": ["22232", "1234", "WeChat1234"]},
    ],
    "tills": [{"code": "capillary.samples.till", "password": PASSWORD}],
    "extendedFields": [
        {"name": "gender", "dataType": "STANDARD_ENUM", "values": ["Male", "Female"]},
        {"name": "city", "dataType": "STRING"},
    ],
    "customFields": [{"name": "employee"}],
    "programs": [
        {
            "programId": 1016,
            "name": "Rewards",
            "default": True,
            # Capillary's samples enrol at tier 234, and tiers are numbered without gaps.
            "tiers": [{"number": n, "name": f"Tier {n}"} for n in range(1, 235)],
        }
    ],
}

REGISTER = """{
  "loyaltyInfo": {
    "loyaltyType": "loyalty"
  },
  "associatedWith": "bukl.till",
  "profiles": [
    {
      "firstName": "Tom",
      "lastName": "Sawyer",
      "identifiers": [
        {
          "type": "mobile",
          "value": "919010000022"
        },
        {
          "type": "cuid",
          "value": "cuid_91901000002"
        },
        {
          "type": "unionId",
          "value": "unionId_91901000002"
        },
        {
          "type": "cardnumber",
          "value": "test123112121",
          "seriesId": 19,
          "statusLabel": "ACTIVE"
        }
      ],
      "commChannels": [
        {
          "type": "mobilePush",
          "meta": {
            "lastViewedDate": "2019-10-10T22:04:38+05:30",
            "residence": false,
            "office": false
          },
          "verified": "true",
          "primary": "true",
          "value": "abc123456"
        },
        {
          "type": "mobile",
          "value": "919010000022",
          "primary": true,
          "verified": true,
          "meta": {
            "lastViewedDate": "",
            "residence": true,
            "office": false
          }
        }
      ],\t
      "source": "MOBILE_APP",
      "fields": {
        "employee": "true",
        "dateofbirth": "22-10-2000"
      },
      "accountId": "400"
    }
  ],
  "extendedFields": {
    "gender": "Male",
    "city": "Bangalore"
  },
  "loyaltyProgramEnrollments": [
    {
      "programId": 1016,
      "tierNumber": 234,
      "loyaltyPoints": 75,
      "tierExpiryDate": "2022-02-11T16:36:17+05:30",
      "pointsExpiryDate": "2022-02-11T16:36:17+05:30"
    }
  ]
}"""

UPDATE_BY_ID = """{
   "profiles":[
      {
         "firstName":"Tom",
         "lastName":"Sawyer",
         "fields":{
            "gender":"Male",
            "city":"Bangalore"
         },
         "identifiers":[
            {
               "type":"mobile",
               "value":919111111111
            },
            {
               "type":"email",
               "value":"tom.sawyer@example.com"
            },
            {
               "type":"wechat",
               "value":"wc_2"
            }
         ],
         "commChannels":[
            {
               "type":"email",
               "value":"tom.sawyer@example.com",
               "primary":"true",
               "verified":"false",
               "meta":{
                  "residence":true
               }
            },
            {
               "type":"wechat",
               "value":"wc_2",
               "primary":"true",
               "verified":"true",
               "meta":{
                  "residence":true
               }
            }
         ],
         "source":"WECHAT",
         "accountId":"1234"
      }
   ],
   "loyaltyInfo":{
      "loyaltyType":"loyalty"
   },
   "extendedFields":
      {
         "gender":"MALE",
         "city":"Bangalore"
      },
\t "loyaltyProgramEnrollments":[{
\t "programId":1016,
\t "tierNumber": 234,
\t"loyaltyPoints": 75,
\t"tierExpiryDate": "2022-02-11T16:36:17+05:30",
\t"pointsExpiryDate": "2022-02-11T16:36:17+05:30"
}]

}"""

# The lookup sample's body is the by-id sample's without the mobile identifier, in account
# WeChat1234.
UPDATE_BY_LOOKUP = UPDATE_BY_ID.replace(
    """            {
               "type":"mobile",
               "value":919111111111
            },
""",
    "",
).replace('"accountId":"1234"', '"accountId":"WeChat1234"')


def _sample(text: str) -> Any:
    return json.loads(text.replace("2022-02-11T16:36:17+05:30", FUTURE))


@pytest.fixture
def org(client: TestClient) -> TestClient:
    """The app, with an org configured as Capillary's samples assume."""
    response = client.put(f"/admin/orgs/{ORG}", json=SAMPLE_ORG, headers=ADMIN)
    assert response.status_code == 200, response.text
    return client


def _unknown_keys(response: Any) -> list[str]:
    return [w["field"] for w in response.json()["warnings"] if w["code"] == 8400]


def test_spec_5_4_capillary_register_sample_is_accepted(org: TestClient) -> None:
    response = org.post(
        "/v2/customers",
        params={"source": "MOBILE_APP", "accountId": "400"},
        json=_sample(REGISTER),
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    assert response.json()["sideEffects"] == [
        {"type": "points", "awardedPoints": 75, "programId": 1016}
    ]
    assert sorted(_unknown_keys(response)) == [
        "associatedWith",
        "profiles[0].identifiers[3].seriesId",
        "profiles[0].identifiers[3].statusLabel",
    ]
    assert ("profiles[0].commChannels[1].meta.lastViewedDate", 8403) in zip(
        fields_of(response, "warnings"), codes(response, "warnings"), strict=True
    )
    data = details(org, response.json()["createdId"], auth=AUTH)
    mine = the_profile(data, "MOBILE_APP", "400")
    assert ("cardnumber", "test123112121") in [(i["type"], i["value"]) for i in mine["identifiers"]]
    push = next(c for c in mine["commChannels"] if c["type"] == "mobilePush")
    assert push["meta"]["lastViewedDate"] == "2019-10-10T22:04:38+05:30"
    assert (push["primary"], push["verified"]) == (True, True)
    mobile = next(c for c in mine["commChannels"] if c["type"] == "mobile")
    assert mobile["meta"] == {"residence": True, "office": False}
    assert data["loyaltyProgramDetails"][0]["tierNumber"] == 234
    assert data["extendedFields"] == {"gender": "Male", "city": "Bangalore"}


def test_spec_5_4_capillary_update_by_id_sample_is_accepted(org: TestClient) -> None:
    cid = register(org, profile("WECHAT", "22232", mobile="919999000001"), auth=AUTH)
    response = org.put(
        f"/v2/customers/{cid}",
        params={"source": "WECHAT", "accountId": "22232"},
        json=_sample(UPDATE_BY_ID),
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    assert response.json()["sideEffects"] == [
        {"type": "points", "awardedPoints": 75, "programId": 1016}
    ]
    data = details(org, cid, auth=AUTH)
    mine = the_profile(data, "WECHAT", "1234")
    assert ("mobile", "919111111111") in [(i["type"], i["value"]) for i in mine["identifiers"]]
    assert data["extendedFields"]["gender"] == "Male"
    assert data["loyaltyInfo"] == {"loyaltyType": "loyalty"}


def test_spec_5_4_capillary_update_by_lookup_sample_is_accepted(org: TestClient) -> None:
    cid = register(org, profile(mobile="919999000001"), auth=AUTH)
    response = org.put(
        "/v2/customers/lookup",
        params=lookup_params("919999000001"),
        json=_sample(UPDATE_BY_LOOKUP),
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    data = details(org, cid, auth=AUTH)
    mine = the_profile(data, "WECHAT", "WeChat1234")
    assert sorted(c["type"] for c in mine["commChannels"]) == ["email", "wechat"]
    assert data["loyaltyProgramDetails"][0]["loyaltyPoints"] == 75
