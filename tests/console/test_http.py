"""The console over plain HTTP: sessions, CSRF, roles, headers, and edits through the service."""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from patron import errors
from patron.console.pages import CSP
from patron.console.sessions import COOKIE
from tests.conftest import ADMIN, table_counts
from tests.console.support import (
    CARE,
    CARE_AUTH,
    EDITOR,
    EDITOR_2,
    OTHER_AUTH,
    OTHER_EDITOR,
    VIEWER,
    Console,
    care_doc,
    edit_form,
    register_care,
    sign_in,
)
from tests.security.support import from_address, own_app

PAGES = ("/console", "/console/customers/{id}", "/console/customers/{id}/edit?profile=INSTORE")
POSTS = (
    "/console/sign-out",
    "/console/customers/{id}/edit",
    "/console/customers/{id}/consent",
    "/console/customers/{id}/identifier",
)


def _details(client: TestClient, customer_id: int) -> dict[str, object]:
    response = client.get(f"/v2/customers/{customer_id}", headers=CARE_AUTH)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def test_no_console_route_answers_without_a_session(care: TestClient) -> None:
    cid = register_care(care)
    forged = {"Cookie": f"{COOKIE}=eyJvIjoiY2FyZSJ9.AAAA"}
    for headers in ({}, forged):
        for path in PAGES:
            response = care.get(path.format(id=cid), headers=headers, follow_redirects=False)
            assert (response.status_code, response.headers["location"]) == (
                303,
                "/console/sign-in",
            ), path
            assert "919999000001" not in response.text
        for path in POSTS:
            response = care.post(
                path.format(id=cid),
                data={"firstName": "X"},
                headers=headers,
                follow_redirects=False,
            )
            assert response.status_code == 303, path
    assert _details(care, cid)["profiles"][0]["firstName"] is None  # type: ignore[index]


def test_the_session_cookie_is_signed_httponly_strict_and_expires(care: TestClient) -> None:
    response = care.post(
        "/console/sign-in",
        data={"login": EDITOR[0].upper(), "password": EDITOR[1]},  # logins ignore case
        follow_redirects=False,
    )
    care.cookies.clear()
    assert (response.status_code, response.headers["location"]) == (303, "/console")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console", "max-age=28800"} <= flags


def test_a_session_past_its_lifetime_is_no_session(care: TestClient) -> None:
    cid = register_care(care)
    codec = care.app.state.console_sessions  # type: ignore[attr-defined]
    config_hash = _password_hash(care, EDITOR[0])
    lifetime = codec.ttl_seconds
    fresh = Console(
        care, codec.issue(CARE, EDITOR[0], config_hash, now=time.time() - lifetime + 30)
    )
    expired = Console(
        care, codec.issue(CARE, EDITOR[0], config_hash, now=time.time() - lifetime - 1)
    )
    assert fresh.get(f"/console/customers/{cid}").status_code == 200
    response = expired.get(f"/console/customers/{cid}")
    assert (response.status_code, response.headers["location"]) == (303, "/console/sign-in")


def _password_hash(client: TestClient, login: str) -> str:
    orgs = client.app.state.orgs  # type: ignore[attr-defined]
    config = client.portal.call(orgs.get, CARE)  # type: ignore[union-attr]
    user = config.console_user(login)
    assert user is not None
    return str(user.password_hash)


