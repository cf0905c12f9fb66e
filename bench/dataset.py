"""The benchmark's customers: everything derived from a customer number `n` (1, 2, 3, ...).

The loaders, the verification and the wrk Lua script (bench/lua/customers.lua) all derive a
customer's org, identifiers and attributes from `n` with the same formulas, so a load script can
address any loaded customer without a lookup table. Customer `n` is stored with id `n` (the
loaders set `customer_id_seq` past the last one afterwards).

A loaded customer is exactly what patron stores after `POST /v2/customers` with
`registration_body(n)` by the org's till: `bench.stored` builds those rows, and `bench.verify`
registers twins through the API and compares the rows.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO_ORG = ROOT / "examples" / "demo-org.yaml"

ORG_COUNT = 4
PROGRAM_ID = 1016
WECHAT_ACCOUNT = "wc_main"
MOBILE_BASE = 9_000_000_000
"""National mobile number of customer n: MOBILE_BASE + n (valid Indian mobiles up to n < 1e9)."""

FIRST_NAMES = (
    "Asha", "Ravi", "Meera", "Arjun", "Priya", "Vikram", "Lakshmi", "Rahul",
    "Ananya", "Kiran", "Divya", "Suresh", "Neha", "Amit", "Pooja", "Sanjay",
)  # fmt: skip
LAST_NAMES = (
    "Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Patel",
    "Rao", "Menon", "Das", "Singh", "Kumar", "Joshi",
)  # fmt: skip
CITIES = ("Bangalore", "Mumbai", "Delhi", "Chennai", "Pune", "Hyderabad", "Kolkata", "Jaipur")
GENDERS = ("Male", "Female", "Other")
COLOURS = ("red", "blue", "green", "black", "white", "yellow")

# --- orgs -----------------------------------------------------------------------------------


def org_code(index: int) -> str:
    """The code of org `index` (0-based): bench1, bench2, ..."""
    return f"bench{index + 1}"


def org_index(n: int) -> int:
    """The org (0-based) customer n belongs to: customers are dealt round-robin."""
    return (n - 1) % ORG_COUNT


def till_code(org: str) -> str:
    """The org's till, the actor of every load row and benchmark request."""
    return f"{org}.till"


def till_password(org: str) -> str:
    """The till's password (a benchmark credential, like the demo org's)."""
    return f"{org}-pass-123"


def basic_auth(org: str) -> str:
    """The `Authorization` header value of the org's till (SPEC 4: base64(till:md5hex))."""
    digest = hashlib.md5(till_password(org).encode()).hexdigest()
    return "Basic " + base64.b64encode(f"{till_code(org)}:{digest}".encode()).decode()


def org_document(index: int) -> dict[str, Any]:
    """Org `index`'s document: the demo org (examples/demo-org.yaml) with its own codes."""
    doc: dict[str, Any] = yaml.safe_load(DEMO_ORG.read_text(encoding="utf-8"))
    code = org_code(index)
    doc["orgCode"] = code
    doc["name"] = f"Bench Retail {index + 1}"
    doc["tills"] = [{"code": till_code(code), "password": till_password(code)}]
    doc["oauthClients"] = [
        {"key": f"{code}-backend", "secret": f"{code}-secret-123456", "till": till_code(code)}
    ]
    # Console logins, like till codes, are unique across orgs; the benchmark signs no one in.
    doc.pop("consoleUsers", None)
    if not any(s.get("source") == "WECHAT" and WECHAT_ACCOUNT in s.get("accounts", []) for s in doc["sources"]):  # fmt: skip
        raise RuntimeError(f"{DEMO_ORG} no longer has WECHAT account {WECHAT_ACCOUNT}")
    if not any(p.get("programId") == PROGRAM_ID for p in doc["programs"]):
        raise RuntimeError(f"{DEMO_ORG} no longer has program {PROGRAM_ID}")
    return doc


# --- one customer ---------------------------------------------------------------------------


def mobile_national(n: int) -> str:
    """The 10-digit Indian mobile number of customer n."""
    return str(MOBILE_BASE + n)


def mobile(n: int) -> str:
    """Customer n's mobile as patron stores it: country code and digits."""
    return "91" + str(MOBILE_BASE + n)


def email(n: int) -> str:
    """Customer n's email as patron stores it (lower case)."""
    return f"customer{n}@example.com"


def external_id(n: int) -> str:
    """Customer n's externalId."""
    return f"EXT{n:010d}"


def wechat_id(n: int) -> str:
    """The wechat identifier of customer n's WECHAT profile (when it has one)."""
    return f"wx{n:010d}"


def has_wechat(n: int) -> bool:
    """One customer in five also has a WECHAT/wc_main profile."""
    return n % 5 == 0


def enrolled(n: int) -> bool:
    """One customer in four is a loyalty customer, enrolled in program 1016 with points."""
    return n % 4 == 0


def tier(n: int) -> int:
    """The tier an enrolled customer is in (1 to 3)."""
    return 1 + (n // 4) % 3


def points(n: int) -> int:
    """The points an enrolled customer was credited at registration (> 0)."""
    return 100 + n % 900


def first_name(n: int) -> str:
    """Customer n's first name."""
    return FIRST_NAMES[n % len(FIRST_NAMES)]


def last_name(n: int) -> str:
    """Customer n's last name."""
    return LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]


