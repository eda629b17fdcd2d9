"""Hand-written SQL for the import hot path: multi-row INSERTs and a few queries, on the DB-API cursor.

Profiling a cycle showed Django's per-call work (building and compiling each query, adapting every field,
the cursor wrappers) at over half the time per message. These few statements are the whole write path of
an imported message, so they are built once per shape and run on the driver's own cursor — inside the
same connection and transaction as everything else. Values still go through Django's field adaptation
wherever a field needs it (JSON, dates); plain strings, numbers and booleans pass as they are.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

# Fields whose Python values the drivers take unchanged (ints for foreign keys: rows name them by id).
_PLAIN = {
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField", "ForeignKey",
    "IntegerField", "OneToOneField", "PositiveIntegerField", "SmallIntegerField", "TextField",
}  # fmt: skip

# (row, now, the database wrapper) -> the value to send
MAX_PARAMS = 30000  # per statement: SQLite allows 32,766, PostgreSQL 65,535
MAX_ROWS = 64  # per statement

Getter = Callable[[dict[str, Any], Any, BaseDatabaseWrapper], Any]
# per shape: the SQL, the getters of each row's values, and of the values that are the same for every row
# (timestamps, constant defaults), whose columns come last
_statements: dict[tuple[Any, ...], tuple[str, list[Getter], list[Getter]]] = {}


def _db() -> BaseDatabaseWrapper:
    """The connection itself, looked up once per statement: every attribute read through Django's
    ``connection`` proxy costs a thread-local lookup, and field adaptation reads many."""
    return connections[DEFAULT_DB_ALIAS]


_TEXT = {"CharField", "TextField", "JSONField"}


def nul_free(value: Any) -> Any:
    """``value`` with NUL characters replaced by U+FFFD, in strings, lists and dicts. PostgreSQL stores
    no NUL in text or JSON, and a NUL in a mail (a broken client, a decoded =00) is never meaningful."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [nul_free(v) for v in value]
    if isinstance(value, dict):
        return {nul_free(k): nul_free(v) for k, v in value.items()}
    return value


def _getter(field: models.Field[Any, Any], vendor: str) -> Getter:
    """How a row's own value of ``field`` is sent."""
    internal = field.get_internal_type()
    name, plain, text = field.name, internal in _PLAIN, internal in _TEXT
    if internal == "JSONField" and vendor == "sqlite" and getattr(field, "encoder", None) is None:
        # what Django's adaptation comes to on SQLite (json.dumps), without its four layers of calls
        return lambda row, now, db: json.dumps(nul_free(row[name]))
    if plain and text:
        return lambda row, now, db: nul_free(row[name])
    if plain:
        return lambda row, now, db: row[name]
    if text:
        return lambda row, now, db: field.get_db_prep_save(nul_free(row[name]), db)
    return lambda row, now, db: field.get_db_prep_save(row[name], db)


# Defaults that make the same value for every row: sent once per statement, not made for each row.
_SAME_FOR_EVERY_ROW = (list, dict, tuple, str)