def test_a_changed_password_ends_the_session(care: TestClient) -> None:
    console = sign_in(care, EDITOR)
    assert console.get("/console").status_code == 200
    doc = care_doc()
    doc["consoleUsers"][0]["password"] = "a-new-editor-pass"
    try:
        assert care.put(f"/admin/orgs/{CARE}", json=doc, headers=ADMIN).status_code == 200
        assert console.get("/console").status_code == 303
    finally:
        care.put(f"/admin/orgs/{CARE}", json=care_doc(), headers=ADMIN)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_this_sessions_csrf_token_is_refused(
    care: TestClient, token: str | None
) -> None:
    cid = register_care(care)
    console = sign_in(care, EDITOR)
    other = sign_in(care, EDITOR_2)
    form = edit_form(console, cid)
    form["firstName"] = "Forged"
    form["action"] = "save"
    tokens = [other.csrf()] if token is None else [token]  # another session's token, or junk
    for csrf in tokens:
        form["csrf"] = csrf
        before = table_counts(care)
        response = console.post(f"/console/customers/{cid}/edit", form)
        assert response.status_code == 403
        assert f"({errors.CONSOLE_CSRF.code})" in response.text
        assert table_counts(care) == before
    del form["csrf"]
    assert console.post(f"/console/customers/{cid}/edit", form).status_code == 403
    response = console.post("/console/sign-out", {})
    assert response.status_code == 403  # sign-out is a form like any other
    assert _details(care, cid)["profiles"][0]["firstName"] is None  # type: ignore[index]


def test_a_viewers_edit_is_refused_by_the_server(care: TestClient) -> None:
    cid = register_care(care)
    editor_form = edit_form(sign_in(care, EDITOR), cid)
    viewer = sign_in(care, VIEWER)
    page = viewer.get(f"/console/customers/{cid}")
    assert page.status_code == 200 and "/edit" not in page.text
    assert viewer.get(f"/console/customers/{cid}/edit", profile="INSTORE").status_code == 403
    before = table_counts(care)
    form = {**editor_form, "csrf": viewer.csrf(), "firstName": "Viewer", "action": "save"}
    response = viewer.post(f"/console/customers/{cid}/edit", form)
    assert response.status_code == 403
    assert f"({errors.CONSOLE_FORBIDDEN.code})" in response.text
    assert table_counts(care) == before


def test_every_page_forbids_inline_scripts(care: TestClient) -> None:
    cid = register_care(care, firstName="<script>alert(1)</script>")
    console = sign_in(care, EDITOR)
    sign_in_page = care.get("/console/sign-in")
    pages = [
        sign_in_page,
        console.get("/console"),
        console.get(f"/console/customers/{cid}"),
        console.get(f"/console/customers/{cid}/edit", profile="INSTORE"),
    ]
    for page in pages:
        assert page.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert page.headers["x-frame-options"] == "DENY"
        scripts = re.findall(r"<script[^>]*>", page.text)
        assert scripts == ['<script src="/console/static/htmx.min.js" defer>']
        assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[2].text


def test_preview_lists_the_changes_and_stores_nothing_then_save_applies_them(
    care: TestClient,
) -> None:
    cid = register_care(care)
    console = sign_in(care, EDITOR)
    form = edit_form(console, cid)
    form.update({"firstName": "Tom", "ext.city": "Pune", "action": "preview"})
    before = table_counts(care)
    preview = console.post(f"/console/customers/{cid}/edit", form)
    assert preview.status_code == 200
    paths = re.findall(r'<td class="path">([^<]*)</td>', preview.text)
    assert paths == ["profiles[INSTORE].firstName", "extendedFields.city"]
    assert table_counts(care) == before
    form["action"] = "save"
    saved = console.post(f"/console/customers/{cid}/edit", form)
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        f"/console/customers/{cid}?saved=1",
    )
    details = _details(care, cid)
    assert details["profiles"][0]["firstName"] == "Tom"  # type: ignore[index]
    assert details["extendedFields"] == {"city": "Pune"}
    history = care.get(f"/v2/customers/{cid}/changes", headers=CARE_AUTH).json()["data"]
    assert history[0]["by"] == {"code": EDITOR[0], "type": "CONSOLE_USER"}
    assert [c["path"] for c in history[0]["changes"]] == paths


