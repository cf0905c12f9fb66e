"""SPEC 5.4: the spellings Capillary's clients send are read, and answered canonically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.builders import (
    MOBILE,
    codes,
    details,
    fields_of,
    history,
    lookup_params,
    profile,
    register,
    the_profile,
    update,
)
from tests.conftest import ACME_AUTH, count_rows, table_counts

LATER = datetime.now(UTC) + timedelta(days=90)
FUTURE = LATER.strftime("%Y-%m-%dT%H:%M:%S+05:30")
FUTURE_BASIC = LATER.strftime("%Y-%m-%dT%H:%M:%S+0530")
FUTURE_FRACTION_Z = LATER.strftime("%Y-%m-%dT%H:%M:%S.250Z")


def _push_customer(client: TestClient, **meta: Any) -> int:
    entry = profile(
        "MOBILE_APP",
        "app1",
        commChannels=[{"type": "mobilePush", "value": "tok", "meta": meta}],
    )
    return register(client, entry)


APP = lookup_params(source="MOBILE_APP", account="app1")


# --- names of kinds -----------------------------------------------------------------------


def test_spec_5_4_kind_names_are_matched_case_insensitively_and_answered_canonically(
    client: TestClient,
) -> None:
    body = {
        "loyaltyInfo": {"loyaltyType": "LOYALTY"},
        "profiles": [
            {
                "source": "instore",
                "identifiers": [
                    {"type": "Mobile", "value": MOBILE},
                    {"type": "cardNumber", "value": "CARD-1"},
                    {"type": "EMAIL", "value": "tom@example.com"},
                ],
                "commChannels": [{"type": "EMAIL", "value": "tom@example.com"}],
            }
        ],
    }
    response = client.post("/v2/customers", json=body, headers=ACME_AUTH)
    assert response.status_code == 200, response.text
    cid = response.json()["createdId"]
    data = details(client, cid)
    assert data["loyaltyInfo"] == {"loyaltyType": "loyalty"}
    mine = the_profile(data)
    assert sorted((i["type"], i["value"]) for i in mine["identifiers"]) == [
        ("cardnumber", "CARD-1"),
        ("email", "tom@example.com"),
        ("mobile", MOBILE),
    ]
    assert [c["type"] for c in mine["commChannels"]] == ["email"]
    for name, value in (("cardNumber", "CARD-1"), ("MOBILE", MOBILE), ("Email", "tom@example.com")):
        found = client.get(
            "/v2/customers/lookup", params=lookup_params(value, name), headers=ACME_AUTH
        )
        assert found.status_code == 200, (name, found.text)
        assert found.json()["entity"] == cid


def test_spec_5_4_kind_names_in_an_update(client: TestClient) -> None:
    cid = register(client, profile("MOBILE_APP", "app1"))
    response = update(
        client,
        {
            "loyaltyType": "Non_Loyalty",
            "commChannels": [{"type": "MobilePush", "value": "tok-2"}],
            "profiles": [
                {"source": "mobile_app", "identifiers": [{"type": "CUID", "value": "c-9"}]}
            ],
        },
        lookup_params(source="Mobile_App", account="app1", name="mobile"),
    )
    assert response.status_code == 200, response.text
    mine = the_profile(details(client, cid), "MOBILE_APP", "app1")
    assert [c["type"] for c in mine["commChannels"]] == ["mobilePush"]
    assert ("cuid", "c-9") in [(i["type"], i["value"]) for i in mine["identifiers"]]


def test_spec_5_4_an_unknown_kind_name_is_still_400(client: TestClient) -> None:
    register(client)
    response = update(
        client,
        {
            "loyaltyType": "gold",
            "commChannels": [{"type": "fax", "value": "1"}],
            "profiles": [{"identifiers": [{"type": "card number", "value": "x"}]}],
        },
    )
    assert response.status_code == 400
    assert sorted(codes(response)) == [8010, 8013, 8120]


def test_spec_5_4_card_external_id_is_an_identifier_type(client: TestClient) -> None:
    cid = register(
        client,
        profile(identifiers=[{"type": "cardExternalId", "value": "carduuid_1"}], mobile=None),
    )
    mine = the_profile(details(client, cid))
    assert mine["identifiers"] == [{"type": "cardExternalId", "value": "carduuid_1"}]
    found = client.get(
        "/v2/customers/lookup",
        params=lookup_params("carduuid_1", "cardExternalId"),
        headers=ACME_AUTH,
    )
    assert found.status_code == 200, found.text
    assert found.json()["entity"] == cid
    again = client.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "source": "INSTORE",
                    "identifiers": [{"type": "CARDEXTERNALID", "value": "carduuid_1"}],
                }
            ]
        },
        headers=ACME_AUTH,
    )
    assert again.status_code == 409
    assert codes(again) == [8008]


# --- whole numbers ------------------------------------------------------------------------


def test_spec_5_4_whole_numbers_as_strings_or_without_fraction(client: TestClient) -> None:
    cid = register(client)
    body = {
        "loyaltyProgramEnrollments": [
            {"programId": "1016", "tierNumber": 2.0, "loyaltyPoints": "75"},
            {"programId": 2020.0, "tierNumber": "1", "loyaltyPoints": 5.0},
        ],
        "extendedFields": {"children": 3.0},
        "fields": {"shoe_size": "42"},
    }
    response = update(client, body)
    assert response.status_code == 200, response.text
    assert response.json()["sideEffects"] == [
        {"type": "points", "awardedPoints": 75, "programId": 1016},
        {"type": "points", "awardedPoints": 5, "programId": 2020},
    ]
    data = details(client, cid)
    programs = {p["programId"]: p for p in data["loyaltyProgramDetails"]}
    assert (programs[1016]["tierNumber"], programs[1016]["loyaltyPoints"]) == (2, 75)
    assert (programs[2020]["tierNumber"], programs[2020]["loyaltyPoints"]) == (1, 5)
    assert data["extendedFields"] == {"children": 3}
    assert the_profile(data)["fields"] == {"shoe_size": 42}


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("programId", 1016.5),
        ("programId", "1016.0"),
        ("programId", "ten"),
        ("tierNumber", 2.5),
        ("loyaltyPoints", 75.5),
        ("loyaltyPoints", "75.5"),
    ],
)
def test_spec_5_4_a_fraction_is_still_400(client: TestClient, key: str, bad: Any) -> None:
    register(client)
    counts = table_counts(client)
    entry: dict[str, Any] = {"programId": 1016, key: bad}
    response = update(client, {"loyaltyProgramEnrollments": [entry]})
    assert response.status_code == 400, response.text
    assert codes(response) == [8101]
    assert fields_of(response) == [f"loyaltyProgramEnrollments[0].{key}"]
    assert table_counts(client) == counts


def test_spec_5_4_integer_fields_refuse_a_fraction(client: TestClient) -> None:
    register(client)
    response = update(client, {"extendedFields": {"children": 2.5}, "fields": {"shoe_size": "4.5"}})
    assert response.status_code == 400
    assert sorted(fields_of(response)) == ["extendedFields.children", "fields.shoe_size"]


# --- date-times ---------------------------------------------------------------------------


def test_spec_5_4_offsets_without_colon_and_fractional_seconds(client: TestClient) -> None:
    cid = _push_customer(client)
    body = {
        "commChannels": [
            {"type": "mobilePush", "value": "tok", "lastViewedDate": "2019-10-10T22:04:38.5+0530"}
        ],
        "extendedFields": {"anniversary": "2015-06-01T18:30:00.123+0530"},
        "loyaltyProgramEnrollments": [
            {
                "programId": 1016,
                "loyaltyPoints": 10,
                "tierExpiryDate": FUTURE_BASIC,
                "pointsExpiryDate": FUTURE_FRACTION_Z,
            }
        ],
    }
    response = update(client, body, APP)
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []
    data = details(client, cid)
    assert data["extendedFields"] == {"anniversary": "2015-06-01T18:30:00.123+05:30"}
    assert data["loyaltyProgramDetails"][0]["tierExpiryDate"] == FUTURE
    assert data["loyaltyProgramDetails"][0]["loyaltyPoints"] == 10
    channel = the_profile(data, "MOBILE_APP", "app1")["commChannels"][0]
    assert channel["meta"] == {"lastViewedDate": "2019-10-10T22:04:38.5+05:30"}


def test_spec_5_4_a_date_time_without_offset_is_400(client: TestClient) -> None:
    _push_customer(client)
    counts = table_counts(client)
    naive = LATER.strftime("%Y-%m-%dT%H:%M:%S")
    body = {
        "commChannels": [
            {"type": "mobilePush", "value": "tok", "lastViewedDate": "2019-10-10T22:04:38"}
        ],
        "extendedFields": {"anniversary": "2015-06-01T18:30:00"},
        "loyaltyProgramEnrollments": [
            {
                "programId": 1016,
                "loyaltyPoints": 10,
                "tierExpiryDate": naive,
                "pointsExpiryDate": naive,
            }
        ],
    }
    response = update(client, body, APP)
    assert response.status_code == 400
    assert sorted(zip(fields_of(response), codes(response), strict=True)) == [
        ("commChannels[0].lastViewedDate", 8136),
        ("extendedFields.anniversary", 8141),
        ("loyaltyProgramEnrollments[0].pointsExpiryDate", 8136),
        ("loyaltyProgramEnrollments[0].tierExpiryDate", 8136),
    ]
    assert table_counts(client) == counts


# --- "" means not given --------------------------------------------------------------------


def test_spec_5_4_empty_optional_values_change_nothing_and_warn(client: TestClient) -> None:
    cid = _push_customer(client, lastViewedDate="2019-10-25")
    update(
        client,
        {
            "extendedFields": {
                "gender": "Male",
                "dob": "1990-02-28",
                "anniversary": "2015-06-01T18:30:00+05:30",
                "nationality": "IN",
            }
        },
        APP,
    )
    before = details(client, cid)
    entries = history(client, cid)
    body = {
        "loyaltyType": "",
        "loyaltyInfo": {"loyaltyType": ""},
        "commChannels": [{"type": "mobilePush", "value": "tok", "meta": {"lastViewedDate": ""}}],
        "extendedFields": {"gender": "", "dob": "", "anniversary": "", "nationality": ""},
        "loyaltyProgramEnrollments": [
            {"programId": 1016, "tierExpiryDate": "", "pointsExpiryDate": ""}
        ],
    }
    response = update(client, body, APP, dryRun="true")
    assert response.status_code == 200, response.text
    assert [c["path"] for c in response.json()["changes"]] == [
        "loyaltyType",
        "loyaltyProgramEnrollments[1016]",
    ]
    response = update(client, body, APP)
    assert response.status_code == 200, response.text
    warned = sorted(w["field"] for w in response.json()["warnings"] if w["code"] == 8412)
    assert warned == [
        "commChannels[0].meta.lastViewedDate",
        "extendedFields.anniversary",
        "extendedFields.dob",
        "extendedFields.gender",
        "extendedFields.nationality",
        "loyaltyInfo.loyaltyType",
        "loyaltyProgramEnrollments[0].pointsExpiryDate",
        "loyaltyProgramEnrollments[0].tierExpiryDate",
        "loyaltyType",
    ]
    after = details(client, cid)
    assert after["extendedFields"] == before["extendedFields"]
    assert (
        the_profile(after, "MOBILE_APP", "app1")["commChannels"]
        == the_profile(before, "MOBILE_APP", "app1")["commChannels"]
    )
    assert after["loyaltyProgramDetails"][0]["tierExpiryDate"] is None
    assert len(history(client, cid)) == len(entries) + 1  # the enrolment only


def test_spec_5_4_empty_values_alone_write_nothing(client: TestClient) -> None:
    cid = register(client, extendedFields={"gender": "Female"})
    entries = history(client, cid)
    response = update(client, {"extendedFields": {"gender": ""}})
    assert response.status_code == 200, response.text
    assert codes(response, "warnings") == [8412]
    assert fields_of(response, "warnings") == ["extendedFields.gender"]
    assert history(client, cid) == entries
    assert details(client, cid)["extendedFields"] == {"gender": "Female"}


def test_spec_5_4_null_still_clears_where_empty_does_not(client: TestClient) -> None:
    cid = register(client, extendedFields={"gender": "Female", "dob": "1990-02-28"})
    response = update(client, {"extendedFields": {"gender": None, "dob": ""}})
    assert response.status_code == 200, response.text
    assert details(client, cid)["extendedFields"] == {"dob": "1990-02-28"}


def test_spec_5_4_null_clears_last_viewed_date_where_empty_does_not(client: TestClient) -> None:
    cid = _push_customer(client, lastViewedDate="2019-10-25", residence=True)

    def meta() -> Any:
        return the_profile(details(client, cid), "MOBILE_APP", "app1")["commChannels"][0]["meta"]

    empty = {"commChannels": [{"type": "mobilePush", "value": "tok", "lastViewedDate": ""}]}
    assert update(client, empty, APP).status_code == 200
    assert meta() == {"lastViewedDate": "2019-10-25", "residence": True}
    cleared = {
        "commChannels": [{"type": "mobilePush", "value": "tok", "meta": {"lastViewedDate": None}}]
    }
    response = update(client, cleared, APP)
    assert response.status_code == 200, response.text
    assert meta() == {"residence": True}


def test_spec_5_4_empty_is_not_given_only_for_dates_and_enums(client: TestClient) -> None:
    register(client)
    response = update(client, {"extendedFields": {"children": "", "is_vip": ""}})
    assert response.status_code == 400
    assert sorted(fields_of(response)) == ["extendedFields.children", "extendedFields.is_vip"]


# --- a dropped value is not validated ---------------------------------------------------


def test_spec_5_4_dropped_last_viewed_date_is_not_validated_and_names_the_sent_path(
    client: TestClient,
) -> None:
    cid = register(client)
    body = {
        "profiles": [
            {
                "commChannels": [
                    {"type": "email", "value": "a@example.com"},
                    {
                        "type": "mobile",
                        "value": MOBILE,
                        "meta": {"lastViewedDate": "", "residence": True},
                    },
                    {"type": "wechat", "value": "wx", "lastViewedDate": "not a date"},
                    {
                        "type": "email",
                        "value": "b@example.com",
                        "lastViewedDate": "2019-10-10T22:04:38",
                        "meta": {"lastViewedDate": "2019-13-45"},
                    },
                ]
            }
        ]
    }
    response = update(client, body)
    assert response.status_code == 200, response.text
    assert codes(response, "warnings") == [8403, 8403, 8403, 8403]
    assert fields_of(response, "warnings") == [
        "profiles[0].commChannels[1].meta.lastViewedDate",
        "profiles[0].commChannels[2].lastViewedDate",
        "profiles[0].commChannels[3].lastViewedDate",
        "profiles[0].commChannels[3].meta.lastViewedDate",
    ]
    channels = {c["value"]: c["meta"] for c in the_profile(details(client, cid))["commChannels"]}
    assert channels == {
        "a@example.com": {},
        MOBILE: {"residence": True},
        "wx": {},
        "b@example.com": {},
    }


def test_spec_5_4_points_expiry_without_points_is_dropped_unvalidated(client: TestClient) -> None:
    register(client)
    response = update(
        client, {"loyaltyProgramEnrollments": [{"programId": 1016, "pointsExpiryDate": "soon"}]}
    )
    assert response.status_code == 200, response.text
    assert codes(response, "warnings") == [8405]
    assert count_rows(client, "points_ledger") == 0


def test_spec_5_4_lookup_as_capillary_clients_write_it(client: TestClient) -> None:
    cid = register(client, profile(identifiers=[{"type": "cardnumber", "value": "GOLD4000"}]))
    for params in (
        {"source": "instore", "identifierName": "cardNumber", "identifierValue": "GOLD4000"},
        {
            "source": "instore",
            "accountId": "",
            "identifierName": "CARDNUMBER",
            "identifierValue": "GOLD4000",
        },
    ):
        found = client.get("/v2/customers/lookup/customerDetails", params=params, headers=ACME_AUTH)
        assert found.status_code == 200, (params, found.text)
        assert found.json()["id"] == cid
    refused = client.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "card", "identifierValue": "GOLD4000"},
        headers=ACME_AUTH,
    )
    assert refused.status_code == 400
    assert codes(refused) == [8013]
    assert fields_of(refused) == ["identifierName"]
