"""Every rule of the org document is refused with its field path and code, all at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from patron import errors
from patron.orgs.validation import parse_document
from tests.conftest import new_org_code
from tests.orgs.support import get, problems, put, small_doc

Doc = dict[str, Any]
RULE = errors.INVALID_ORG_DOCUMENT.code
WRONG_TYPE = errors.WRONG_TYPE.code
REQUIRED = errors.REQUIRED.code


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """A change that sets `value` at a dotted path such as `tills.0.code`."""

    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _append(path: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        target: Any = doc
        for part in path.split("."):
            target = target[int(part)] if part.isdigit() else target[part]
        target.append(value)

    return change


def _drop(path: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return change


TILL = {"code": "x.till", "password": "x-password"}
ENUM = {"name": "tier_pref", "dataType": "CUSTOM_ENUM", "values": ["A", "B"]}
PROGRAM = {"programId": 2020, "name": "Kids", "tiers": [{"number": 1, "name": "Starter"}]}

CASES: dict[str, tuple[Callable[[Doc], None], int, str]] = {
    # name
    "blank name": (_set("name", "  "), RULE, "name"),
    "name too long": (_set("name", "n" * 201), RULE, "name"),
    "name not a string": (_set("name", 5), WRONG_TYPE, "name"),
    "name with a NUL": (_set("name", "a\x00b"), errors.INVALID_CHARACTER.code, "name"),
    "name with a newline": (_set("name", "a\nb"), RULE, "name"),
    "name missing": (_drop("name"), REQUIRED, "name"),
    # defaultCountry
    "unknown country": (_set("defaultCountry", "XX"), RULE, "defaultCountry"),
    "lower-case country": (_set("defaultCountry", "in"), RULE, "defaultCountry"),
    "alpha-3 country": (_set("defaultCountry", "IND"), RULE, "defaultCountry"),
    "country missing": (_drop("defaultCountry"), REQUIRED, "defaultCountry"),
    # strictFields
    "strictFields as a string": (_set("strictFields", "true"), WRONG_TYPE, "strictFields"),
    # sources
    "unknown source": (_set("sources.0.source", "MYSPACE"), RULE, "sources[0].source"),
    "lower-case source": (_set("sources.0.source", "instore"), RULE, "sources[0].source"),
    "repeated source": (_append("sources", {"source": "INSTORE"}), RULE, "sources[2].source"),
    "empty accounts": (_set("sources.1.accounts", []), RULE, "sources[1].accounts"),
    "account with a space": (
        _set("sources.1.accounts", ["wc main"]),
        RULE,
        "sources[1].accounts[0]",
    ),
    "account too long": (_set("sources.1.accounts", ["a" * 65]), RULE, "sources[1].accounts[0]"),
    "empty account": (_set("sources.1.accounts", [""]), RULE, "sources[1].accounts[0]"),
    "repeated account": (
        _set("sources.1.accounts", ["a", "b", "a"]),
        RULE,
        "sources[1].accounts[2]",
    ),
    "account not a string": (_set("sources.1.accounts", [7]), WRONG_TYPE, "sources[1].accounts[0]"),
    # tills
    "repeated till code": (
        _append("tills", {"code": "{code}.till", "password": "x-password"}),
        RULE,
        "tills[1].code",
    ),
    "till code repeated in another case": (
        _append("tills", {"code": "{code}.TILL", "password": "x-password"}),
        RULE,
        "tills[1].code",
    ),
    "empty till code": (
        _append("tills", {"code": "", "password": "x-password"}),
        RULE,
        "tills[1].code",
    ),
    "till code too long": (
        _append("tills", {"code": "t" * 129, "password": "x-password"}),
        RULE,
        "tills[1].code",
    ),
    "till code with a colon": (
        _append("tills", {"code": "a:b", "password": "x-password"}),
        RULE,
        "tills[1].code",
    ),
    "till code with a space": (
        _append("tills", {"code": "a b", "password": "x-password"}),
        RULE,
        "tills[1].code",
    ),
    "till code not ASCII": (
        _append("tills", {"code": "tïll", "password": "x-password"}),
        RULE,
        "tills[1].code",
    ),
    "short password": (_set("tills.0.password", "1234567"), RULE, "tills[0].password"),
    "password missing": (_drop("tills.0.password"), REQUIRED, "tills[0].password"),
    "misspelt password key": (
        _append("tills", {"code": "x.till", "password": "x-password", "pasword": "x"}),
        RULE,
        "tills[1].pasword",
    ),
    # oauth clients
    "repeated oauth key": (
        _append(
            "oauthClients", {"key": "{code}-backend", "secret": "s" * 8, "till": "{code}.till"}
        ),
        RULE,
        "oauthClients[1].key",
    ),
    "oauth key repeated in another case": (
        _append(
            "oauthClients", {"key": "{code}-BACKEND", "secret": "s" * 8, "till": "{code}.till"}
        ),
        RULE,
        "oauthClients[1].key",
    ),
    "oauth key with a colon": (_set("oauthClients.0.key", "k:1"), RULE, "oauthClients[0].key"),
    "short oauth secret": (_set("oauthClients.0.secret", "short"), RULE, "oauthClients[0].secret"),
    "oauth till not in the document": (
        _set("oauthClients.0.till", "other.till"),
        RULE,
        "oauthClients[0].till",
    ),
    # fields
    "repeated extended field": (
        _append("extendedFields", {"name": "city", "dataType": "DATE"}),
        RULE,
        "extendedFields[2].name",
    ),
    "field name too long": (
        _set("extendedFields.1.name", "f" * 65),
        RULE,
        "extendedFields[1].name",
    ),
    "empty field name": (_set("extendedFields.1.name", ""), RULE, "extendedFields[1].name"),
    "field name with a space": (
        _set("customFields.0.name", "my field"),
        RULE,
        "customFields[0].name",
    ),
    "unknown dataType": (
        _set("extendedFields.1.dataType", "TEXT"),
        RULE,
        "extendedFields[1].dataType",
    ),
    "extended field without dataType": (
        _drop("extendedFields.1.dataType"),
        REQUIRED,
        "extendedFields[1].dataType",
    ),
    "enum without values": (_drop("extendedFields.0.values"), RULE, "extendedFields[0].values"),
    "enum with empty values": (
        _set("extendedFields.0.values", []),
        RULE,
        "extendedFields[0].values",
    ),
    "enum values repeated ignoring case": (
        _set("extendedFields.0.values", ["Male", "male"]),
        RULE,
        "extendedFields[0].values[1]",
    ),
    "enum value with a control character": (
        _set("extendedFields.0.values", ["Male", "Fe\x7fmale"]),
        RULE,
        "extendedFields[0].values[1]",
    ),
    "blank enum value": (
        _set("extendedFields.0.values", ["Male", " "]),
        RULE,
        "extendedFields[0].values[1]",
    ),
    "values on a STRING field": (
        _set("extendedFields.1.values", ["a"]),
        RULE,
        "extendedFields[1].values",
    ),
    "values on an untyped custom field": (
        _set("customFields.0.values", ["a"]),
        RULE,
        "customFields[0].values",
    ),
    "custom enum without values": (
        _append("customFields", {"name": "size", "dataType": "STANDARD_ENUM"}),
        RULE,
        "customFields[2].values",
    ),
    "repeated custom field": (
        _append("customFields", {"name": "employee"}),
        RULE,
        "customFields[2].name",
    ),
    # programs
    "program id zero": (_set("programs.0.programId", 0), RULE, "programs[0].programId"),
    "negative program id": (_set("programs.0.programId", -5), RULE, "programs[0].programId"),
    "program id as a string": (
        _set("programs.0.programId", "1016"),
        WRONG_TYPE,
        "programs[0].programId",
    ),
    "program id as a boolean": (
        _set("programs.0.programId", True),
        WRONG_TYPE,
        "programs[0].programId",
    ),
    "program id as a float": (
        _set("programs.0.programId", 1016.5),
        WRONG_TYPE,
        "programs[0].programId",
    ),
    "repeated program id": (
        _append("programs", {**PROGRAM, "programId": 1016}),
        RULE,
        "programs[1].programId",
    ),
    "blank program name": (_set("programs.0.name", ""), RULE, "programs[0].name"),
    "two default programs": (
        _append("programs", {**PROGRAM, "default": True}),
        RULE,
        "programs[1].default",
    ),
    "no tiers": (_set("programs.0.tiers", []), RULE, "programs[0].tiers"),
    "tiers missing": (_drop("programs.0.tiers"), REQUIRED, "programs[0].tiers"),
    "tier numbers with a gap": (
        _set("programs.0.tiers.2.number", 4),
        RULE,
        "programs[0].tiers[2].number",
    ),
    "tiers not starting at 1": (
        _set("programs.0.tiers", [{"number": 2, "name": "a"}]),
        RULE,
        "programs[0].tiers[0].number",
    ),
    "repeated tier number": (
        _set("programs.0.tiers.2.number", 2),
        RULE,
        "programs[0].tiers[2].number",
    ),
    "tier name with a tab": (
        _set("programs.0.tiers.1.name", "Go\tld"),
        RULE,
        "programs[0].tiers[1].name",
    ),
    "blank tier name": (_set("programs.0.tiers.1.name", ""), RULE, "programs[0].tiers[1].name"),
    # unknown keys
    "unknown top-level key": (_set("orgName", "x"), RULE, "orgName"),
    "snake_case key": (_set("default_country", "IN"), RULE, "default_country"),
    "unknown nested key": (
        _set("programs.0.tiers.0.points", 10),
        RULE,
        "programs[0].tiers[0].points",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rule_is_refused_with_its_field_path(
    client: TestClient, case: tuple[Callable[[Doc], None], int, str]
) -> None:
    change, code, field = case
    org = new_org_code()
    doc = small_doc(org)
    change(doc)
    doc = _named(doc, org)
    response = put(client, org, doc)
    assert response.status_code == 400, response.text
    assert problems(response) == [(code, field)]
    message = response.json()["errors"][0]["message"]
    assert field.split(".")[-1].split("[")[0] in message
    assert get(client, org).status_code == 404  # nothing was stored


def _named(value: Any, code: str) -> Any:
    if isinstance(value, str):
        return value.replace("{code}", code)
    if isinstance(value, list):
        return [_named(v, code) for v in value]
    if isinstance(value, dict):
        return {k: _named(v, code) for k, v in value.items()}
    return value


def test_every_problem_is_reported_together(client: TestClient) -> None:
    org = new_org_code()
    doc = small_doc(
        org,
        name="",
        defaultCountry="ZZ",
        surprise=True,
        sources=[{"source": "INSTORE"}, {"source": "INSTORE", "accounts": []}],
        tills=[
            {"code": "a b", "password": "short"},
            {"code": "ok.till", "password": "long-enough"},
        ],
        oauthClients=[{"key": "k1", "secret": "long-enough", "till": "missing.till"}],
        extendedFields=[
            {"name": "gender", "dataType": "STANDARD_ENUM"},
            {"name": "gender", "dataType": "STRING"},
        ],
        customFields=[{"name": "shoe_size", "dataType": 5}],
        programs=[
            {
                "programId": 7,
                "name": "A",
                "default": True,
                "tiers": [{"number": 1, "name": "x"}, {"number": 3, "name": "y"}],
            },
            {"programId": 7, "name": "B", "default": True, "tiers": [{"number": 1, "name": "x"}]},
        ],
    )
    response = put(client, org, doc)
    assert response.status_code == 400
    assert sorted(problems(response), key=str) == sorted(
        [
            (WRONG_TYPE, "customFields[0].dataType"),
            (RULE, "surprise"),
            (RULE, "name"),
            (RULE, "defaultCountry"),
            (RULE, "sources[1].source"),
            (RULE, "sources[1].accounts"),
            (RULE, "tills[0].code"),
            (RULE, "tills[0].password"),
            (RULE, "oauthClients[0].till"),
            (RULE, "extendedFields[0].values"),
            (RULE, "extendedFields[1].name"),
            (RULE, "programs[0].tiers[1].number"),
            (RULE, "programs[1].programId"),
            (RULE, "programs[1].default"),
        ],
        key=str,
    )
    for item in response.json()["errors"]:
        assert item["status"] is False and item["message"]


def test_ill_shaped_section_does_not_hide_problems_of_the_others() -> None:
    doc, found = parse_document(
        {
            "name": ["not", "a", "string"],
            "defaultCountry": "IN",
            "tills": [{"code": "t1", "password": 12345678}],
            "oauthClients": [{"key": "k", "secret": "long-enough", "till": "t1"}],
            "programs": [{"programId": 1, "name": "P", "tiers": [{"number": 2, "name": "x"}]}],
        }
    )
    assert doc is None
    assert [(p.entry.code, p.field) for p in found] == [
        (WRONG_TYPE, "name"),
        (WRONG_TYPE, "tills[0].password"),
        # The ill-shaped tills cannot be checked against, so the client's till is not judged.
        (RULE, "programs[0].tiers[0].number"),
    ]


def test_valid_documents_have_no_problems() -> None:
    doc, found = parse_document(small_doc("x"))
    assert found == [] and doc is not None
    assert doc.custom_fields[0].data_type == "STRING"
    assert doc.strict_fields is True


def test_limits_are_inclusive(client: TestClient) -> None:
    org = new_org_code()
    doc = small_doc(
        org,
        name="n" * 200,
        sources=[{"source": "WECHAT", "accounts": ["a" * 64, "A.b_c-d@e"]}],
        tills=[
            {"code": "t" * 128, "password": "p" * 8},
            {"code": f"{org}!#$%&'*+/=?^`{{|}}~", "password": "p" * 1024},
        ],
        oauthClients=[{"key": "k" * 128, "secret": "s" * 8, "till": "t" * 128}],
        extendedFields=[{"name": "f" * 64, "dataType": "STRING"}],
        programs=[
            {
                "programId": 2**63 - 1,
                "name": "P",
                "tiers": [{"number": n, "name": f"T{n}"} for n in (3, 1, 2)],
            }
        ],
    )
    answer = put(client, org, doc)
    assert answer.status_code == 200, answer.text
    assert [t["number"] for t in answer.json()["programs"][0]["tiers"]] == [1, 2, 3]
