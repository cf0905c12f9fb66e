"""SPEC 10.3: points and tiers, computed from the points ledger at the time of the request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.builders import MOBILE, codes, lookup_params, profile, register
from tests.conftest import ACME_AUTH, GLOBEX_AUTH
from tests.customers.ledger import credit

TIER_EXPIRY = "2099-02-11T16:36:17+05:30"
POINTS_EXPIRY = "2099-03-01T10:00:00+05:30"


def _enrolled(client: TestClient, *enrolments: dict[str, Any], mobile: str = MOBILE) -> int:
    return register(
        client,
        profile(mobile=mobile),
        loyaltyType="loyalty",
        loyaltyProgramEnrollments=list(enrolments),
    )


def _loyalty(client: TestClient, customer_id: int | str, **params: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/v2/customers/{customer_id}/loyaltyDetails", params=params, headers=ACME_AUTH
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["warnings"] == [] and body["errors"] == []
    return list(body["data"])


def _ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def _ahead(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def test_points_loyalty_details_sum_the_ledger_now(client: TestClient) -> None:
    cid = _enrolled(
        client,
        {
            "programId": 1016,
            "tierNumber": 2,
            "loyaltyPoints": 75,
            "tierExpiryDate": TIER_EXPIRY,
            "pointsExpiryDate": POINTS_EXPIRY,
        },
    )
    credit(client, cid, 1016, [(20, _ago(3)), (5, _ago(1))])
    assert _loyalty(client, cid) == [
        {
            "programId": 1016,
            "loyaltyPoints": 75.0,
            "lifetimePoints": 100.0,
            "expired": 25.0,
            "redeemed": 0.0,
            "returned": 0.0,
            "adjusted": 0.0,
            "cumulativePurchases": 0.0,
            "currentSlab": "Gold",
            "slabSNo": 2,
            "slabExpiryDate": TIER_EXPIRY,
            "nextSlab": "Platinum",
            "nextSlabSerialNumber": 3,
            "nextSlabDescription": "Platinum",
        }
    ]


def test_points_credit_leaves_balance_once_expired(client: TestClient) -> None:
    cid = _enrolled(client, {"programId": 1016})
    # Just expired, about to expire, and never expiring: only the first is out of the balance.
    credit(client, cid, 1016, [(7, _ago(0)), (11, _ahead(1)), (13, None)])
    (entry,) = _loyalty(client, cid)
    assert (entry["loyaltyPoints"], entry["lifetimePoints"], entry["expired"]) == (24.0, 31.0, 7.0)


def test_points_top_tier_has_no_next_slab(client: TestClient) -> None:
    cid = _enrolled(client, {"programId": 1016, "tierNumber": 3})
    (entry,) = _loyalty(client, cid)
    assert entry["currentSlab"] == "Platinum" and entry["slabSNo"] == 3
    assert entry["nextSlab"] == "" and entry["nextSlabDescription"] == ""
    assert entry["nextSlabSerialNumber"] == -1


def test_points_slab_expiry_is_null_when_the_tier_does_not_expire(client: TestClient) -> None:
    cid = _enrolled(client, {"programId": 1016})
    (entry,) = _loyalty(client, cid)
    assert entry["slabExpiryDate"] is None
    assert (entry["currentSlab"], entry["nextSlab"], entry["nextSlabSerialNumber"]) == (
        "Silver",
        "Gold",
        2,
    )


def test_points_one_entry_per_enrolled_program(client: TestClient) -> None:
    cid = _enrolled(
        client,
        {"programId": 2020, "loyaltyPoints": 5, "pointsExpiryDate": POINTS_EXPIRY},
        {"programId": 1016, "tierNumber": 2},
    )
    data = _loyalty(client, cid)
    assert [(e["programId"], e["loyaltyPoints"]) for e in data] == [(1016, 0.0), (2020, 5.0)]
    assert data[1]["currentSlab"] == "Starter" and data[1]["nextSlabSerialNumber"] == -1
    assert [e["programId"] for e in _loyalty(client, cid, programId="2020")] == [2020]
    assert _loyalty(client, cid, programId="3030") == []


def test_points_bad_program_id_is_400(client: TestClient) -> None:
    cid = _enrolled(client, {"programId": 1016})
    response = client.get(
        f"/v2/customers/{cid}/loyaltyDetails", params={"programId": "x"}, headers=ACME_AUTH
    )
    assert response.status_code == 400
    assert codes(response) == [8107]


def test_points_customer_not_enrolled_has_no_entries(client: TestClient) -> None:
    cid = register(client, profile())
    assert _loyalty(client, cid) == []


def test_points_loyalty_details_by_lookup(client: TestClient) -> None:
    cid = _enrolled(
        client, {"programId": 1016, "loyaltyPoints": 40, "pointsExpiryDate": POINTS_EXPIRY}
    )
    for params in (lookup_params(), lookup_params(source="instore"), lookup_params(source="ALL")):
        response = client.get(
            "/v2/customers/lookup/loyaltyDetails", params=params, headers=ACME_AUTH
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"data": _loyalty(client, cid), "warnings": [], "errors": []}


def test_points_lookup_errors_follow_5_1(client: TestClient) -> None:
    _enrolled(client, {"programId": 1016})
    path = "/v2/customers/lookup/loyaltyDetails"
    cases = [
        ({}, 400, 8012),
        (lookup_params(source="NOPE"), 400, 8012),
        (lookup_params(source="WECHAT"), 400, 8045),
        (lookup_params(source="WECHAT", account="nope"), 400, 8011),
        (lookup_params(name="nope"), 400, 8013),
        (lookup_params(value=""), 400, 8013),
        (lookup_params(source="ECOMMERCE"), 404, 8065),
        (lookup_params(value="919999000777"), 404, 8015),
    ]
    for params, status, code in cases:
        response = client.get(path, params=params, headers=ACME_AUTH)
        assert response.status_code == status, (params, response.text)
        assert code in codes(response), (params, response.text)


def test_points_lookup_route_is_not_read_as_customer_id(client: TestClient) -> None:
    response = client.get("/v2/customers/lookup/loyaltyDetails", headers=ACME_AUTH)
    # A missing source (400, 8012), never the unknown customer "lookup" (404, 8015).
    assert response.status_code == 400
    assert 8015 not in codes(response)


def test_points_unknown_or_other_org_customer_is_8015(client: TestClient) -> None:
    cid = _enrolled(client, {"programId": 1016})
    for path in ("loyaltyDetails", "pointsExpirySchedule"):
        for who, target in ((GLOBEX_AUTH, str(cid)), (ACME_AUTH, "987654321"), (ACME_AUTH, "x")):
            response = client.get(f"/v2/customers/{target}/{path}", headers=who)
            assert response.status_code == 404, response.text
            assert codes(response) == [8015]


def test_points_expiry_schedule_lists_unexpired_credits_soonest_first(client: TestClient) -> None:
    cid = _enrolled(
        client,
        {"programId": 1016, "loyaltyPoints": 75, "pointsExpiryDate": "2099-03-01T10:00:00+05:30"},
        {"programId": 2020},
    )
    soon = _ahead(10).replace(hour=12, minute=0, second=0, microsecond=0)
    credit(client, cid, 1016, [(20, _ago(2)), (3, soon), (4, soon + timedelta(hours=1)), (9, None)])
    credit(client, cid, 2020, [(6, soon)])
    response = client.get(f"/v2/customers/{cid}/pointsExpirySchedule", headers=ACME_AUTH)
    assert response.status_code == 200, response.text
    day = soon.date().isoformat()
    regular = {"pointsType": "REGULAR", "expiryType": "fixed"}
    assert response.json() == {
        "id": cid,
        "expirySchedules": [
            {"points": 7.0, "expiryDate": day, "programId": 1016, **regular},
            {"points": 6.0, "expiryDate": day, "programId": 2020, **regular},
            # 10:00 at +05:30 is 04:30 UTC, the same day.
            {"points": 75.0, "expiryDate": "2099-03-01", "programId": 1016, **regular},
        ],
        "warnings": [],
    }


def test_points_expiry_schedule_of_customer_without_credits_is_empty(client: TestClient) -> None:
    cid = register(client, profile())
    response = client.get(f"/v2/customers/{cid}/pointsExpirySchedule", headers=ACME_AUTH)
    assert response.status_code == 200
    assert response.json() == {"id": cid, "expirySchedules": [], "warnings": []}


def test_points_documented_loyalty_details_request_gets_200(client: TestClient) -> None:
    # Capillary's sample request, with the id of a customer of this org.
    cid = _enrolled(client, {"programId": 1016, "tierNumber": 1})
    response = client.get(f"/v2/customers/{cid}/loyaltyDetails", headers=ACME_AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["programId"] == 1016
