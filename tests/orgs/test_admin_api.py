"""The admin API: PUT and GET /admin/orgs/{orgCode} (SPEC section 3)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from patron import errors
from patron.app import create_app
from patron.orgs.passwords import md5_hex, verify_secret
from patron.orgs.schema import OrgView
from tests.conftest import ADMIN, GLOBEX, make_settings, new_org_code
from tests.orgs.support import (
    PASSWORD,
    SECRET,
    applied,
    get,
    hashes,
    keys_anywhere,
    org_row,
    problems,
    put,
    small_doc,
)

NOT_ADMIN = {
    "no header": {},
    "wrong token": {"Authorization": "Bearer not-the-token"},
    "basic scheme": {"Authorization": "Basic dGVzdC1hZG1pbi10b2tlbg=="},
    "token without scheme": {"Authorization": "test-admin-token"},
}


@pytest.mark.parametrize("headers", NOT_ADMIN.values(), ids=NOT_ADMIN.keys())
def test_admin_routes_need_the_admin_token(client: TestClient, headers: dict[str, str]) -> None:
    code = new_org_code()
    for response in (
        client.put(f"/admin/orgs/{code}", json=small_doc(code), headers=headers),
        client.get("/admin/orgs/acme", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json() == {
            "errors": [
                {
                    "code": errors.UNAUTHORIZED.code,
                    "message": response.json()["errors"][0]["message"],
                    "status": False,
                }
            ],
            "warnings": [],
        }
    assert get(client, code).status_code == 404  # nothing was created


def test_admin_api_is_closed_without_a_configured_token(database_url: str) -> None:
    app = create_app(make_settings(database_url, admin_token=None))
    with TestClient(app) as client:
        response = client.get("/admin/orgs/acme", headers=ADMIN)
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == errors.UNAUTHORIZED.code


def test_create_then_get_round_trip_without_secrets(client: TestClient) -> None:
    code = new_org_code()
    created = applied(client, code, small_doc(code))
    fetched = get(client, code)
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert created == {
        "orgCode": code,
        "configVersion": 1,
        "name": f"Org {code}",
        "defaultCountry": "IN",
        "strictFields": True,
        "sources": [{"source": "INSTORE"}, {"source": "WECHAT", "accounts": ["wc_main"]}],
        "tills": [{"code": f"{code}.till"}],
        "oauthClients": [{"key": f"{code}-backend", "till": f"{code}.till"}],
        "extendedFields": [
            {"name": "gender", "dataType": "STANDARD_ENUM", "values": ["Male", "Female"]},
            {"name": "city", "dataType": "STRING"},
        ],
        "customFields": [
            {"name": "employee", "dataType": "STRING"},
            {"name": "shoe_size", "dataType": "INTEGER"},
        ],
        "programs": [
            {
                "programId": 1016,
                "name": "Rewards",
                "default": True,
                "tiers": [
                    {"number": 1, "name": "Silver"},
                    {"number": 2, "name": "Gold"},
                    {"number": 3, "name": "Platinum"},
                ],
            }
        ],
        "subscriptionDefaults": {"TRANS": "OPTIN", "BULK": "OPTIN"},
        "consoleUsers": [{"login": f"{code}.agent", "role": "editor"}],
    }
    OrgView.model_validate(created)  # the documented response model describes it
    assert not {"password", "secret", "passwordHash", "secretHash"} & set(keys_anywhere(created))
    assert PASSWORD not in fetched.text and SECRET not in fetched.text


def test_secrets_are_stored_as_argon2_hashes(client: TestClient) -> None:
    code = new_org_code()
    applied(client, code, small_doc(code))
    stored = hashes(client, code)
    till_hash, client_hash = stored[f"{code}.till"], stored[f"{code}-backend"]
    assert till_hash.startswith("$argon2") and client_hash.startswith("$argon2")
    # A till's hash is of the md5 hex a client sends; an OAuth secret's is of the secret.
    assert verify_secret(till_hash, md5_hex(PASSWORD))
    assert not verify_secret(till_hash, PASSWORD)
    assert verify_secret(client_hash, SECRET)


def test_reapplying_the_same_document_changes_nothing(client: TestClient) -> None:
    code = new_org_code()
    doc = small_doc(code)
    first = applied(client, code, doc)
    row, stored = org_row(client, code), hashes(client, code)
    again = applied(client, code, doc)
    assert again == first
    assert again["configVersion"] == 1
    assert org_row(client, code) == row  # not even updated_at moved
    assert hashes(client, code) == stored  # the hashes were kept, not re-salted


def test_order_of_tills_sources_and_programs_is_not_a_change(client: TestClient) -> None:
    code = new_org_code()
    doc = small_doc(code)
    doc["tills"].append({"code": f"{code}.a-till", "password": PASSWORD})
    doc["sources"].append({"source": "ECOMMERCE"})
    applied(client, code, doc)
    doc["tills"].reverse()
    doc["sources"].reverse()
    answer = applied(client, code, doc)
    assert answer["configVersion"] == 1
    # Shown in a fixed order: sources as SPEC lists them, tills sorted.
    assert [s["source"] for s in answer["sources"]] == ["INSTORE", "WECHAT", "ECOMMERCE"]
    assert [t["code"] for t in answer["tills"]] == [f"{code}.a-till", f"{code}.till"]


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Renamed"},
        {"defaultCountry": "US"},
        {"strictFields": False},
        {"sources": [{"source": "INSTORE"}, {"source": "WECHAT", "accounts": ["wc_main", "wc_x"]}]},
        {"tills": [{"code": "{code}.till", "password": "another-password"}], "oauthClients": []},
        {"extendedFields": [{"name": "city", "dataType": "STRING"}]},
        {"customFields": [{"name": "shoe_size", "dataType": "INTEGER"}, {"name": "employee"}]},
        {
            "programs": [
                {"programId": 1016, "name": "Rewards", "tiers": [{"number": 1, "name": "Silver"}]}
            ]
        },
    ],
    ids=["name", "country", "strict", "accounts", "password", "fields", "field order", "tiers"],
)
def test_every_real_change_bumps_the_version_by_one(
    client: TestClient, change: dict[str, object]
) -> None:
    code = new_org_code()
    applied(client, code, small_doc(code))
    changed = small_doc(code, **{k: _named(v, code) for k, v in change.items()})
    answer = applied(client, code, changed)
    assert answer["configVersion"] == 2
    assert get(client, code).json() == answer
    assert applied(client, code, changed)["configVersion"] == 2
    for key in change:
        if key not in ("tills", "oauthClients"):
            assert _shown(answer[key]) == _shown(changed[key])


def _named(value: object, code: str) -> object:
    if isinstance(value, list):
        return [
            {k: v.replace("{code}", code) if isinstance(v, str) else v for k, v in d.items()}
            for d in value
        ]
    return value


def _shown(value: object) -> object:
    # GET always shows a custom field's dataType and a program's default flag.
    if isinstance(value, list):
        return [
            {
                k: v
                for k, v in d.items()
                if not (k == "dataType" and v == "STRING") and not (k == "default" and v is False)
            }
            for d in value
        ]
    return value


def test_changing_a_password_replaces_its_hash(client: TestClient) -> None:
    code = new_org_code()
    applied(client, code, small_doc(code))
    old = hashes(client, code)[f"{code}.till"]
    doc = small_doc(code, tills=[{"code": f"{code}.till", "password": "a-new-password"}])
    applied(client, code, doc)
    new = hashes(client, code)[f"{code}.till"]
    assert new != old
    assert verify_secret(new, md5_hex("a-new-password"))
    assert not verify_secret(new, md5_hex(PASSWORD))


def test_the_process_serves_the_new_configuration_at_once(client: TestClient) -> None:
    code = new_org_code()
    applied(client, code, small_doc(code))
    applied(client, code, small_doc(code, name="Renamed"))
    cache = client.app.state.orgs  # type: ignore[attr-defined]
    assert client.portal is not None
    config = client.portal.call(cache.get, code)
    assert (config.name, config.version) == ("Renamed", 2)


def test_two_orgs_may_use_the_same_program_id(client: TestClient) -> None:
    assert get(client, "globex").json()["programs"][0]["programId"] == 1016
    assert get(client, "acme").json()["programs"][0]["programId"] == 1016
    assert GLOBEX["programs"][0]["programId"] == 1016


def test_unknown_org_is_404(client: TestClient) -> None:
    response = get(client, new_org_code())
    assert response.status_code == 404
    assert problems(response) == [(errors.ORG_NOT_FOUND.code, "orgCode")]


@pytest.mark.parametrize("code", ["Acme", "-acme", ".acme", "a" * 65, "acme!", "ac me", "ác"])
def test_bad_org_code_is_400(client: TestClient, code: str) -> None:
    put_response = put(client, code, small_doc("x"))
    get_response = get(client, code)
    for response in (put_response, get_response):
        assert response.status_code == 400, response.text
        assert problems(response) == [(errors.INVALID_ORG_CODE.code, "orgCode")]


def test_longest_org_code_is_accepted(client: TestClient) -> None:
    code = "9" + new_org_code()[:10] + "x" * 53
    assert len(code) == 64
    assert applied(client, code, small_doc(code[:20]))["orgCode"] == code


def test_bad_org_code_and_bad_document_are_reported_together(client: TestClient) -> None:
    response = put(client, "BAD", small_doc("x", name=""))
    assert response.status_code == 400
    assert problems(response) == [
        (errors.INVALID_ORG_CODE.code, "orgCode"),
        (errors.INVALID_ORG_DOCUMENT.code, "name"),
    ]


def test_body_may_name_its_org(client: TestClient) -> None:
    code = new_org_code()
    assert applied(client, code, {"orgCode": code, **small_doc(code)})["orgCode"] == code
    other = put(client, code, {"orgCode": "someone-else", **small_doc(code)})
    assert other.status_code == 400
    assert problems(other) == [(errors.INVALID_ORG_CODE.code, "orgCode")]


def test_body_not_sent_as_json_is_415(client: TestClient) -> None:
    code = new_org_code()
    response = client.put(
        f"/admin/orgs/{code}", content=b"name: x", headers={**ADMIN, "Content-Type": "text/yaml"}
    )
    assert response.status_code == 415
    assert problems(response) == [(errors.UNSUPPORTED_MEDIA_TYPE.code, None)]


def test_malformed_json_is_400(client: TestClient) -> None:
    code = new_org_code()
    response = client.put(
        f"/admin/orgs/{code}",
        content=b'{"name": ',
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert problems(response) == [(errors.MALFORMED_JSON.code, None)]
    assert get(client, code).status_code == 404


def test_body_that_is_not_an_object_is_400(client: TestClient) -> None:
    response = put(client, new_org_code(), [small_doc("x")])
    assert response.status_code == 400
    assert problems(response) == [(errors.WRONG_TYPE.code, None)]


def test_body_over_64_kib_is_413(client: TestClient) -> None:
    response = put(client, new_org_code(), small_doc("x", name="x" * 70_000))
    assert response.status_code == 413
    assert problems(response) == [(errors.BODY_TOO_LARGE.code, None)]


def test_openapi_documents_the_admin_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/admin/orgs/{orgCode}"]
    body = route["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/OrgDocument")
    document = spec["components"]["schemas"]["OrgDocument"]
    assert {
        "name",
        "defaultCountry",
        "strictFields",
        "sources",
        "tills",
        "oauthClients",
        "extendedFields",
        "customFields",
        "programs",
        "subscriptionDefaults",
        "consoleUsers",
    } == set(document["properties"])
    assert document["additionalProperties"] is False
    assert route["put"]["description"] and route["get"]["description"]
    assert {"200", "400", "401", "409"} <= set(route["put"]["responses"])
    assert {"200", "401", "404"} <= set(route["get"]["responses"])
    assert {p["name"] for p in route["get"]["parameters"]} == {"orgCode"}
