"""Schemathesis against the app's own /openapi.json, on every backend (SPEC 7: a 500 is a bug).

First, the command docs/reliability.md gives: `schemathesis run --checks all` against patron over
TCP, every phase (examples, coverage, fuzzing, stateful through the lookup's links), with the
repository's schemathesis.toml and its check `nothing_optional_is_required`; bounded by
`PATRON_FUZZ_RUN_EXAMPLES` (5) examples per operation and `PATRON_FUZZ_RUN_SECONDS` (35). A
second run against the lookup's old document (its parameters optional) must fail.

Then in-process passes of generated requests, each authenticated as ACME's till (admin routes
with the admin token, which the command's run does not send): the admin operations, positive
(values that fit the schema) and negative (values that break it); and an "anchored" pass that
pins the lookup to a registered customer so that generated bodies reach resolution, the planner
and the repository. Every response must not be a 5xx, must use a documented status and content
type, and must match the documented schema; a negative request must be refused with a 4xx.
Requests go through the fixture's Starlette TestClient; schemathesis only generates the cases and
checks the answers. Generation is bounded (`PATRON_FUZZ_EXAMPLES` per operation and mode, 25 by
default) and derandomised, so a CI run is reproducible; `PATRON_FUZZ_RANDOM=1` draws fresh ones.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from patron.app import create_app
from patron.config import Settings
from patron.db import tables
from patron.db.driver import Connection
from tests.builders import MOBILE, profile, register
from tests.conftest import ACME, ACME_AUTH, ADMIN, CUSTOMER_TABLES, make_settings, run
from tests.live import live_server

MAX_EXAMPLES = int(os.environ.get("PATRON_FUZZ_EXAMPLES", "25"))
DERANDOMIZE = os.environ.get("PATRON_FUZZ_RANDOM", "") != "1"
BASE_URL = "http://testserver"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES: dict[str, tuple[GenerationMode, list[Any]]] = {
    "positive": (GenerationMode.POSITIVE, CHECKS),
    "negative": (GenerationMode.NEGATIVE, [*CHECKS, negative_data_rejection]),
}
# A negative request must be refused with one of the 4xx the API documents; a body past 64 KiB
# (generated values can be long) is rightly a 413.
REFUSALS = ["400", "401", "404", "409", "413", "415"]
MAX_MESSAGE = 4000
LOOKUP = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": MOBILE}


@dataclass
class Tally:
    """What one fuzzing run sent and got back."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        """Responses with a 5xx status."""
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        """One line for the test log."""
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return f"{self.requests} requests, {self.server_errors} 5xx ({statuses})"


def _auth(path: str) -> dict[str, str]:
    if path.startswith("/admin/"):
        return dict(ADMIN)
    if path.startswith("/v3/oauth/"):
        return {}
    return dict(ACME_AUTH)


def _send(client: TestClient, case: schemathesis.Case) -> Any:
    """Send a generated case through the TestClient; return the raw response."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=_auth(case.operation.path))
    content: bytes | None = None
    if "json" in kwargs:
        content = json.dumps(kwargs["json"]).encode()
    elif "data" in kwargs:
        data = kwargs["data"]
        content = data.encode() if isinstance(data, str) else data
    return client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params") or None,
        headers=kwargs["headers"],
        content=content,
    )


def _fuzz(
    client: TestClient,
    schema: Any,
    mode: str,
    overrides: Callable[[Any], dict[str, Any] | None],
) -> Tally:
    """Generate and check cases for every operation that `overrides` does not skip (None)."""
    generation, checks = MODES[mode]
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        pinned = overrides(operation)
        if pinned is None:
            continue
        strategy = operation.as_strategy(generation_mode=generation, **pinned)

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=DERANDOMIZE,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            response = _send(client, case)
            tally.requests += 1
            tally.statuses[response.status_code] += 1
            tally.by_operation[case.operation.label] += 1
            case.validate_response(
                response,
                checks=checks,
                headers=_auth(case.operation.path),
                transport_kwargs={"base_url": BASE_URL},
            )

        try:
            check()
        except Unsatisfiable:
            if generation is not GenerationMode.NEGATIVE:
                raise
            # Nothing in the operation's schema can be broken (e.g. one free-form string path
            # parameter): there is no negative request to send.
            tally.unsatisfiable.append(operation.label)
        except (Exception, FailureGroup) as exc:  # fuzz every operation, even after a failure
            tally.failures.append(f"{operation.label} [{mode}]: {str(exc)[:MAX_MESSAGE]}")
    return tally


