"""docs/observability.md lists exactly the metrics patron defines."""

from __future__ import annotations

from pathlib import Path

from patron.observability.metrics import DOC_BEGIN as START
from patron.observability.metrics import DOC_END as END
from patron.observability.metrics import metrics_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "observability.md"


def test_the_metric_table_matches_the_definitions() -> None:
    text = DOC.read_text()
    table = text[text.index(START) + len(START) : text.index(END)]
    assert table == metrics_markdown(), "docs/observability.md is out of date: run `make docs`"


def test_every_setting_the_page_names_exists() -> None:
    from patron.config import Settings

    text = DOC.read_text()
    for name in ("readiness_timeout_seconds", "access_log", "config_cache_seconds", "pool_size"):
        assert name in Settings.model_fields
        assert f"PATRON_{name.upper()}" in text
