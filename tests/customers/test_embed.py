"""SPEC 5 `embed=` on the details routes: points (pointsSummary) and mlp (SPEC 10.3 keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.builders import codes, fields_of, lookup_params, profile, register
from tests.conftest import ACME_AUTH, ADMIN, GLOBEX, GLOBEX_AUTH, acme_doc, basic, new_org_code
from tests.customers.ledger import credit

POINTS_EXPIRY = "2099-03-01T10:00:00+05:30"
TIER_EXPIRY = "2099-02-11T16:36:17+05:30"


def _details(client: TestClient, customer_id: int, embed: str, **params: str) -> dict[str, Any]:
    response = client.get(
        f"/v2/customers/{customer_id}", params={"embed": embed, **params}, headers=ACME_AUTH
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _by_lookup(client: TestClient, embed: str) -> dict[str, Any]:
    response = client.get(
        "/v2/customers/lookup/customerDetails",
        params=lookup_params(embed=embed),
        headers=ACME_AUTH,
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _gold_with_points(client: TestClient) -> int:
    return register(
        client,
        profile(),
        loyaltyProgramEnrollments=[
            {
                "programId": 1016,
                "tierNumber": 2,
                "tierExpiryDate": TIER_EXPIRY,
                "loyaltyPoints": 75,
                "pointsExpiryDate": POINTS_EXPIRY,
            },
            {"programId": 2020},
        ],
    )


def test_embed_points_adds_summary_of_default_program(client: TestClient) -> None:
    cid = _gold_with_points(client)
    for data in (_details(client, cid, "points"), _by_lookup(client, "points")):
        summary = data["pointsSummary"]
        assert summary["programId"] == 1016
        assert (summary["loyaltyPoints"], summary["lifetimePoints"]) == (75.0, 75.0)
        assert (summary["currentSlab"], summary["nextSlab"]) == ("Gold", "Platinum")
        assert data["warnings"] == []


def test_embed_points_counts_expired_credits_apart(client: TestClient) -> None:
    cid = _gold_with_points(client)
    credit(client, cid, 1016, [(25, datetime.now(UTC) - timedelta(days=1))])
    summary = _details(client, cid, "points")["pointsSummary"]
    assert (summary["loyaltyPoints"], summary["lifetimePoints"], summary["expired"]) == (
        75.0,
        100.0,
        25.0,
    )


def test_embed_points_uses_the_only_program_when_not_the_default(client: TestClient) -> None:
    cid = register(client, profile(), loyaltyProgramEnrollments=[{"programId": 2020}])
    assert _details(client, cid, "points")["pointsSummary"]["programId"] == 2020


def test_embed_points_summary_is_null_without_a_program(client: TestClient) -> None:
    cid = register(client, profile())
    assert _details(client, cid, "points")["pointsSummary"] is None


def test_embed_points_summary_is_null_when_no_default_and_several(client: TestClient) -> None:
    code = new_org_code("embed")
    doc = acme_doc(tills=[{"code": f"{code}.till", "password": "s3cret-pass"}], oauthClients=[])
    for program in doc["programs"]:
        program["default"] = False
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    auth = basic(f"{code}.till")
    cid = register(
        client,
        profile(),
        auth=auth,
        loyaltyProgramEnrollments=[{"programId": 1016}, {"programId": 2020}],
    )
    response = client.get(f"/v2/customers/{cid}", params={"embed": "points"}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["pointsSummary"] is None


def test_embed_mlp_merges_tier_and_points_keys(client: TestClient) -> None:
    cid = _gold_with_points(client)
    for data in (_details(client, cid, "mlp"), _by_lookup(client, "MLP")):
        first, second = data["loyaltyProgramDetails"]
        assert first["programId"] == 1016 and first["tierName"] == "Gold"
        assert first["tierExpiryDate"] == TIER_EXPIRY
        assert (first["loyaltyPoints"], first["slabSNo"], first["nextSlabSerialNumber"]) == (
            75.0,
            2,
            3,
        )
        assert first["slabExpiryDate"] == TIER_EXPIRY
        assert second["programId"] == 2020 and second["nextSlabSerialNumber"] == -1
        assert "pointsSummary" not in data


def test_embed_both_values_together(client: TestClient) -> None:
    cid = _gold_with_points(client)
    data = _details(client, cid, " points , mlp ")
    assert data["pointsSummary"]["programId"] == 1016
    assert "lifetimePoints" in data["loyaltyProgramDetails"][0]


def test_embed_absent_adds_nothing(client: TestClient) -> None:
    cid = _gold_with_points(client)
    response = client.get(f"/v2/customers/{cid}", headers=ACME_AUTH)
    data = response.json()
    assert "pointsSummary" not in data
    assert "lifetimePoints" not in data["loyaltyProgramDetails"][0]


def test_embed_unknown_value_is_a_warning_not_an_error(client: TestClient) -> None:
    cid = _gold_with_points(client)
    response = client.get(
        f"/v2/customers/{cid}", params={"embed": "points,expirySchedules"}, headers=ACME_AUTH
    )
    assert response.status_code == 200, response.text
    assert codes(response, "warnings") == [8430]
    assert fields_of(response, "warnings") == ["embed"]
    assert response.json()["pointsSummary"]["programId"] == 1016
    data = _by_lookup(client, "nope")
    assert [w["code"] for w in data["warnings"]] == [8430]


def test_embed_many_unknown_values_are_bounded(client: TestClient) -> None:
    cid = _gold_with_points(client)
    embed = ",".join(f"x{i}" for i in range(50))
    warnings = _details(client, cid, embed)["warnings"]
    assert len(warnings) == 11 and "40 more" in warnings[-1]["message"]


def test_embed_keeps_org_isolation(client: TestClient) -> None:
    assert GLOBEX["programs"][0]["programId"] == 1016  # the same program id in another org
    cid = _gold_with_points(client)
    response = client.get(f"/v2/customers/{cid}", params={"embed": "points"}, headers=GLOBEX_AUTH)
    assert response.status_code == 404
    assert codes(response) == [8015]
