"""docs/events.md says what the code does: the event types, their fields, the settings."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from patron.config import Settings
from patron.customers.events import EVENT_TYPES, STREAM, SUBJECT_PREFIX
from patron.events.relay import STREAM_SUBJECTS
from tests.events.test_model import a_plan, build

DOC = (Path(__file__).parents[2] / "docs" / "events.md").read_text()


def examples() -> dict[str, dict[str, object]]:
    """The example payload under each `### <type>` heading."""
    found = {}
    for section in re.split(r"^### ", DOC, flags=re.M)[1:]:
        heading, _, body = section.partition("\n")
        block = re.search(r"```json\n(.*?)```", body, flags=re.S)
        assert block, f"no example payload under {heading}"
        found[heading.strip()] = orjson.loads(block.group(1))
    return found


def test_doc_lists_exactly_the_event_types_in_order() -> None:
    assert list(examples()) == list(EVENT_TYPES)


def test_examples_have_exactly_the_fields_the_builder_writes() -> None:
    built = {
        e["type"]: e
        for registered in (True, False)
        for e in build(a_plan(enrolments=1, credits=1), registered=registered)
    }
    for event_type, example in examples().items():
        assert example["type"] == event_type
        assert set(example) == set(built[event_type]) - {"subject", "id"}, event_type


def test_doc_names_the_stream_and_subjects() -> None:
    assert f"| stream | `{STREAM}` |" in DOC
    assert f"`{STREAM_SUBJECTS}`" in DOC
    assert f"`{SUBJECT_PREFIX}.<org>.<type>`" in DOC


def test_every_setting_the_doc_names_exists_and_every_relay_setting_is_named() -> None:
    named = set(re.findall(r"PATRON_([A-Z_]+)", DOC))
    fields = {name.upper() for name in Settings.model_fields}
    assert named <= fields, named - fields
    relay = {f for f in fields if f.startswith(("RELAY_", "NATS_"))}
    assert relay <= named, relay - named
