"""What crosses between an import's processes: lines to the preparing processes, and back JSON
already encoded (stored exactly as the API stores the value) and events, pickled as plain values."""

from __future__ import annotations

import pickle
import sqlite3
from datetime import UTC, datetime

import orjson

from patron.bulk.formats import Line
from patron.customers.events import Event
from patron.db.driver import JsonText
from patron.db.postgres import _jsonb_binary

VALUE = {"city": "Pune", "at": datetime(2026, 12, 7, tzinfo=UTC), "n": [1, 2]}


def test_encoded_json_is_stored_as_the_value_would_be() -> None:
    text = JsonText(orjson.dumps(VALUE).decode())
    assert _jsonb_binary(text) == _jsonb_binary(VALUE)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (j JSON)")
    db.execute("INSERT INTO t VALUES (?)", (text,))
    [(stored,)] = db.execute("SELECT j FROM t").fetchall()
    assert stored == text


def test_lines_encoded_json_and_events_cross_processes_unchanged() -> None:
    line = Line(7, {"mobile": "919800000001"})
    event = Event("e1", "patron.acme.customer.registered", '{"type": "customer.registered"}')
    text = JsonText('{"a":1}')
    back_line, back_event, back_text = pickle.loads(pickle.dumps((line, event, text)))
    assert back_line == line and type(back_line) is Line
    assert back_event == event and type(back_event) is Event
    assert back_text == text and type(back_text) is JsonText