def _load(document: dict[str, Any]) -> Any:
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
    )
    return schemathesis.openapi.from_dict(document, config=config)


@pytest.fixture
def fuzz_client(client: TestClient, database_url: str) -> Iterator[TestClient]:
    """A second app on the same (wiped) database, for the fuzzer alone.

    The fuzzer sends hundreds of bad credentials (to the token route); counted against the
    session app's failed-authentication throttle they would lock every later test out. Its own
    app has its own throttle, set high enough never to refuse it, so that every generated
    request reaches the route it was made for.
    """
    overrides: dict[str, Any] = {}
    if "auth_failure_limit" in Settings.model_fields:
        overrides["auth_failure_limit"] = 10**9
        overrides["auth_address_failure_limit"] = 10**9
    app = create_app(make_settings(database_url, **overrides))
    with TestClient(app, raise_server_exceptions=False) as fuzz:
        yield fuzz
        run(fuzz, _wipe, write=True)


async def _wipe(conn: Connection) -> None:
    """Leave no generated customer or idempotency record behind for the tests that follow."""
    for table in (*CUSTOMER_TABLES, "idempotency_keys"):
        if table in tables.metadata.tables:
            await conn.execute(f"DELETE FROM {table}")


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    """The app's OpenAPI document."""
    response = client.get("/openapi.json")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
def schema(document: dict[str, Any]) -> Any:
    """The app's OpenAPI document, as schemathesis sees it."""
    return _load(document)


def _admin(fuzz_org: str) -> Callable[[Any], dict[str, Any] | None]:
    """The admin operations (the command's run sends a till's credential), writes to a throw-away org."""

    def overrides(operation: Any) -> dict[str, Any] | None:
        if not operation.path.startswith("/admin/"):
            return None
        if operation.method.upper() == "PUT" and operation.path == "/admin/orgs/{orgCode}":
            # Never let generated documents reconfigure the orgs the other tests rely on.
            return {"path_parameters": {"orgCode": fuzz_org}}
        return {}

    return overrides


def _anchored(customer_id: int) -> Callable[[Any], dict[str, Any] | None]:
    """Customer routes pinned to a registered customer, so generated bodies reach the planner."""

    def overrides(operation: Any) -> dict[str, Any] | None:
        path: str = operation.path
        if path in ("/v2/customers/lookup", "/v2/customers/lookup/customerDetails"):
            return {"query": dict(LOOKUP)}
        if path.startswith("/v2/customers/{customer_id}"):
            query = {"source": "INSTORE"} if path == "/v2/customers/{customer_id}" else {}
            return {"path_parameters": {"customer_id": str(customer_id)}, "query": query}
        return None

    return overrides


@pytest.fixture
def customer_id(client: TestClient) -> Iterator[int]:
    """A registered ACME customer with some history, the anchor of the second pass."""
    cid = register(client)
    response = client.put(
        "/v2/customers/lookup",
        params=LOOKUP,
        json={"profiles": [{"firstName": "Tom"}], "extendedFields": {"city": "Pune"}},
        headers=ACME_AUTH,
    )
    assert response.status_code == 200, response.text
    yield cid


