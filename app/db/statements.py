"""SQL statements with named parameters (`:name`), written once and run by either backend.

SQLite takes `:name` as it is; asyncpg takes only `$1, $2…`, so each statement is translated once, when it is
defined, together with the order its parameters go in. A store never counts parameters or columns: it passes a
mapping by name and reads rows by column name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

import msgspec

Parameters = Mapping[str, object]
S = TypeVar("S", bound=msgspec.Struct)

# A name after one colon; `::bigint`, PostgreSQL's casts, is left alone.
PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
# What the spans say a statement does (OpenTelemetry's db.operation.name and db.collection.name).
TARGET = re.compile(
    r"\s*(?:(SELECT)\b.*?\bFROM|(INSERT)\s+INTO|(UPDATE)|(DELETE)\s+FROM)\s+(\w+)", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement in both dialects: `sql`, and `postgresql_sql` where PostgreSQL needs other words."""

    sql: str
    postgresql_sql: str | None = None
    operation: str = field(init=False)
    table: str = field(init=False)
    # asyncpg's positional form, and which named parameter goes in each position.
    positional_sql: str = field(init=False)
    parameter_order: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        target = TARGET.match(self.sql)
        if target is None:
            raise ValueError(f"not a SELECT, INSERT, UPDATE or DELETE naming its table: {self.sql[:60]!r}")
        select, insert, update, delete, table = target.groups()
        object.__setattr__(self, "operation", (select or insert or update or delete).upper())
        object.__setattr__(self, "table", table)
        order: list[str] = []

        def position(name: re.Match[str]) -> str:
            if name[1] not in order:
                order.append(name[1])
            return f"${order.index(name[1]) + 1}"

        object.__setattr__(self, "positional_sql", PARAMETER.sub(position, self.postgresql_sql or self.sql))
        object.__setattr__(self, "parameter_order", tuple(order))

    @property
    def reads_only(self) -> bool:
        return self.operation == "SELECT"

    @property
    def summary(self) -> str:
        """`SELECT items`: what a span of this statement is named."""
        return f"{self.operation} {self.table}"

    def arguments(self, parameters: Parameters) -> list[object]:
        """The parameters in asyncpg's order; a missing one is a bug of the store (KeyError)."""
        return [parameters[name] for name in self.parameter_order]


def columns(names: Iterable[str]) -> str:
    """`a, b, c`: a column list, from the fields of the Struct a row is read into."""
    return ", ".join(names)


def placeholders(names: Iterable[str]) -> str:
    """`:a, :b, :c`: the named parameters that fill those columns."""
    return ", ".join(f":{name}" for name in names)


@dataclass(frozen=True, slots=True)
class Rows:
    """What a statement returned: its columns' names, and the rows' values in that order."""

    columns: tuple[str, ...]
    records: list[tuple[Any, ...]]

    def value(self, column: str, row: int = 0) -> Any:
        return self.records[row][self.columns.index(column)]

    def into(self, kind: type[S]) -> list[S]:
        """The rows as `kind`, each field from the column of its name (msgspec converts ids, times and the rest);
        columns `kind` has no field for are left out."""
        return _reader(kind, self.columns)(self.records)


@cache
def _reader(kind: type[S], columns: tuple[str, ...]) -> Callable[[list[tuple[Any, ...]]], list[S]]:
    """How rows of `columns` become `kind`s: once per statement's columns, not per row."""
    fields = kind.__struct_fields__
    if columns[: len(fields)] != fields:
        return lambda records: msgspec.convert(
            [dict(zip(columns, record, strict=True)) for record in records], list[kind]
        )
    # The usual case, a column list made from the fields (and perhaps more after them): converted as tuples of the
    # fields' types, without a dict per row.
    values: Any = list[tuple[tuple(field.type for field in msgspec.structs.fields(kind))]]  # pyright: ignore[reportUnknownVariableType]
    if len(columns) == len(fields):
        return lambda records: [kind(*row) for row in msgspec.convert(records, values)]
    return lambda records: [
        kind(*row) for row in msgspec.convert([record[: len(fields)] for record in records], values)
    ]