def test_a_save_over_a_newer_version_is_refused_with_a_reload(care: TestClient) -> None:
    cid = register_care(care)
    first, second = sign_in(care, EDITOR), sign_in(care, EDITOR_2)
    form_1, form_2 = edit_form(first, cid), edit_form(second, cid)
    form_1.update({"firstName": "First", "action": "save"})
    assert first.post(f"/console/customers/{cid}/edit", form_1).status_code == 303
    form_2.update({"lastName": "Second", "action": "save"})
    response = second.post(f"/console/customers/{cid}/edit", form_2)
    assert response.status_code == 412
    assert "changed by someone else since you opened it" in response.text
    assert f'href="/console/customers/{cid}/edit?profile=INSTORE"' in response.text
    profile = _details(care, cid)["profiles"][0]  # type: ignore[index]
    assert (profile["firstName"], profile["lastName"]) == ("First", None)  # type: ignore[index]


def test_errors_of_the_catalogue_appear_next_to_their_inputs(care: TestClient) -> None:
    cid = register_care(care)
    console = sign_in(care, EDITOR)
    form = edit_form(console, cid)
    form.update(
        {
            "field.shoe_size": "large",
            "ext.children": "two",
            "newChannel.type": "mobile",
            "newChannel.value": "12",
            "action": "save",
        }
    )
    response = console.post(f"/console/customers/{cid}/edit", form)
    assert response.status_code == 400
    found = re.findall(
        r'data-testid="error-([^"]+)">[^<]*<span class="code">\((\d+)\)', response.text
    )
    assert sorted(found) == sorted(
        [
            ("ext.children", str(errors.INVALID_FIELD_VALUE.code)),
            ("field.shoe_size", str(errors.INVALID_FIELD_VALUE.code)),
            ("newChannel", str(errors.INVALID_MOBILE_CHANNEL.code)),
        ]
    )
    assert 'value="large"' in response.text  # what was typed is kept


def test_another_orgs_customer_is_not_found(care: TestClient) -> None:
    theirs = register_care(care, auth=OTHER_AUTH)
    ours = sign_in(care, EDITOR)
    for response in (
        ours.get(f"/console/customers/{theirs}"),
        ours.get("/console", id=str(theirs)),
        ours.get("/console", identifierName="mobile", identifierValue="919999000001", source="ALL"),
    ):
        assert response.status_code == 404
        assert f"({errors.CUSTOMER_NOT_FOUND.code})" in response.text
    theirs_console = sign_in(care, OTHER_EDITOR)
    assert theirs_console.get(f"/console/customers/{theirs}").status_code == 200


def test_failed_sign_ins_are_throttled_like_the_api(database_url: str, care: TestClient) -> None:
    with own_app(database_url, limit=3) as own:
        attempt = {"login": VIEWER[0], "password": "wrong-password"}
        address = from_address("198.51.100.7")
        for _ in range(3):
            response = own.http.post("/console/sign-in", data=attempt, headers=address)
            assert response.status_code == 401
        right = {"login": VIEWER[0], "password": VIEWER[1]}
        refused = own.http.post("/console/sign-in", data=right, headers=address)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert f"({errors.AUTH_THROTTLED.code})" in refused.text
        assert COOKIE not in refused.headers.get("set-cookie", "")
        # Counted per (login, address): the same login from another address still signs in.
        elsewhere = own.http.post(
            "/console/sign-in",
            data=right,
            headers=from_address("198.51.100.8"),
            follow_redirects=False,
        )
        assert elsewhere.status_code == 303


def test_the_history_is_paged_newest_first(care: TestClient) -> None:
    cid = register_care(care)
    for n in range(22):
        response = care.put(
            f"/v2/customers/{cid}?source=INSTORE",
            json={"extendedFields": {"children": n}},
            headers=CARE_AUTH,
        )
        assert response.status_code == 200
    console = sign_in(care, VIEWER)
    first = console.get(f"/console/customers/{cid}")
    entries = re.findall(r"<li>", first.text)
    assert len(entries) == 20
    older = re.search(r'href="\?before=(\d+)" data-testid="older"', first.text)
    assert older is not None
    second = console.get(f"/console/customers/{cid}", before=older.group(1))
    # 23 entries in all: the registration and 22 updates, the registration last.
    assert len(re.findall(r"<li>", second.text)) == 3
    assert 'data-testid="older"' not in second.text
    assert "profiles[INSTORE].identifiers" in second.text
    assert "profiles[INSTORE].identifiers" not in first.text