@pytest.mark.parametrize("mode", sorted(MODES))
def test_admin_operations_survive_generated_requests(
    fuzz_client: TestClient, schema: Any, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Free generation over the admin operations: no 5xx, and every answer as documented."""
    tally = _fuzz(fuzz_client, schema, mode, _admin(f"hostile-{uuid.uuid4().hex[:8]}"))
    with capsys.disabled():
        print(f"\n[schemathesis {mode}] {tally.summary()}")
    assert tally.server_errors == 0, tally.failures
    assert not tally.failures, "\n\n".join(tally.failures)
    admin = {r.ok().label for r in schema.get_all_operations() if "/admin/" in r.ok().label}
    assert admin and set(tally.by_operation) | set(tally.unsatisfiable) == admin


@pytest.mark.parametrize("mode", sorted(MODES))
def test_generated_bodies_against_a_real_customer(
    fuzz_client: TestClient,
    schema: Any,
    customer_id: int,
    mode: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Customer routes aimed at a stored customer: generated bodies go through the whole update."""
    tally = _fuzz(fuzz_client, schema, mode, _anchored(customer_id))
    with capsys.disabled():
        print(f"\n[schemathesis anchored {mode}] {tally.summary()}")
    assert tally.statuses[200] > 0  # some requests did get through to the customer
    assert tally.server_errors == 0, tally.failures
    assert not tally.failures, "\n\n".join(tally.failures)


def test_the_harness_catches_an_answer_the_schema_does_not_describe(
    client: TestClient, document: dict[str, Any]
) -> None:
    """A check that cannot fail proves nothing: a schema that misdescribes errors is caught."""
    wrong = copy.deepcopy(document)
    error_body = wrong["components"]["schemas"]["ErrorBody"]
    error_body["required"] = [*error_body.get("required", []), "notSentByPatron"]

    def only_lookup(operation: Any) -> dict[str, Any] | None:
        return {} if operation.label == "GET /v2/customers/lookup" else None

    tally = _fuzz(client, _load(wrong), "positive", only_lookup)
    assert tally.requests > 0
    assert len(tally.failures) == 1 and "notSentByPatron" in tally.failures[0]


# Requests that succeed, so that the documented 200 answers are checked too (random generation
# seldom gets past the lookup): (method, path, query, body). {id} is the anchor customer's id.
VALID_REQUESTS: dict[str, tuple[str, str, dict[str, str], Any]] = {
    "register": ("POST", "/v2/customers", {}, {"profiles": [profile(mobile="919999000002")]}),
    "register_dry_run": (
        "POST",
        "/v2/customers",
        {"dryRun": "true"},
        {"profiles": [profile(mobile="919999000003")]},
    ),
    "update": ("PUT", "/v2/customers/lookup", LOOKUP, {"profiles": [{"lastName": "Sawyer"}]}),
    "update_dry_run": (
        "PUT",
        "/v2/customers/lookup",
        {**LOOKUP, "dryRun": "true"},
        {"extendedFields": {"city": "Delhi"}},
    ),
    "update_by_id": (
        "PUT",
        "/v2/customers/{id}",
        {"source": "INSTORE"},
        {"fields": {"employee": "y"}},
    ),
    "lookup": ("GET", "/v2/customers/lookup", LOOKUP, None),
    "details_by_lookup": ("GET", "/v2/customers/lookup/customerDetails", LOOKUP, None),
    "details_by_id": ("GET", "/v2/customers/{id}", {"source": "ALL"}, None),
    "history": ("GET", "/v2/customers/{id}/changes", {"limit": "1"}, None),
    "token": (
        "POST",
        "/v3/oauth/token/generate",
        {},
        {"key": "acme-backend", "secret": "long-random-secret"},
    ),
    "admin_get": ("GET", "/admin/orgs/acme", {}, None),
    "admin_put_unchanged": ("PUT", "/admin/orgs/acme", {}, ACME),
}


def _operation(schema: Any, method: str, path: str) -> Any:
    for result in schema.get_all_operations():
        operation = result.ok()
        template = operation.path.replace("{customer_id}", "{id}").replace("{orgCode}", "acme")
        if operation.method.upper() == method and template == path:
            return operation
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


@pytest.mark.parametrize("name", sorted(VALID_REQUESTS))
def test_successful_answers_match_the_schema(
    client: TestClient, schema: Any, customer_id: int, name: str
) -> None:
    """Each route's documented 200 answer is what a valid request really gets."""
    method, path, query, body = VALID_REQUESTS[name]
    operation = _operation(schema, method, path)
    headers = _auth(path)
    url = path.replace("{id}", str(customer_id))
    response = client.request(method, url, params=query, json=body, headers=headers)
    assert response.status_code == 200, response.text
    names = {"customer_id": str(customer_id), "orgCode": "acme"}
    case = operation.Case(
        path_parameters={k: v for k, v in names.items() if f"{{{k}}}" in operation.path},
        query=query or None,
        body=NOT_SET if body is None else body,
        media_type=None if body is None else "application/json",
    )
    case.validate_response(response, checks=CHECKS, headers=headers)


# --- the schemathesis command itself, as docs/reliability.md runs it against `make serve` ------

REPO = Path(__file__).resolve().parents[2]
RUN_EXAMPLES = os.environ.get("PATRON_FUZZ_RUN_EXAMPLES", "5")
RUN_SECONDS = os.environ.get("PATRON_FUZZ_RUN_SECONDS", "35")
PHASES = ("Examples", "Coverage", "Fuzzing", "Stateful")


def _schemathesis(location: str, *args: str, seed: int = 1) -> subprocess.CompletedProcess[str]:
    """`schemathesis run` from the repository (so schemathesis.toml and its hooks apply)."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        location,
        "--checks",
        "all",
        "--header",
        f"Authorization: {ACME_AUTH['Authorization']}",
        "--max-examples",
        RUN_EXAMPLES,
        "--max-time",
        RUN_SECONDS,
        "--seed",
        str(seed),
        # Not the examples saved by earlier runs in .hypothesis/: the run is its seed's alone,
        # as on a fresh clone, instead of replaying whatever a previous local run stumbled on.
        "--generation-database",
        "none",
        "--no-color",
        *args,
    ]
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=int(RUN_SECONDS) + 120
    )


@pytest.fixture
def live_base(client: TestClient, database_url: str) -> Iterator[str]:
    """patron over TCP on the session's database, its throttle out of the fuzzer's way."""
    with live_server(
        database_url, auth_failure_limit=10**9, auth_address_failure_limit=10**9
    ) as base:
        yield base
    run(client, _wipe, write=True)


def _only_generator_gave_up(output: str) -> bool:
    """Whether the run's only errors are schemathesis failing to generate data, with no failure."""
    return (
        "Cannot generate an array with" in output
        and "Schema Error: 1" in output
        and "Failures:" not in output
    )


def test_schemathesis_run_with_every_check_and_phase(live_base: str) -> None:
    """The command of docs/reliability.md: every check, every phase, no failure."""
    result = _schemathesis(f"{live_base}/openapi.json")
    output = result.stdout + result.stderr
    if result.returncode != 0 and _only_generator_gave_up(output):
        # schemathesis 4.32 sometimes fails to build a body for the registration's `contains`
        # (at least one profile with an identifier) within its time bound: a limit of the tool,
        # not a finding about patron. Another seed still runs every check and phase.
        result = _schemathesis(f"{live_base}/openapi.json", seed=2)
        output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for phase in PHASES:
        assert f"✅ {phase}" in output, output[-3000:]
    assert " passed" in output and "failure" not in output.split("SUMMARY")[-1], output[-3000:]


def test_the_run_catches_an_optional_parameter_the_route_requires(
    backend: str, live_base: str, document: dict[str, Any], tmp_path: Path
) -> None:
    """A check that cannot fail proves nothing: the lookup's old document (optional) is caught."""
    if backend != "sqlite":
        pytest.skip("the check is the same on every backend; once is proof enough")
    old = copy.deepcopy(document)
    for parameter in old["paths"]["/v2/customers/lookup"]["get"]["parameters"]:
        parameter["required"] = False
    location = tmp_path / "openapi.json"
    location.write_text(json.dumps(old))
    result = _schemathesis(
        str(location),
        "--url",
        live_base,
        "--include-path",
        "/v2/customers/lookup",
        "--include-method",
        "GET",
        "--phases",
        "coverage",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "the document lets the request leave out what the server requires" in output
