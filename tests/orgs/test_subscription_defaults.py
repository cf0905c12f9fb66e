"""SPEC 3 and 10.2: `subscriptionDefaults` of the org document, validated, stored, read back."""

from __future__ import annotations

from starlette.testclient import TestClient

from patron import errors
from tests.conftest import new_org_code
from tests.orgs.support import applied, get, problems, put, small_doc


def test_subscription_defaults_are_both_optin_when_absent(client: TestClient) -> None:
    code = new_org_code()
    created = applied(client, code, small_doc(code))
    assert created["subscriptionDefaults"] == {"TRANS": "OPTIN", "BULK": "OPTIN"}


def test_subscription_defaults_are_stored_and_returned(client: TestClient) -> None:
    code = new_org_code()
    doc = small_doc(code, subscriptionDefaults={"TRANS": "OPTIN", "BULK": "OPTOUT"})
    applied(client, code, doc)
    assert get(client, code).json()["subscriptionDefaults"] == {"TRANS": "OPTIN", "BULK": "OPTOUT"}
    # One priority left out is OPTIN; changing the defaults is a change of the configuration.
    again = applied(client, code, small_doc(code, subscriptionDefaults={"TRANS": "OPTOUT"}))
    assert again["subscriptionDefaults"] == {"TRANS": "OPTOUT", "BULK": "OPTIN"}
    assert again["configVersion"] == 2


def test_subscription_defaults_bad_values_are_400_naming_each(client: TestClient) -> None:
    code = new_org_code()
    doc = small_doc(code, subscriptionDefaults={"TRANS": "optin", "BULK": "MAYBE", "SMS": "OPTIN"})
    response = put(client, code, doc)
    assert response.status_code == 400
    found = problems(response)
    assert (errors.INVALID_ORG_DOCUMENT.code, "subscriptionDefaults.SMS") in found
    wrong_type = put(client, code, small_doc(code, subscriptionDefaults={"TRANS": 1}))
    assert wrong_type.status_code == 400
    assert problems(wrong_type) == [(errors.WRONG_TYPE.code, "subscriptionDefaults.TRANS")]
    values = put(
        client, code, small_doc(code, subscriptionDefaults={"TRANS": "optin", "BULK": "NO"})
    )
    assert problems(values) == [
        (errors.INVALID_ORG_DOCUMENT.code, "subscriptionDefaults.TRANS"),
        (errors.INVALID_ORG_DOCUMENT.code, "subscriptionDefaults.BULK"),
    ]
    assert get(client, code).status_code == 404  # nothing was stored
