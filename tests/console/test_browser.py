"""The console in a real browser (Debian's Chromium through Playwright) against a live server.

Each test drives pages as a care agent would; the screenshots of docs/console.md are taken here
(`make screenshots`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from starlette.testclient import TestClient

from tests.console.conftest import Screens
from tests.console.support import (
    CARE_AUTH,
    EDITOR,
    EDITOR_2,
    OTHER_AUTH,
    VIEWER,
    register_care,
)

pytestmark = pytest.mark.browser

SCRIPT_NAME = "<script>alert(1)</script>"


def sign_in(page: Page, server: str, login_password: tuple[str, str]) -> None:
    """Sign in through the form and land on the search page."""
    login, password = login_password
    page.goto(f"{server}/console/sign-in")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_contain_text(login)


def test_sign_in_and_sign_out(
    care: TestClient, server: str, new_page: Callable[[], Page], screens: Screens
) -> None:
    page = new_page()
    page.goto(f"{server}/console")
    expect(page).to_have_url(f"{server}/console/sign-in")
    page.get_by_label("Login").fill(EDITOR[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("sign-in-error")).to_contain_text("Wrong login or password")
    screens.take(page, "sign-in")
    sign_in(page, server, EDITOR)
    expect(page.get_by_test_id("who")).to_have_text(f"{EDITOR[0]} (editor) · Acme Retail")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server}/console/sign-in")
    page.goto(f"{server}/console")
    expect(page).to_have_url(f"{server}/console/sign-in")  # the session is gone


def test_a_search_finds_the_customer_or_says_there_is_none(
    care: TestClient, server: str, new_page: Callable[[], Page], screens: Screens
) -> None:
    cid = register_care(care, firstName="Tom", lastName="Sawyer")
    page = new_page()
    sign_in(page, server, VIEWER)
    search = page.get_by_test_id("search-identifier")
    search.get_by_label("Value").fill("919999000002")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("search-error")).to_contain_text(
        "No customer has mobile 919999000002 in any source."
    )
    screens.take(page, "no-match")
    search = page.get_by_test_id("search-identifier")
    search.get_by_label("Value").fill("+91 99990-00001")  # normalised like the API's lookups
    search.get_by_label("Source").select_option("INSTORE")
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(f"{server}/console/customers/{cid}")
    expect(page.get_by_test_id("profile-INSTORE").get_by_test_id("first-name")).to_have_text("Tom")


def test_an_edit_is_previewed_then_saved_and_shows_in_the_history(
    care: TestClient, server: str, new_page: Callable[[], Page], screens: Screens
) -> None:
    cid = register_care(
        care,
        firstName="Tom",
        lastName="Sawyer",
        fields={"employee": "false"},
    )
    enrolled = care.put(
        f"/v2/customers/{cid}?source=INSTORE",
        json={
            "extendedFields": {"city": "Bangalore"},
            "loyaltyProgramEnrollments": [
                {
                    "programId": 1016,
                    "tierNumber": 2,
                    "loyaltyPoints": 75,
                    "pointsExpiryDate": "2031-03-31T12:00:00+05:30",
                }
            ],
        },
        headers=CARE_AUTH,
    )
    assert enrolled.status_code == 200, enrolled.text
    page = new_page()
    sign_in(page, server, EDITOR)
    page.goto(f"{server}/console/customers/{cid}")
    expect(page.get_by_test_id("enrolments")).to_contain_text("Gold (2)")
    expect(page.get_by_test_id("enrolments")).to_contain_text("75")
    expect(page.get_by_test_id("expiry-schedule")).to_contain_text("2031-03-31")
    screens.take(page, "customer")
    page.get_by_test_id("edit-INSTORE").click()
    page.get_by_label("First name").fill("Thomas")
    page.get_by_label("city").fill("Pune")
    page.get_by_test_id("preview-button").click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("2 changes would be saved")
    expect(preview).to_contain_text("profiles[INSTORE].firstName")
    expect(preview).to_contain_text("extendedFields.city")
    # htmx swapped the form's section in place: the page itself was not reloaded.
    expect(page).to_have_url(f"{server}/console/customers/{cid}/edit?profile=INSTORE")
    screens.take(page, "preview")
    assert (
        care.get(f"/v2/customers/{cid}", headers=CARE_AUTH).json()["profiles"][0]["firstName"]
        == "Tom"
    )  # a preview stores nothing
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(f"{server}/console/customers/{cid}?saved=1")
    expect(page.get_by_test_id("saved")).to_be_visible()
    newest = page.get_by_test_id("history").locator("li").first
    expect(newest).to_contain_text(EDITOR[0])
    expect(newest).to_contain_text("CONSOLE_USER")
    expect(newest).to_contain_text("profiles[INSTORE].firstName")
    expect(page.get_by_test_id("profile-INSTORE").get_by_test_id("first-name")).to_have_text(
        "Thomas"
    )
    screens.take(page, "saved")


def test_two_editors_conflict_and_the_second_reloads(
    care: TestClient, server: str, new_page: Callable[[], Page], screens: Screens
) -> None:
    cid = register_care(care, firstName="Tom")
    first, second = new_page(), new_page()
    for page, who in ((first, EDITOR), (second, EDITOR_2)):
        sign_in(page, server, who)
        page.goto(f"{server}/console/customers/{cid}/edit?profile=INSTORE")
    first.get_by_label("First name").fill("Tommy")
    first.get_by_test_id("save-button").click()
    expect(first).to_have_url(f"{server}/console/customers/{cid}?saved=1")
    second.get_by_label("Last name").fill("Sawyer")
    second.get_by_test_id("save-button").click()
    expect(second.get_by_test_id("conflict")).to_contain_text(
        "changed by someone else since you opened it"
    )
    screens.take(second, "conflict")
    second.get_by_test_id("reload").click()
    expect(second.get_by_label("First name")).to_have_value("Tommy")
    second.get_by_label("Last name").fill("Sawyer")
    second.get_by_test_id("save-button").click()
    expect(second).to_have_url(f"{server}/console/customers/{cid}?saved=1")
    profile = care.get(f"/v2/customers/{cid}", headers=CARE_AUTH).json()["profiles"][0]
    assert (profile["firstName"], profile["lastName"]) == ("Tommy", "Sawyer")


def test_a_viewer_gets_no_edit_controls(
    care: TestClient, server: str, new_page: Callable[[], Page], screens: Screens
) -> None:
    cid = register_care(care, firstName="Tom")
    page = new_page()
    sign_in(page, server, VIEWER)
    page.goto(f"{server}/console/customers/{cid}")
    expect(page.get_by_test_id("profile-INSTORE")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.locator("form[action*='/edit']")).to_have_count(0)
    screens.take(page, "viewer")
    page.goto(f"{server}/console/customers/{cid}/edit?profile=INSTORE")
    expect(page.get_by_test_id("refused")).to_contain_text("only editors change customers")


def test_a_script_in_a_name_shows_as_text(
    care: TestClient, server: str, new_page: Callable[[], Page]
) -> None:
    cid = register_care(care, firstName=SCRIPT_NAME, fields={"favourite_colour": SCRIPT_NAME})
    page = new_page()  # fails the test on any alert dialog or script error
    sign_in(page, server, EDITOR)
    page.goto(f"{server}/console/customers/{cid}")
    expect(page.get_by_test_id("profile-INSTORE").get_by_test_id("first-name")).to_have_text(
        SCRIPT_NAME
    )
    page.get_by_test_id("edit-INSTORE").click()
    expect(page.get_by_label("First name")).to_have_value(SCRIPT_NAME)
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview")).to_contain_text("Nothing would change")
    assert page.locator("script").count() == 1  # only htmx, from the package


def test_another_orgs_customer_is_not_found(
    care: TestClient, server: str, new_page: Callable[[], Page]
) -> None:
    theirs = register_care(care, auth=OTHER_AUTH, firstName="Hank")
    page = new_page()
    sign_in(page, server, EDITOR)
    by_id = page.get_by_test_id("search-id")
    by_id.get_by_label("Customer id").fill(str(theirs))
    by_id.get_by_role("button", name="Open").click()
    expect(page.get_by_test_id("search-error")).to_contain_text(f"No customer has the id {theirs}")
    page.goto(f"{server}/console/customers/{theirs}")
    expect(page.get_by_test_id("search-error")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Hank")
    assert re.search(r"/console/customers/\d+$", page.url)


def test_an_opt_out(
    care: TestClient, server: str, new_page: Callable[[], Page], screens: Screens
) -> None:
    cid = register_care(care, firstName="Tom")
    page = new_page()
    sign_in(page, server, EDITOR)
    page.goto(f"{server}/console/customers/{cid}")
    row = page.get_by_test_id("consent-SMS-BULK")
    expect(row).to_contain_text("OPTIN")
    row.get_by_role("button", name="Opt out").click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("1 change would be saved")
    expect(preview).to_contain_text("subscriptions[SMS:BULK]")
    states = care.get(f"/v2/customers/{cid}/subscriptions", headers=CARE_AUTH).json()
    assert {"channel": "SMS", "priority": "BULK", "type": "OPTIN"} in states["subscriptions"]
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(f"{server}/console/customers/{cid}?saved=1")
    expect(page.get_by_test_id("consent-SMS-BULK")).to_contain_text("OPTOUT")
    newest = page.get_by_test_id("history").locator("li").first
    expect(newest).to_contain_text("subscriptions[SMS:BULK]")
    expect(newest).to_contain_text(EDITOR[0])
    screens.take(page, "consent")


def test_changing_a_mobile(
    care: TestClient, server: str, new_page: Callable[[], Page], screens: Screens
) -> None:
    cid = register_care(care, firstName="Tom")
    page = new_page()
    sign_in(page, server, EDITOR)
    page.goto(f"{server}/console/customers/{cid}")
    row = page.get_by_test_id("profile-INSTORE").get_by_test_id("identifier-mobile")
    row.get_by_label("new mobile").fill("9999000002")
    row.get_by_role("button", name="Replace").click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("profiles[INSTORE].identifiers[mobile:919999000001]")
    profile = care.get(f"/v2/customers/{cid}", headers=CARE_AUTH).json()["profiles"][0]
    assert profile["identifiers"] == [{"type": "mobile", "value": "919999000001"}]
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(f"{server}/console/customers/{cid}?saved=1")
    expect(
        page.get_by_test_id("profile-INSTORE").get_by_test_id("identifier-mobile")
    ).to_contain_text("919999000002")
    newest = page.get_by_test_id("history").locator("li").first
    expect(newest).to_contain_text("profiles[INSTORE].identifiers[mobile:919999000001]")
    screens.take(page, "mobile")
