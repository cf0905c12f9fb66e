"""The error catalogue is the one source of truth: unique codes, docs generated from it."""

from __future__ import annotations

from pathlib import Path

from patron import errors

FIXED = {8008, 8010, 8011, 8012, 8013, 8015, 8045, 8053, 8055, 8056, 8057, 8058, 8065}


def test_codes_are_unique_and_contract_codes_present() -> None:
    codes = [e.code for e in errors.CATALOGUE]
    assert len(codes) == len(set(codes))
    assert set(codes) >= FIXED
    assert len({e.name for e in errors.CATALOGUE}) == len(codes)


def test_docs_errors_md_matches_the_catalogue() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
    assert doc.read_text() == errors.catalogue_markdown(), (
        "run `make docs` to regenerate docs/errors.md"
    )
