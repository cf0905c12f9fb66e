"""Hypothesis properties of look-alike values (SPEC 5.3) and of names (SPEC 6 rule 3).

For *every* text, not only the examples of tests/customers/test_lookalike.py: the canonical form
is idempotent, holds no invisible character and is NFKC; hiding invisible characters in a value,
writing it decomposed, composed or in fullwidth forms gives the same stored value or the same
refusal; an email's domain written in Unicode or as its IDNA A-label is one domain; the ASCII fast
path answers what the full path would. Through the API on every backend, a customer is found by
any disguise of their identifier and a disguise cannot register a second customer.

Generation is derandomised (a CI run is reproducible); `PATRON_FUZZ_RANDOM=1` draws fresh
examples.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Callable

import idna
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from patron.customers.characters import INVISIBLE_RANGES, canonical, name_problem
from patron.customers.normalise import (
    InvalidValue,
    channel_value,
    identifier_value,
    normalise_email,
)
from patron.orgs.model import CHANNEL_TYPES, IDENTIFIER_TYPES
from tests.builders import codes, lookup_params, profile, register
from tests.conftest import ACME_AUTH, CUSTOMER_TABLES
from tests.conftest import run as run_sql

DERANDOMIZE = os.environ.get("PATRON_FUZZ_RANDOM", "") != "1"
PURE = settings(max_examples=300, deadline=None, database=None, derandomize=DERANDOMIZE)
API = settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

INVISIBLES = st.sampled_from(
    [chr(cp) for a, b in INVISIBLE_RANGES for cp in range(a, min(b, a + 15) + 1)]
)
"""Invisible characters of every range (the first 16 of the long ones)."""

PLAIN_IDENTIFIERS = [t for t in IDENTIFIER_TYPES if t not in ("mobile", "email")]
PLAIN_CHANNELS = [t for t in CHANNEL_TYPES if t not in ("mobile", "email")]


def _invisible(char: str) -> bool:
    return any(a <= ord(char) <= b for a, b in INVISIBLE_RANGES)


@st.composite
def disguised(draw: st.DrawFn, text: str) -> str:
    """`text` with invisible characters slipped in anywhere, in another normal form or width."""
    form = draw(st.sampled_from(["NFC", "NFD", "NFKC", "NFKD", "fullwidth", "as is"]))
    if form == "fullwidth":
        # Fullwidth forms of printable ASCII (U+FF01-FF5E); NFKC reads them back as ASCII.
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    elif form != "as is":
        text = unicodedata.normalize(form, text)
    chars = list(text)
    for _ in range(draw(st.integers(0, 4))):
        chars.insert(draw(st.integers(0, len(chars))), draw(INVISIBLES))
    return "".join(chars)


def outcome(normalise: Callable[[str], str], text: str) -> str | int:
    """The stored value, or the code of the refusal."""
    try:
        return normalise(text)
    except InvalidValue as exc:
        return exc.entry.code


# --- the canonical form ----------------------------------------------------------------------


@PURE
@given(text=st.text(max_size=60) | st.lists(INVISIBLES | st.text(max_size=3)).map("".join))
@example(text="cafe\u200b\u0301")
@example(text="\u0130")
def test_the_canonical_form_is_nfkc_without_invisible_characters_and_idempotent(text: str) -> None:
    value = canonical(text)
    assert not any(_invisible(c) for c in value)
    assert unicodedata.is_normalized("NFKC", value)
    assert canonical(value) == value


@PURE
@given(text=st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_the_ascii_fast_path_answers_what_the_full_path_would(text: str) -> None:
    stripped = "".join(c for c in text if not _invisible(c))
    assert canonical(text) == unicodedata.normalize("NFKC", stripped) == text


@PURE
@given(text=st.text(max_size=40), data=st.data())
def test_a_disguised_text_has_the_canonical_form_of_the_text(
    text: str, data: st.DataObject
) -> None:
    assert canonical(data.draw(disguised(text))) == canonical(text)


# --- identifier and channel values --------------------------------------------------------------


@PURE
@given(
    id_type=st.sampled_from(PLAIN_IDENTIFIERS),
    channel_type=st.sampled_from(PLAIN_CHANNELS),
    text=st.text(max_size=40) | st.from_regex(r"[A-Za-z0-9 ._-]{1,20}", fullmatch=True),
    data=st.data(),
)
def test_a_disguised_plain_value_is_the_same_value_or_the_same_refusal(
    id_type: str, channel_type: str, text: str, data: st.DataObject
) -> None:
    other = data.draw(disguised(text))
    for normalise, kind in ((identifier_value, id_type), (channel_value, channel_type)):
        of_type = functools.partial(normalise, kind, default_country="IN")
        expected = outcome(of_type, text)
        assert outcome(of_type, other) == expected
        if isinstance(expected, str):
            assert of_type(expected) == expected


@PURE
@given(
    digits=st.from_regex(r"[6-9][0-9]{9}", fullmatch=True),
    prefix=st.sampled_from(["", "+91 ", "0091", "91"]),
    data=st.data(),
)
def test_a_disguised_mobile_is_the_same_mobile(
    digits: str, prefix: str, data: st.DataObject
) -> None:
    stored = identifier_value("mobile", "+91" + digits, "IN")
    assert identifier_value("mobile", data.draw(disguised(prefix + digits)), "IN") == stored
    assert channel_value("mobile", data.draw(disguised(prefix + digits)), "IN") == stored


LABEL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789\u00e4\u00f6\u00fc\u00e9\u00df\u00e7\u00f1\u4e2d\u6587\u0430\u0431\u0432"
LABELS = st.text(alphabet=LABEL_CHARS, min_size=1, max_size=12)


def _upper(text: str) -> str:
    """`text` in capitals where a capital lower-cases back to the letter (not `ß` to `SS`)."""
    return "".join(c.upper() if c.upper().lower() == c else c for c in text)


@PURE
@given(
    local=st.from_regex(r"[a-z0-9]{1,10}([._+-][a-z0-9]{1,10}){0,2}", fullmatch=True),
    labels=st.lists(LABELS, min_size=1, max_size=3),
    tld=st.sampled_from(["de", "com", "in", "xn--p1ai"]),
    data=st.data(),
)
@example(local="tom", labels=["b\u00fccher"], tld="de", data=None)
def test_an_email_domain_in_unicode_or_as_its_a_label_is_one_domain(
    local: str, labels: list[str], tld: str, data: st.DataObject | None
) -> None:
    domain = ".".join([*labels, tld])
    try:
        a_labels = idna.encode(domain, uts46=True).decode()
    except idna.IDNAError:
        assume(False)
    stored = normalise_email(f"{local}@{domain}")
    assume(stored is not None)
    assert stored == f"{local}@{a_labels}"
    assert stored.isascii()
    assert normalise_email(f"{local}@{a_labels}") == stored
    assert normalise_email(f"{local.upper()}@{_upper(domain)}") == stored
    if data is not None:
        assert normalise_email(data.draw(disguised(f"{local}@{domain}"))) == stored
    assert normalise_email(stored) == stored


@PURE
@given(text=st.text(max_size=80) | st.emails().map(lambda e: e.upper()))
def test_any_stored_email_normalises_to_itself_and_is_at_most_150_characters(text: str) -> None:
    stored = normalise_email(text)
    if stored is None:
        return
    assert len(stored) <= 150
    assert stored.split("@")[-1].isascii()
    assert normalise_email(stored) == stored


# --- names (SPEC 6 rule 3) ---------------------------------------------------------------------

REFUSED_IN_NAMES = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}
REFUSED_IN_NAMES |= set("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@PURE
@given(name=st.text(max_size=30) | st.text(alphabet="ab \n\t\x1b\u202e\u2066\u200f", max_size=8))
def test_a_name_is_refused_exactly_when_it_holds_a_control_or_a_bidi_override(name: str) -> None:
    assert (name_problem(name) is None) == REFUSED_IN_NAMES.isdisjoint(name)


# --- through the API, on every backend ---------------------------------------------------------


def _wipe(client: TestClient) -> None:
    async def go(conn: object) -> None:
        for table in CUSTOMER_TABLES:
            await conn.execute(f"DELETE FROM {table}")  # type: ignore[attr-defined]

    run_sql(client, go, write=True)


@API
@given(
    value=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,18}[A-Za-z0-9]", fullmatch=True)
    | st.text(alphabet="caf\u00e9\u4e2d\u6587\u00fc0-9", min_size=1, max_size=12),
    data=st.data(),
)
def test_any_disguise_of_an_identifier_finds_its_customer_and_registers_no_other(
    client: TestClient, value: str, data: st.DataObject
) -> None:
    assume(value.strip())
    _wipe(client)
    holder = profile(mobile=None, identifiers=[{"type": "externalId", "value": value}])
    customer_id = register(client, holder)
    disguise = data.draw(disguised(value))
    found = client.get(
        "/v2/customers/lookup", params=lookup_params(disguise, "externalId"), headers=ACME_AUTH
    )
    assert found.status_code == 200, (ascii(disguise), found.text)
    assert found.json()["entity"] == customer_id
    second = profile(mobile=None, identifiers=[{"type": "externalId", "value": disguise}])
    response = client.post("/v2/customers", json={"profiles": [second]}, headers=ACME_AUTH)
    assert response.status_code == 409, (ascii(disguise), response.text)
    assert codes(response) == [8008]
