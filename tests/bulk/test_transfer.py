"""What an import's preparing processes hand the importing process: JSON already encoded, and
events that pickle as plain values, stored exactly as the API stores them."""

from __future__ import annotations

import pickle
import sqlite3
from datetime import UTC, datetime

import orjson

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


def test_encoded_json_and_events_cross_processes_unchanged() -> None:
    event = Event("e1", "patron.acme.customer.registered", '{"type": "customer.registered"}')
    text = JsonText('{"a":1}')
    back_event, back_text = pickle.loads(pickle.dumps((event, text)))
    assert back_event == event and type(back_event) is Event
    assert back_text == text and type(back_text) is JsonText
