"""consoleUsers in the org document: validated, hashed, unique across orgs ignoring case."""

from __future__ import annotations

from starlette.testclient import TestClient

from patron import errors
from patron.db.driver import Connection
from patron.orgs.passwords import verify_secret
from tests.conftest import new_org_code, run
from tests.orgs.support import PASSWORD, applied, get, problems, put, small_doc

RULE = errors.INVALID_ORG_DOCUMENT.code


def _users(client: TestClient, code: str) -> dict[str, tuple[str, str, str]]:
    async def q(conn: Connection) -> dict[str, tuple[str, str, str]]:
        rows = await conn.fetch(
            "SELECT login, login_key, password_hash, role FROM console_users WHERE org_id = $1",
            code,
        )
        return {r["login"]: (r["login_key"], r["password_hash"], r["role"]) for r in rows}

    return run(client, q)


def test_console_passwords_are_stored_as_argon2_hashes_of_the_password(
    client: TestClient,
) -> None:
    code = new_org_code()
    users = [{"login": f"Care.{code}", "password": "care-pass-123", "role": "viewer"}]
    answer = applied(client, code, small_doc(code, consoleUsers=users))
    assert answer["consoleUsers"] == [{"login": f"Care.{code}", "role": "viewer"}]
    login_key, stored, role = _users(client, code)[f"Care.{code}"]
    assert (login_key, role) == (f"care.{code}", "viewer")
    assert stored.startswith("$argon2") and verify_secret(stored, "care-pass-123")
    # Applying the same document again keeps the hash (no re-salting) and changes nothing.
    again = applied(client, code, small_doc(code, consoleUsers=users))
    assert again["configVersion"] == answer["configVersion"]
    assert _users(client, code)[f"Care.{code}"][1] == stored
    assert "password" not in str(get(client, code).json())


def test_console_users_are_validated_with_every_problem_named(client: TestClient) -> None:
    code = new_org_code()
    users = [
        {"login": "has space", "password": PASSWORD, "role": "editor"},
        {"login": "Agent", "password": "short", "role": "admin"},
        {"login": "agent", "password": PASSWORD, "role": "viewer"},
    ]
    response = put(client, code, small_doc(code, consoleUsers=users))
    assert response.status_code == 400
    assert problems(response) == [
        (RULE, "consoleUsers[0].login"),
        (RULE, "consoleUsers[1].password"),
        (RULE, "consoleUsers[1].role"),
        (RULE, "consoleUsers[2].login"),  # "agent" repeats "Agent", ignoring case
    ]


def test_a_console_login_of_another_org_is_409_whatever_its_case(client: TestClient) -> None:
    first, second = new_org_code(), new_org_code()
    login = f"desk.{first}"
    applied(
        client,
        first,
        small_doc(first, consoleUsers=[{"login": login, "password": PASSWORD, "role": "editor"}]),
    )
    doc = small_doc(
        second, consoleUsers=[{"login": login.upper(), "password": PASSWORD, "role": "viewer"}]
    )
    response = put(client, second, doc)
    assert response.status_code == 409
    assert problems(response) == [(errors.CREDENTIAL_TAKEN.code, "consoleUsers[0].login")]
    assert get(client, second).status_code == 404  # nothing was created