def test_loyalty_shows_balances_and_the_points_expiry_schedule(care: TestClient) -> None:
    cid = register_care(care)
    enrol = {
        "loyaltyProgramEnrollments": [
            {
                "programId": 1016,
                "tierNumber": 2,
                "loyaltyPoints": 40,
                "pointsExpiryDate": "2031-01-15T10:00:00Z",
            },
            {"programId": 2020, "loyaltyPoints": 5},
        ]
    }
    assert (
        care.put(f"/v2/customers/{cid}?source=INSTORE", json=enrol, headers=CARE_AUTH).status_code
        == 200
    )
    page = sign_in(care, VIEWER).get(f"/console/customers/{cid}")
    rows = re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>[^<]*</td><td>([^<]*)</td>"
        r'<td class="points">(\d+)</td>',
        page.text,
    )
    assert rows == [
        ("Acme Rewards (1016)", "Gold (2)", "Platinum", "40"),
        ("Acme Kids (2020)", "Starter (1)", "top tier", "5"),
    ]
    schedule = page.text.split('data-testid="expiry-schedule"')[1].split("</table>")[0]
    assert re.findall(r"<td>([^<]*)</td>", schedule) == ["2031-01-15", "Acme Rewards (1016)", "40"]


def test_a_profile_with_an_account_is_edited_in_its_own_source_and_account(
    care: TestClient,
) -> None:
    cid = register_care(care, source="WECHAT", accountId="wc_main")
    console = sign_in(care, EDITOR)
    page = console.get(f"/console/customers/{cid}")
    assert f'href="/console/customers/{cid}/edit?profile=WECHAT/wc_main"' in page.text
    form = edit_form(console, cid, profile="WECHAT/wc_main")
    assert form["profile"] == "WECHAT/wc_main"
    form.update({"firstName": "Wei", "action": "save"})
    assert console.post(f"/console/customers/{cid}/edit", form).status_code == 303
    response = care.get(
        f"/v2/customers/{cid}",
        params={"source": "WECHAT", "accountId": "wc_main"},
        headers=CARE_AUTH,
    )
    assert response.json()["profiles"][0]["firstName"] == "Wei"
    # A profile the org does not have is never edited: the form goes back to the customer.
    assert console.get(f"/console/customers/{cid}/edit", profile="WECHAT/nope").status_code == 303


def _consent_form(console: Console, cid: int, channel: str, priority: str) -> dict[str, str]:
    page = console.get(f"/console/customers/{cid}")
    row = page.text.split(f'data-testid="consent-{channel}-{priority}"')[1].split("</tr>")[0]
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', row))


