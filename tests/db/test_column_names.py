"""`tables.column_names`: the column lists COPY and the bench loaders rely on."""

import orjson

from patron.db.tables import column_names, metadata


def test_columns_follow_the_schema_order_and_leave_out_what_is_asked() -> None:
    every = column_names("outbox")
    assert every == tuple(c.name for c in metadata.tables["outbox"].columns)
    assert column_names("outbox", without=frozenset({"published_at"})) == tuple(
        c for c in every if c != "published_at"
    )


def test_names_are_plain_strings_usable_as_json_keys() -> None:
    names = column_names("customers")
    assert all(type(n) is str for n in names)
    # Rows keyed by column name are compared as JSON by the bench's verifier.
    assert orjson.loads(orjson.dumps(dict.fromkeys(names, 1))) == dict.fromkeys(names, 1)
