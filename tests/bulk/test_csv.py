"""CSV import: the documented column mapping, turned into the registration body the API checks."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from patron.bulk.formats import csv_body, csv_columns_markdown
from tests.builders import details
from tests.bulk.support import cli as patron
from tests.bulk.support import make_org, rejects, rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "import-export.md"


def test_the_documented_column_table_is_the_code_mapping() -> None:
    assert csv_columns_markdown() in DOC.read_text(encoding="utf-8")


def test_a_record_becomes_a_registration_body_and_empty_cells_are_left_out() -> None:
    cells = {
        "source": "",
        "firstName": "Ada",
        "mobile": "9800000001",
        "email": "",
        "programId": "1016",
        "tierNumber": "x",
        "extended.city": "Pune",
        "custom.shoe_size": "9",
    }
    assert csv_body(cells) == {
        "profiles": [
            {
                "source": "INSTORE",
                "firstName": "Ada",
                "fields": {"shoe_size": "9"},
                "identifiers": [{"type": "mobile", "value": "9800000001"}],
            }
        ],
        "loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": "x"}],
        "extendedFields": {"city": "Pune"},
    }


def test_csv_import_applies_valid_records_and_rejects_the_others(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    org, auth = make_org(client)
    file = tmp_path / "people.csv"
    file.write_text(
        "source,accountId,firstName,mobile,email,programId,tierNumber,loyaltyPoints,"
        "extended.children,custom.shoe_size\n"
        'INSTORE,,"Lee, Ann",9800000001,ann@example.com,1016,2,50,3,9\n'
        "WECHAT,wc_main,Bo,,bo@example.com,,,,,\n"
        "INSTORE,,Cy,9800000003,,,,,many,\n",
        encoding="utf-8",
    )

    result = patron(database_url, "import", str(file), "--org", org)

    assert result.exit_code == 1, result.output
    [customer] = rows(client, "SELECT id FROM customers WHERE org_id = $1 ORDER BY id", org)[:1]
    data = details(client, customer["id"], auth=auth)
    assert data["profiles"][0]["firstName"] == "Lee, Ann"
    assert data["profiles"][0]["fields"] == {"shoe_size": 9}
    assert data["extendedFields"] == {"children": 3}
    assert data["loyaltyProgramDetails"][0]["loyaltyPoints"] == 50
    [refused] = rejects(tmp_path / "people.csv.rejects.jsonl")
    assert refused["line"] == 4
    assert refused["input"]["firstName"] == "Cy"
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        (8141, "extendedFields.children")
    ]
    assert len(rows(client, "SELECT id FROM customers WHERE org_id = $1", org)) == 2
