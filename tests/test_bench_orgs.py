"""The benchmark's orgs (the demo org under codes of their own) can live side by side."""

from __future__ import annotations

from bench import dataset
from starlette.testclient import TestClient

from tests.orgs.support import put


def test_every_bench_org_applies_beside_the_others(client: TestClient) -> None:
    # make bench applies them all to one database: a credential copied from the demo org into
    # two of them would be refused as held by another org (409).
    for index in range(dataset.ORG_COUNT):
        doc = dataset.org_document(index)
        code = doc.pop("orgCode")
        response = put(client, code, doc)
        assert response.status_code == 200, response.text