def _unnamed(field: models.Field[Any, Any]) -> tuple[bool, Getter]:
    """How ``field`` is filled when rows don't name it: (the same for every row, its getter)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return True, lambda row, now, db: field.get_db_prep_save(now, db)
    if field.has_default():
        same = not callable(field.default) or field.default in _SAME_FOR_EVERY_ROW
        return same, lambda row, now, db: field.get_db_prep_save(field.get_default(), db)
    if field.null:
        return True, lambda row, now, db: None
    raise ValueError(f"{field.model.__name__}.{field.name} needs a value")


def _statement(
    db: BaseDatabaseWrapper, model: type[models.Model], names: tuple[str, ...], count: int, ignore: bool
) -> tuple[str, list[Getter], list[Getter]]:
    cache_key = (db.vendor, model, names, count, ignore)
    if (found := _statements.get(cache_key)) is not None:
        return found
    meta, quote = model._meta, db.ops.quote_name
    own: list[tuple[models.Field[Any, Any], Getter]] = []
    same: list[tuple[models.Field[Any, Any], Getter]] = []
    for f in meta.concrete_fields:
        if f.name in names:
            own.append((f, _getter(f, db.vendor)))
        elif not f.primary_key:
            once, getter = _unnamed(f)
            (same if once else own).append((f, getter))
    fields = [f for f, _ in own + same]
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = _native(
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "
        f"VALUES {', '.join([one] * count)}"
        f"{' ON CONFLICT DO NOTHING' if ignore else ''} RETURNING {quote(str(meta.pk.column))}",
        db.vendor,
    )
    if len(_statements) > 256:  # a handful of shapes per table (see _chunk_sizes); a bound all the same
        _statements.clear()
    found = _statements[cache_key] = (sql, [g for _, g in own], [g for _, g in same])
    return found


def insert(
    model: type[models.Model], rows: list[dict[str, Any]], ignore_conflicts: bool = False
) -> list[int]:
    """Insert ``rows`` (field name -> value; a foreign key by its id; every row with the same keys) and
    return their primary keys (only of the rows inserted, with ``ignore_conflicts``)."""
    if not rows:
        return []
    db, names, now = _db(), tuple(rows[0]), timezone.now()
    ids: list[int] = []
    start = 0
    for size in _chunk_sizes(len(rows), MAX_PARAMS // len(model._meta.concrete_fields)):
        chunk = rows[start : start + size]
        start += size
        sql, getters, once = _statement(db, model, names, size, ignore_conflicts)
        same = [get({}, now, db) for get in once]
        params = [v for row in chunk for v in (*[get(row, now, db) for get in getters], *same)]
        ids += [r[0] for r in _run(db, sql, params)]
    return ids


def _chunk_sizes(count: int, most: int) -> list[int]:
    """Rows per statement: powers of two (37 rows: 32 + 4 + 1), so that a table has a handful of statement
    shapes, each cached and prepared once, however the group sizes vary."""
    sizes, cap = [], 1 << (min(MAX_ROWS, max(1, most)).bit_length() - 1)
    while count:
        size = min(cap, 1 << (count.bit_length() - 1))
        sizes.append(size)
        count -= size
    return sizes


def fetch(
    sql: str, params: Sequence[Any] = (), db: BaseDatabaseWrapper | None = None
) -> list[tuple[Any, ...]]:
    """Run one statement on the driver's cursor; ``sql`` uses ``%s`` placeholders on every database."""
    db = db or _db()
    return _run(db, native(sql, db.vendor), params)


def _run(db: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """``sql`` in the driver's own placeholders (see ``native``)."""
    if db.connection is None:
        db.ensure_connection()
    if db.vendor == "postgresql":
        # A raw cursor with server-side binding: Django's client cursor quotes every value in Python (for
        # the text and HTML of a mail that costs more than the database's work), and psycopg's own cursor
        # re-parses every long statement to find its placeholders. Repeated shapes get prepared.
        import psycopg

        cursor = psycopg.RawCursor(db.connection)
    else:
        cursor = db.connection.cursor()
    try:
        with db.wrap_database_errors:  # driver errors become Django's (IntegrityError, OperationalError...)
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()


def _native(sql: str, vendor: str) -> str:
    """``%s`` placeholders as the driver takes them: ``?`` for SQLite, ``$1, $2...`` for PostgreSQL."""
    if vendor == "sqlite":
        return sql.replace("%s", "?")
    if vendor == "postgresql":
        pieces = sql.split("%s")
        return "".join(f"{piece}${i}" for i, piece in enumerate(pieces[:-1], 1)) + pieces[-1]
    return sql


# The hand-written queries, converted once each (a few shapes each: their IN lists vary in length).
native = functools.lru_cache(maxsize=256)(_native)


def table(model: type[models.Model]) -> str:
    return _db().ops.quote_name(model._meta.db_table)
