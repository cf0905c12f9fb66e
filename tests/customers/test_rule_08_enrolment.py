"""SPEC 6 rule 8: enrolment in loyalty programs, with points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, register, update
from tests.conftest import count_rows, table_counts

FUTURE = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S+05:30")
PAST = "2020-01-01T00:00:00Z"


def test_rule_08_enrol_with_tier_points_and_side_effect(client: TestClient) -> None:
    cid = register(client)
    body = {
        "loyaltyProgramEnrollments": [
            {
                "programId": 1016,
                "tierNumber": 2,
                "loyaltyPoints": 75,
                "tierExpiryDate": FUTURE,
                "pointsExpiryDate": FUTURE,
            }
        ]
    }
    response = update(client, body)
    assert response.status_code == 200, response.text
    assert response.json()["sideEffects"] == [
        {"type": "points", "awardedPoints": 75, "programId": 1016}
    ]
    data = details(client, cid)
    assert data["loyaltyProgramDetails"] == [
        {
            "programId": 1016,
            "tierNumber": 2,
            "tierName": "Gold",
            "tierExpiryDate": FUTURE,
            "loyaltyPoints": 75,
        }
    ]
    assert data["loyaltyInfo"]["loyaltyType"] == "loyalty"  # enrolling makes a customer loyalty
    assert count_rows(client, "points_ledger") == 1


def test_rule_08_without_tier_starts_at_tier_1(client: TestClient) -> None:
    cid = register(client)
    assert update(client, {"loyaltyProgramEnrollments": [{"programId": 2020}]}).status_code == 200
    assert details(client, cid)["loyaltyProgramDetails"][0]["tierNumber"] == 1


def test_rule_08_unknown_program_and_tier_are_400(client: TestClient) -> None:
    register(client)
    response = update(
        client,
        {"loyaltyProgramEnrollments": [{"programId": 9999}, {"programId": 1016, "tierNumber": 7}]},
    )
    assert response.status_code == 400
    assert codes(response) == [8150, 8151]


def test_rule_08_already_enrolled_is_409_and_left_untouched(client: TestClient) -> None:
    cid = register(client)
    update(
        client,
        {"loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": 1, "loyaltyPoints": 10}]},
    )
    counts = table_counts(client)
    response = update(
        client,
        {"loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": 3, "loyaltyPoints": 99}]},
    )
    assert response.status_code == 409
    assert codes(response) == [8152]
    assert table_counts(client) == counts
    program = details(client, cid)["loyaltyProgramDetails"][0]
    assert (program["tierNumber"], program["loyaltyPoints"]) == (1, 10)


def test_rule_08_points_must_be_a_whole_number_of_at_least_zero(client: TestClient) -> None:
    register(client)
    for bad in (-1, 1.5, "1.5", "ten", True):
        response = update(
            client, {"loyaltyProgramEnrollments": [{"programId": 1016, "loyaltyPoints": bad}]}
        )
        assert response.status_code == 400, bad
        assert fields_of(response) == ["loyaltyProgramEnrollments[0].loyaltyPoints"]


def test_rule_08_expiry_dates_must_be_well_formed_and_future(client: TestClient) -> None:
    register(client)
    response = update(
        client,
        {
            "loyaltyProgramEnrollments": [
                {
                    "programId": 1016,
                    "tierExpiryDate": PAST,
                    "loyaltyPoints": 5,
                    "pointsExpiryDate": "2030-01-01",
                }
            ]
        },
    )
    assert response.status_code == 400
    assert codes(response) == [8154, 8136]
    assert fields_of(response) == [
        "loyaltyProgramEnrollments[0].tierExpiryDate",
        "loyaltyProgramEnrollments[0].pointsExpiryDate",
    ]


def test_rule_08_same_program_twice_in_one_request_is_400(client: TestClient) -> None:
    register(client)
    response = update(
        client, {"loyaltyProgramEnrollments": [{"programId": 1016}, {"programId": 1016}]}
    )
    assert response.status_code == 400
    assert codes(response) == [8153]


def test_rule_08_loyalty_registration_without_enrolment_joins_default_program(
    client: TestClient,
) -> None:
    cid = register(client, loyaltyType="loyalty")
    assert details(client, cid)["loyaltyProgramDetails"] == [
        {
            "programId": 1016,
            "tierNumber": 1,
            "tierName": "Silver",
            "tierExpiryDate": None,
            "loyaltyPoints": 0,
        }
    ]


def test_rule_08_enrolling_while_making_non_loyalty_is_refused(client: TestClient) -> None:
    register(client)
    response = update(
        client, {"loyaltyType": "non_loyalty", "loyaltyProgramEnrollments": [{"programId": 1016}]}
    )
    assert response.status_code == 400
    assert codes(response) == [8122]