def extended_fields(n: int) -> dict[str, Any]:
    """Customer n's extended fields, in the order they are sent."""
    return {"city": CITIES[n % len(CITIES)], "gender": GENDERS[n % len(GENDERS)]}


def custom_fields(n: int) -> dict[str, Any]:
    """The custom fields of customer n's INSTORE profile."""
    return {"favourite_colour": COLOURS[n % len(COLOURS)]}


def update_body(n: int, k: int) -> dict[str, Any]:
    """The k-th variant of the update wrk sends to customer n (bench/lua/customers.lua).

    The Lua script builds the same shape with random picks: both names, a change to the email
    channel (verified and a meta key), a custom field and two extended fields, so nearly every
    request changes something and writes a history entry.
    """
    return {
        "profiles": [
            {
                "firstName": FIRST_NAMES[k % len(FIRST_NAMES)],
                "lastName": LAST_NAMES[k % len(LAST_NAMES)],
                "commChannels": [
                    {
                        "type": "email",
                        "value": email(n),
                        "verified": k % 2 == 0,
                        "meta": {"residence": k % 3 == 0},
                    }
                ],
                "fields": {"favourite_colour": COLOURS[k % len(COLOURS)]},
            }
        ],
        "extendedFields": {"city": CITIES[k % len(CITIES)], "children": k % 5},
    }


def pool_customer(i: int) -> int:
    """The i-th (0-based) customer that is not enrolled: the targets of benchmark enrolments."""
    return (i // 3) * 4 + i % 3 + 1


def pool_size(customers: int) -> int:
    """How many of customers 1..N are not enrolled."""
    return customers - customers // 4


def registration_body(n: int) -> dict[str, Any]:
    """The `POST /v2/customers` body whose result a loaded customer n is.

    Values are written the way clients send them (a mobile with `+91` and a space, one without
    country code, mixed-case emails), so that the twin check also covers normalisation.
    """
    instore: dict[str, Any] = {
        "source": "INSTORE",
        "firstName": first_name(n),
        "lastName": last_name(n),
        "identifiers": [
            {"type": "mobile", "value": f"+91 {mobile_national(n)}"},
            {"type": "email", "value": email(n).upper()},
            {"type": "externalId", "value": external_id(n)},
        ],
        "commChannels": [
            {"type": "mobile", "value": mobile_national(n), "primary": True, "verified": True},
            {"type": "email", "value": email(n).title(), "primary": True, "verified": False},
        ],
        "fields": custom_fields(n),
    }
    profiles = [instore]
    if has_wechat(n):
        profiles.append(
            {
                "source": "WECHAT",
                "accountId": WECHAT_ACCOUNT,
                "firstName": first_name(n),
                "lastName": last_name(n),
                "identifiers": [{"type": "wechat", "value": wechat_id(n)}],
            }
        )
    body: dict[str, Any] = {"profiles": profiles, "extendedFields": extended_fields(n)}
    if enrolled(n):
        body["loyaltyProgramEnrollments"] = [
            {"programId": PROGRAM_ID, "tierNumber": tier(n), "loyaltyPoints": points(n)}
        ]
    return body


def _channel(type_: str, value: str, primary: bool, verified: bool) -> dict[str, Any]:
    return {"type": type_, "value": value, "primary": primary, "verified": verified, "meta": {}}


def instore_channels(n: int) -> list[dict[str, Any]]:
    """The INSTORE profile's channels, as the API shows them."""
    return [
        _channel("mobile", mobile(n), True, True),
        _channel("email", email(n), True, False),
    ]


def expected_details(n: int, customer_id: int) -> dict[str, Any]:
    """`GET /v2/customers/lookup/customerDetails` (source INSTORE) of customer n, dates left out."""
    org = org_code(org_index(n))
    actor = {"code": till_code(org), "type": "TILL"}
    programs = []
    if enrolled(n):
        tier_names = {1: "Silver", 2: "Gold", 3: "Platinum"}
        programs.append(
            {
                "programId": PROGRAM_ID,
                "tierNumber": tier(n),
                "tierName": tier_names[tier(n)],
                "tierExpiryDate": None,
                "loyaltyPoints": points(n),
            }
        )
    return {
        "id": customer_id,
        "profiles": [
            {
                "firstName": first_name(n),
                "lastName": last_name(n),
                "source": "INSTORE",
                "accountId": None,
                "identifiers": [
                    {"type": "mobile", "value": mobile(n)},
                    {"type": "email", "value": email(n)},
                    {"type": "externalId", "value": external_id(n)},
                ],
                "commChannels": instore_channels(n),
                "fields": custom_fields(n),
                "attribution": {"createdBy": actor, "modifiedBy": actor},
            }
        ],
        "loyaltyInfo": {"loyaltyType": "loyalty" if enrolled(n) else "non_loyalty"},
        "extendedFields": extended_fields(n),
        "loyaltyProgramDetails": programs,
        "warnings": [],
    }
