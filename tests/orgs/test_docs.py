"""docs/org-config.md is generated from the wire model, and the demo org follows it."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from patron.cli.main import app
from patron.orgs.schema import OrgDocument, document_markdown
from patron.orgs.validation import parse_document

ROOT = Path(__file__).parents[2]


def test_org_config_doc_is_generated_from_the_schema() -> None:
    text = (ROOT / "docs" / "org-config.md").read_text()
    assert text == document_markdown(), "run `patron org docs > docs/org-config.md`"


def test_doc_covers_every_key_of_the_document() -> None:
    text = document_markdown()
    for name, field in OrgDocument.model_fields.items():
        assert f"| `{field.alias or name}` |" in text


def test_docs_command_prints_the_doc() -> None:
    result = CliRunner().invoke(app, ["org", "docs"])
    assert result.exit_code == 0
    assert result.output == document_markdown()


def test_demo_org_is_a_valid_document() -> None:
    data = yaml.safe_load((ROOT / "examples" / "demo-org.yaml").read_text())
    assert data.pop("orgCode") == "demo"
    doc, problems = parse_document(data)
    assert problems == [] and doc is not None
    assert [s.source for s in doc.sources] == ["INSTORE", "ECOMMERCE", "WECHAT", "MOBILE_APP"]
