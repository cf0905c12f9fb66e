"""/metrics after real requests: route templates, statuses, error codes, writes applied, pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from patron import errors
from patron.app import create_app
from patron.observability.metrics import DEFINITIONS, WRITE_KINDS
from tests.builders import lookup_params, profile, register, update
from tests.conftest import ACME_AUTH, make_settings
from tests.observability.support import Sample, parse, total, value

REQUESTS = "patron_http_requests_total"
DURATION_COUNT = "patron_http_request_duration_seconds_count"
ERRORS = "patron_errors_total"
WRITES = "patron_customer_writes_applied_total"


def scrape(client: TestClient) -> dict[Sample, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse(response.text)


def delta(client: TestClient, action: Callable[[], Any]) -> Callable[..., float]:
    """Run `action`; return a function giving how much a sample grew meanwhile."""
    before = scrape(client)
    action()
    after = scrape(client)
    return lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)


def test_metrics_are_prometheus_text_and_need_no_credentials(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    families = {f.name: f.type for f in text_string_to_metric_families(response.text)}
    for d in DEFINITIONS:
        # The parser names counters without their `_total` suffix.
        assert families[d.name.removesuffix("_total")] == d.kind, d.name


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    cid = register(client)

    def calls() -> None:
        assert client.get(f"/v2/customers/{cid}", headers=ACME_AUTH).status_code == 200
        assert client.get("/v2/customers/999999", headers=ACME_AUTH).status_code == 404
        assert client.get(f"/v2/customers/{cid}").status_code == 401
        assert client.get("/no/such/path").status_code == 404

    grew = delta(client, calls)
    route = "/v2/customers/{customer_id}"
    for status in ("200", "404", "401"):
        assert grew(REQUESTS, method="GET", route=route, status=status) == 1, status
    assert grew(DURATION_COUNT, method="GET", route=route) == 3
    assert grew(REQUESTS, method="GET", route="unmatched", status="404") == 1
    after = scrape(client)
    # The raw path is never a label value: only templates (and "unmatched") are.
    assert total(after, REQUESTS, route=f"/v2/customers/{cid}") == 0
    assert total(after, REQUESTS, route="/no/such/path") == 0


def test_an_unusual_method_is_one_label_value(client: TestClient) -> None:
    grew = delta(client, lambda: client.request("BREW", "/v2/customers"))
    assert grew(REQUESTS, method="OTHER", route="/v2/customers", status="405") == 1


def test_duplicate_identifier_counts_error_8008(client: TestClient) -> None:
    register(client)

    def duplicate() -> None:
        response = client.post("/v2/customers", json={"profiles": [profile()]}, headers=ACME_AUTH)
        assert response.status_code == 409

    grew = delta(client, duplicate)
    assert grew(ERRORS, code="8008") == 1
    assert grew(REQUESTS, method="POST", route="/v2/customers", status="409") == 1


def test_every_error_item_of_a_response_is_counted(client: TestClient) -> None:
    # A bad flag and an unknown identifier name in one request: one 400 body, several errors.
    params = lookup_params(name="nonsense", dryRun="maybe")
    reported: list[int] = []

    def bad() -> None:
        response = update(client, {"profiles": []}, params=params)
        assert response.status_code == 400
        reported.extend(e["code"] for e in response.json()["errors"])

    grew = delta(client, bad)
    assert len(reported) >= 2
    for code in set(reported):
        assert grew(ERRORS, code=str(code)) == reported.count(code)


def test_writes_applied_count_only_writes_that_stored_something(client: TestClient) -> None:
    body = {"profiles": [profile()]}

    def writes() -> None:
        dry = client.post("/v2/customers", params={"dryRun": "true"}, json=body, headers=ACME_AUTH)
        assert dry.status_code == 200
        register(client)
        assert (
            update(client, {"extendedFields": {"city": "Pune"}}, dryRun="true").status_code == 200
        )
        assert update(client, {"extendedFields": {"city": "Pune"}}).status_code == 200
        # The same value again changes nothing, so nothing is written.
        assert update(client, {"extendedFields": {"city": "Pune"}}).status_code == 200
        keyed = {**ACME_AUTH, "Idempotency-Key": "metrics-replay"}
        for _ in range(2):  # the second is a replay of the first
            response = update(client, {"extendedFields": {"city": "Agra"}}, auth=keyed)
            assert response.status_code == 200
        assert response.headers.get("idempotent-replayed") == "true"

    grew = delta(client, writes)
    assert grew(WRITES, kind="registration") == 1
    assert grew(WRITES, kind="update") == 2


def test_write_kinds_exist_from_the_start(client: TestClient) -> None:
    samples = scrape(client)
    assert {k for k in WRITE_KINDS} <= {
        dict(labels)["kind"] for (name, labels) in samples if name == WRITES
    }


def test_pool_usage_is_reported(client: TestClient, backend: str) -> None:
    register(client)
    samples = scrape(client)
    size = value(samples, "patron_db_pool_connections")
    in_use = value(samples, "patron_db_pool_in_use")
    idle = value(samples, "patron_db_pool_idle")
    most = value(samples, "patron_db_pool_max")
    # /metrics holds no connection while it reports, so every open one is idle.
    assert in_use == 0
    assert idle == size >= 1
    assert most == (1 if backend == "sqlite" else make_settings("x").pool_size)


@pytest.fixture
def failing_client(database_url: str) -> Any:
    """An app with one extra route that fails, to see what an unexpected exception becomes."""
    app = create_app(make_settings(database_url))

    @app.get("/test-only/fails")
    async def fails() -> None:
        raise RuntimeError("an unexpected failure")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_unexpected_exception_is_a_counted_500_with_its_request_id(
    failing_client: TestClient,
) -> None:
    def fail() -> None:
        response = failing_client.get("/test-only/fails", headers={"X-Request-Id": "boom-1"})
        assert response.status_code == 500
        assert response.json()["errors"][0]["code"] == errors.INTERNAL.code
        assert response.headers["x-request-id"] == "boom-1"

    grew = delta(failing_client, fail)
    assert grew(REQUESTS, method="GET", route="/test-only/fails", status="500") == 1
    assert grew(ERRORS, code=str(errors.INTERNAL.code)) == 1


def test_apps_in_one_process_have_their_own_metrics(database_url: str) -> None:
    first, second = (create_app(make_settings(database_url)) for _ in range(2))
    with TestClient(first) as a, TestClient(second) as b:
        a.get("/healthz")
        a.get("/healthz")
        b.get("/healthz")
        assert value(scrape(a), REQUESTS, method="GET", route="/healthz", status="200") == 2
        assert value(scrape(b), REQUESTS, method="GET", route="/healthz", status="200") == 1
