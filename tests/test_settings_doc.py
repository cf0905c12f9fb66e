"""docs/operations.md's configuration reference is the Settings class, row for row."""

from __future__ import annotations

from pathlib import Path

from patron.config import Settings
from patron.config_doc import BEGIN, END, settings_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def test_reference_block_matches_the_settings_class() -> None:
    text = DOC.read_text()
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == settings_markdown(), "run `make docs` to regenerate the settings reference"


def test_every_setting_is_described() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert missing == []
    for name in Settings.model_fields:
        assert f"`PATRON_{name.upper()}`" in settings_markdown()
