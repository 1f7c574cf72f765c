"""Statements by name: one text for both backends, translated once for asyncpg."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from app.db.statements import Rows, Statement


def test_named_parameters_become_positions_in_order_of_first_use_and_casts_stay() -> None:
    statement = Statement(
        "UPDATE items SET name = :name WHERE id = :id AND version = ANY(:versions::bigint[]) AND id <> :name"
    )

    assert statement.positional_sql == (
        "UPDATE items SET name = $1 WHERE id = $2 AND version = ANY($3::bigint[]) AND id <> $1"
    )
    assert statement.parameter_order == ("name", "id", "versions")
    assert statement.arguments({"versions": [1], "id": 7, "name": "n", "unused": 0}) == ["n", 7, [1]]


def test_postgresql_gets_its_own_words_where_given() -> None:
    statement = Statement(
        "DELETE FROM t WHERE x IN (SELECT value FROM json_each(:x))", postgresql_sql="DELETE FROM t WHERE x = ANY(:x)"
    )

    assert statement.positional_sql == "DELETE FROM t WHERE x = ANY($1)"
    assert statement.sql.endswith("json_each(:x))")


@pytest.mark.parametrize(
    ("sql", "summary"),
    [
        ("SELECT a, b FROM items WHERE id = :id", "SELECT items"),
        ("INSERT INTO idempotency_keys (a) VALUES (:a)", "INSERT idempotency_keys"),
        ("update items set a = 1", "UPDATE items"),
        ("DELETE FROM items WHERE id = :id", "DELETE items"),
    ],
)
def test_a_statement_is_summarised_by_what_it_does_to_which_table(sql: str, summary: str) -> None:
    assert Statement(sql).summary == summary


def test_a_statement_that_names_no_table_is_refused() -> None:
    with pytest.raises(ValueError, match="naming its table"):
        Statement("VACUUM")


class Pair(msgspec.Struct, frozen=True):
    when: datetime
    count: int


@pytest.mark.parametrize(
    "columns",
    [("when", "count"), ("when", "count", "extra"), ("count", "when"), ("extra", "count", "when")],
    ids=["the fields", "the fields first", "another order", "another column first"],
)
def test_rows_become_structs_by_column_name_whatever_their_order(columns: tuple[str, ...]) -> None:
    values = {"when": "2026-12-04T10:00:00.000000+00:00", "count": 3, "extra": "left out"}
    rows = Rows(columns, [tuple(values[column] for column in columns)])

    assert rows.into(Pair) == [Pair(datetime(2026, 12, 4, 10, tzinfo=UTC), 3)]
    assert rows.value("count") == 3
