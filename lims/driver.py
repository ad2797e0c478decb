"""The reads every request makes, run on the database driver itself (decision 116).

A request signed in by token asks two things before it does anything else: who holds the
token, and (for a look-up or a scan) the unit with its patient and custodian. Through the
ORM each of those cost ~0.2–0.4 ms of CPU — statement cache look-up, execution context,
result metadata built from the cursor's description, an entity loader per row — where the
driver alone needs ~0.06 ms. On a look-up that was half of the request.

:class:`DriverSelect` keeps what SQLAlchemy would work out for a Core ``select`` on every
execution and works it out once per dialect: the SQL text, the order of its parameters, and
each parameter's and column's own type conversions (``TypeEngine.dialect_impl`` → bind and
result processors, so a ``UTCDateTime`` reads back exactly as through the ORM, on
PostgreSQL and on SQLite). It runs on the DB-API connection of the session's current
connection, so a view marked ``read_only`` reads in its autocommit/deferred mode as before.
An error the server reports is raised as the exception SQLAlchemy would raise for it; a lost
connection makes the statement run once more through SQLAlchemy, which fails on it as
everywhere else (the pool's connections are replaced and the request is 503).

:func:`attach` turns one row into a persistent ORM object of the request's session, as the
ORM's loader would (its attributes loaded and unchanged; relationships given, or loaded
lazily on first use), so everything after — access rules, lifecycle guards, serialisers,
templates, writes — works on a real model object. An object the session holds already is
not replaced (``attach``'s ``existing``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Column, Insert, Select, TextualSelect, exc, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import instance_state

from .extensions import db

T = TypeVar("T")

Processor = Callable[[Any], Any] | None
ReturningInsert = Insert  # an ``insert(...).values(...).returning(...)``


@dataclass(frozen=True)
class _Prepared:
    sql: str
    positional: bool
    names: tuple[str, ...]  # the parameters in the order the SQL takes them
    defaults: Mapping[str, Any]  # values the statement carries itself (literals bound)
    binds: Mapping[str, Processor]


class DriverSelect:
    """A Core ``select`` (or an ``INSERT … RETURNING``) compiled once per dialect and run on
    the DB-API cursor."""

    def __init__(self, statement: Select | TextualSelect | ReturningInsert) -> None:
        self.statement = statement
        self.keys = tuple(c.key for c in _columns(statement))
        self._prepared: dict[str, _Prepared] = {}
        # per dialect, from the first execution's cursor description (a column's converter
        # may depend on the type the server reports, as for NUMERIC on PostgreSQL)
        # (column index, converter) for the columns that have one
        self._results: dict[str, tuple[tuple[int, Callable[[Any], Any]], ...]] = {}

    def _prepare(self, dialect: Dialect) -> _Prepared:
        compiled = self.statement.compile(dialect=dialect)
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        binds = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in compiled.binds
        }
        defaults = {k: v for k, v in compiled.params.items() if v is not None}
        prepared = _Prepared(str(compiled), positional, names, defaults, binds)
        self._prepared[dialect.name] = prepared
        return prepared

    def rows(self, params: Mapping[str, Any]) -> list[tuple]:
        """Every row, each value as the column's type reads it."""
        connection = db.session.connection()
        dialect = connection.dialect
        prepared = self._prepared.get(dialect.name) or self._prepare(dialect)
        values = {**prepared.defaults, **params}
        binds = prepared.binds
        for name, value in values.items():
            process = binds.get(name)
            if process is not None:
                values[name] = process(value)
        arguments: Any = (
            tuple(values[name] for name in prepared.names) if prepared.positional else values
        )
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(prepared.sql, arguments)
            raw = cursor.fetchall()
            results = self._results.get(dialect.name)
            if results is None:
                results = self._result_processors(dialect, cursor.description)
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, dbapi_connection, cursor)
            cursor.close()
            if lost:  # through SQLAlchemy again: it replaces the pool's connections (503)
                return [tuple(row) for row in connection.execute(self.statement, params)]
            # the server refused the statement: raised as SQLAlchemy raises it
            raise exc.DBAPIError.instance(
                prepared.sql, arguments, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        cursor.close()
        if not results:
            return [tuple(row) for row in raw]
        found = []
        for row in raw:
            values = list(row)
            for index, convert in results:
                values[index] = convert(values[index])
            found.append(tuple(values))
        return found

    def _result_processors(
        self, dialect: Dialect, description: Sequence
    ) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        converters = (
            column.type.dialect_impl(dialect).result_processor(dialect, described[1])
            for column, described in zip(_columns(self.statement), description, strict=True)
        )
        results = tuple((i, c) for i, c in enumerate(converters) if c is not None)
        self._results[dialect.name] = results
        return results

    def first(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as ``{column key: value}``, or None."""
        found = self.rows(params)
        return dict(zip(self.keys, found[0], strict=True)) if found else None


def _columns(statement: Select | TextualSelect | ReturningInsert) -> Sequence[Any]:
    """What a row of ``statement`` holds: a select's columns (a ``text().columns()`` one's
    too), an INSERT's RETURNING."""
    if isinstance(statement, Select | TextualSelect):
        return statement.selected_columns
    return statement.exported_columns


def attach(
    model: type[T],
    values: dict[str, Any],
    related: Mapping[str, Any] | None = None,
    *,
    existing: bool = False,
) -> T | None:
    """``values`` (column attributes of ``model`` by key, the primary key among them; those
    not given load on first use, as deferred columns do) as a persistent object of this
    request's session, as if the ORM had loaded it;
    ``related``: relationships to give it as loaded (an object this session holds, or None).

    When the session holds that object already: with ``existing``, that object as it is
    (what an ORM query returns too, unless told to populate it afresh); otherwise None, for
    a caller that wants it read afresh through the ORM."""
    session = db.session()
    shape = _shape(model)
    key = shape.mapper.identity_key_from_primary_key(tuple(values[k] for k in shape.primary_key))
    held = session.identity_map.get(key)
    if held is not None:
        return held if existing else None
    instance = shape.mapper.class_manager.new_instance()
    state = instance_state(instance)
    state.dict.update(values)
    if related:
        if any(
            o is not None and instance_state(o).session_id != session.hash_key
            for o in related.values()
        ):
            raise ValueError("attach: give related objects the session holds already")
        state.dict.update(related)
    # what ``make_transient_to_detached`` and ``Session.add`` do for an object whose
    # related objects the session holds already: the identity key, the loaded values as
    # committed, the columns not given to load on first use, and into the identity map.
    # (``make_transient_to_detached`` marks every attribute not given, relationships too:
    # for a relationship that changes nothing, its lazy load runs all the same.)
    # ``Session.add`` would also walk every relationship for save-update cascades, a third
    # of the cost, to find only objects the session holds (checked above).
    state.key = key
    state._commit_all(state.dict)
    missing = [k for k in shape.columns if k not in values]
    if missing:
        state._expire_attributes(state.dict, missing)
    session._update_impl(state)
    return instance


@dataclass(frozen=True)
class _Shape:
    mapper: Mapper
    primary_key: tuple[str, ...]
    columns: tuple[str, ...]  # what loads as a value (columns, expressions), by key


@functools.cache
def _shape(model: type) -> _Shape:
    mapper = inspect(model)
    return _Shape(
        mapper,
        tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key),
        tuple(a.key for a in mapper.class_manager.attributes if a.impl.accepts_scalar_loader),
    )


def column_keys(model: type) -> tuple[str, ...]:
    """The keys of a model's mapped table columns (not query expressions)."""
    return tuple(
        prop.key
        for prop in inspect(model).column_attrs
        if all(isinstance(c, Column) for c in prop.columns)
    )