def test_an_opt_out_is_previewed_then_saved_through_the_consent_service(
    care: TestClient,
) -> None:
    cid = register_care(care)
    console = sign_in(care, EDITOR)
    form = _consent_form(console, cid, "SMS", "BULK")
    assert (form["type"], form["version"]) == ("OPTOUT", "1")
    before = table_counts(care)
    preview = console.post(f"/console/customers/{cid}/consent", form)
    assert preview.status_code == 200
    paths = re.findall(r'<td class="path">([^<]*)</td>', preview.text)
    assert paths == ["subscriptions[SMS:BULK]"]
    assert table_counts(care) == before
    saved_form = {**_confirm_form(preview.text), "action": "save"}
    response = console.post(f"/console/customers/{cid}/consent", saved_form)
    assert (response.status_code, response.headers["location"]) == (
        303,
        f"/console/customers/{cid}?saved=1",
    )
    states = care.get(f"/v2/customers/{cid}/subscriptions", headers=CARE_AUTH).json()
    assert {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"} in states["subscriptions"]
    history = care.get(f"/v2/customers/{cid}/changes", headers=CARE_AUTH).json()["data"]
    assert history[0]["by"] == {"code": EDITOR[0], "type": "CONSOLE_USER"}
    assert [c["path"] for c in history[0]["changes"]] == paths
    # The same form again is stale (the customer's version moved on): nothing is changed.
    again = console.post(f"/console/customers/{cid}/consent", saved_form)
    assert again.status_code == 412
    assert "changed by someone else since you opened it" in again.text
    assert f'href="/console/customers/{cid}" data-testid="reload"' in again.text


def test_a_viewer_sees_consent_but_cannot_change_it(care: TestClient) -> None:
    cid = register_care(care)
    editor_form = _consent_form(sign_in(care, EDITOR), cid, "EMAIL", "BULK")
    viewer = sign_in(care, VIEWER)
    page = viewer.get(f"/console/customers/{cid}")
    assert 'data-testid="consent-EMAIL-BULK"' in page.text and "Opt out" not in page.text
    before = table_counts(care)
    response = viewer.post(
        f"/console/customers/{cid}/consent", {**editor_form, "csrf": viewer.csrf()}
    )
    assert response.status_code == 403
    assert f"({errors.CONSOLE_FORBIDDEN.code})" in response.text
    assert table_counts(care) == before


def _identifier_form(console: Console, cid: int, id_type: str) -> dict[str, str]:
    page = console.get(f"/console/customers/{cid}")
    row = page.text.split(f'data-testid="identifier-{id_type}"')[1].split("</tr>")[0]
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', row))


def _confirm_form(html: str) -> dict[str, str]:
    """The hidden fields a preview page's Save button posts."""
    form = html.split('data-testid="confirm-form"')[1].split("</form>")[0]
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))


def test_a_mobile_replacement_is_previewed_then_saved_through_change_identifier(
    care: TestClient,
) -> None:
    cid = register_care(care)
    console = sign_in(care, EDITOR)
    form = _identifier_form(console, cid, "mobile")
    assert (form["old"], form["profile"]) == ("919999000001", "INSTORE")
    before = table_counts(care)
    preview = console.post(
        f"/console/customers/{cid}/identifier", {**form, "new": "+91 99990-00002"}
    )
    assert preview.status_code == 200
    paths = re.findall(r'<td class="path">([^<]*)</td>', preview.text)
    assert "profiles[INSTORE].identifiers[mobile:919999000001]" in paths
    assert table_counts(care) == before
    assert _details(care, cid)["profiles"][0]["identifiers"] == [  # type: ignore[index]
        {"type": "mobile", "value": "919999000001"}
    ]
    response = console.post(
        f"/console/customers/{cid}/identifier", {**_confirm_form(preview.text), "action": "save"}
    )
    assert (response.status_code, response.headers["location"]) == (
        303,
        f"/console/customers/{cid}?saved=1",
    )
    details = _details(care, cid)
    assert details["profiles"][0]["identifiers"] == [  # type: ignore[index]
        {"type": "mobile", "value": "919999000002"}
    ]
    history = care.get(f"/v2/customers/{cid}/changes", headers=CARE_AUTH).json()["data"]
    assert history[0]["by"] == {"code": EDITOR[0], "type": "CONSOLE_USER"}
    assert [c["path"] for c in history[0]["changes"]] == paths
    # The old number is free again: another customer may register it.
    assert register_care(care) != cid
    # An invalid number is refused with its catalogue code at the preview, and nothing changes.
    again = console.post(
        f"/console/customers/{cid}/identifier",
        {**_identifier_form(console, cid, "mobile"), "new": "12"},
    )
    assert again.status_code == 400
    assert f"({errors.INVALID_MOBILE_IDENTIFIER.code})" in again.text
