"""`tables.column_names`: the column lists COPY and the bench loaders rely on."""

import orjson

from patron.db.columns import COPY_COLUMNS
from patron.db.tables import CUSTOMER_ROW_TABLES, column_names, metadata


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


def test_customer_tables_come_parents_first_and_are_all_that_hold_customer_rows() -> None:
    position = {t: i for i, t in enumerate(CUSTOMER_ROW_TABLES)}
    for name in CUSTOMER_ROW_TABLES:
        for fk in metadata.tables[name].foreign_keys:
            parent = fk.column.table.name
            if parent in position:
                assert position[parent] < position[name], (parent, name)
    holding = {
        t.name
        for t in metadata.tables.values()
        if "customer_id" in t.columns or t.name == "customers"
    }
    assert holding - {"outbox", "idempotency_keys"} == set(CUSTOMER_ROW_TABLES)


def test_the_sqlalchemy_free_copy_columns_are_the_schemas() -> None:
    assert tuple(COPY_COLUMNS) == (*CUSTOMER_ROW_TABLES, "outbox")
    for table, columns in COPY_COLUMNS.items():
        assert columns == column_names(table, without=frozenset({"published_at"})), table
