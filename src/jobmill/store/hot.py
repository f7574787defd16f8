"""The worker's hot statements (claims, rounds), compiled once and run on the driver.

A worker claims and completes thousands of jobs a second, and SQLAlchemy's
work per call (rendering parameters, making and converting each row) cost
about as much as the database's. Each statement here is compiled once per
driver; its parameters and rows go through the conversions SQLAlchemy would
apply (the bind and result processors of their types), looked up once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import ReturnsRows
from sqlalchemy.types import TypeEngine

from jobmill.store.driver import driver_of

Convert = Callable[[Any], Any]


@dataclass
class DriverStatement:
    """A statement's text for one driver, and how values go in and out."""

    sql: str
    constants: dict[str, Any]  # the values written into the statement itself
    order: tuple[str, ...] | None  # parameter names in order, for a positional driver
    binds: tuple[tuple[str, Convert], ...]  # parameters to convert, by name
    types: tuple[TypeEngine[Any], ...]  # the types of its columns
    sql_dialect: Dialect
    # Columns to convert, by position: known once the driver said what it sends.
    results: tuple[tuple[int, Convert], ...] | None = None

    def bound(self, params: dict[str, Any]) -> tuple[str, Any]:
        """The text and the parameters as the driver takes them."""
        values = {**self.constants, **params}
        for name, convert in self.binds:
            values[name] = convert(values[name])
        if self.order is None:
            return self.sql, values
        return self.sql, tuple(values[name] for name in self.order)

    def run(self, connection: Connection, params: dict[str, Any]) -> tuple[list[str], list[Any]]:
        """Execute on the driver connection under ``connection`` (in its
        transaction, if any); the column names and the converted rows."""
        sql, bound = self.bound(params)
        with driver_of(connection) as driver:
            cursor = driver.cursor()
            try:
                cursor.execute(sql, bound)
                rows = cursor.fetchall()
                description = cursor.description
            finally:
                cursor.close()
        results = self.results
        if results is None:
            results = self.results = self._result_converters(description)
        if results:
            rows = [_converted(row, results) for row in rows]
        return [column[0] for column in description], rows

    def _result_converters(self, description: Any) -> tuple[tuple[int, Convert], ...]:
        # As SQLAlchemy picks them: by each column's type and the driver's type code.
        converters = []
        for index, (kind, column) in enumerate(zip(self.types, description, strict=True)):
            impl = kind.dialect_impl(self.sql_dialect)
            convert = impl.result_processor(self.sql_dialect, column[1])
            if convert is not None:
                converters.append((index, convert))
        return tuple(converters)


def _converted(row: Any, results: tuple[tuple[int, Convert], ...]) -> list[Any]:
    values = list(row)
    for index, convert in results:
        values[index] = convert(values[index])
    return values


# Bounded: each engine has a driver dialect of its own, and a process that
# makes engine after engine must not keep every one of them alive.
@lru_cache(maxsize=256)
def driver_statement(statement: ReturnsRows, sql_dialect: Dialect) -> DriverStatement:
    """``statement`` (built once, with bound parameters) compiled for ``sql_dialect``."""
    compiled = statement.compile(dialect=sql_dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a hot statement's text must not depend on its parameters")
    binds = {}
    for bind, name in compiled.bind_names.items():
        convert = bind.type.dialect_impl(sql_dialect).bind_processor(sql_dialect)
        if convert is not None:
            binds[name] = convert
    positional = compiled.positiontup if sql_dialect.positional else None
    return DriverStatement(
        compiled.string,
        dict(compiled.params),
        tuple(positional) if positional is not None else None,
        tuple(binds.items()),
        tuple(column.type for column in statement.exported_columns),
        sql_dialect,
    )
