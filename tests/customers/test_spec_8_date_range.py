"""SPEC 8: a date or date-time whose instant lies outside the years 1 to 9999 (UTC) is a 400."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.builders import codes, fields_of, lookup_params, profile, register, update
from tests.conftest import ADMIN, acme_doc, basic, new_org_code, table_counts

OUT_OF_RANGE = 8138
APP = lookup_params(source="MOBILE_APP", account="app1")

CASES: list[tuple[str, dict[str, Any]]] = [
    (
        "loyaltyProgramEnrollments[0].pointsExpiryDate",
        {
            "loyaltyProgramEnrollments": [
                {
                    "programId": 1016,
                    "loyaltyPoints": 10,
                    "pointsExpiryDate": "9999-12-31T23:59:59-14:00",
                }
            ]
        },
    ),
    (
        "loyaltyProgramEnrollments[0].tierExpiryDate",
        {
            "loyaltyProgramEnrollments": [
                {"programId": 1016, "tierExpiryDate": "9999-12-31T23:30:00-00:31"}
            ]
        },
    ),
    (
        "extendedFields.anniversary",
        {"extendedFields": {"anniversary": "0001-01-01T00:00:00+05:30"}},
    ),
    ("extendedFields.anniversary", {"extendedFields": {"anniversary": "10000-01-01T00:00:00Z"}}),
    ("extendedFields.dob", {"extendedFields": {"dob": "0000-12-31"}}),
    (
        "commChannels[0].lastViewedDate",
        {
            "commChannels": [
                {
                    "type": "mobilePush",
                    "value": "tok",
                    "lastViewedDate": "9999-12-31T23:59:59-14:00",
                }
            ]
        },
    ),
    (
        "commChannels[0].meta.lastViewedDate",
        {
            "commChannels": [
                {"type": "mobilePush", "value": "tok", "meta": {"lastViewedDate": "0000-01-01"}}
            ]
        },
    ),
]


@pytest.mark.parametrize(("path", "body"), CASES)
def test_spec_8_dates_outside_years_1_to_9999_utc_are_400_never_500(
    client: TestClient, path: str, body: dict[str, Any]
) -> None:
    register(client, profile("MOBILE_APP", "app1"))
    counts = table_counts(client)
    response = update(client, body, APP)
    assert response.status_code == 400, response.text
    assert codes(response) == [OUT_OF_RANGE]
    assert fields_of(response) == [path]
    assert table_counts(client) == counts


def test_spec_8_the_last_instants_of_year_9999_are_accepted(client: TestClient) -> None:
    register(client)
    body = {
        "loyaltyProgramEnrollments": [
            {
                "programId": 1016,
                "loyaltyPoints": 10,
                "tierExpiryDate": "9999-12-31T23:59:59+14:00",
                "pointsExpiryDate": "9999-12-31T23:59:59.999999Z",
            }
        ],
        "extendedFields": {"anniversary": "0001-01-01T00:00:00Z", "dob": "9999-12-31"},
    }
    response = update(client, body)
    assert response.status_code == 200, response.text


def test_spec_8_out_of_range_is_400_even_when_fields_are_not_strict(client: TestClient) -> None:
    code = new_org_code("lax")
    doc = acme_doc(
        strictFields=False,
        tills=[{"code": f"{code}.till", "password": "s3cret-pass"}],
        oauthClients=[],
    )
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    auth = basic(f"{code}.till")
    register(client, auth=auth)
    response = update(
        client, {"extendedFields": {"anniversary": "9999-12-31T23:59:59-14:00"}}, auth=auth
    )
    assert response.status_code == 400, response.text
    assert codes(response) == [OUT_OF_RANGE]
