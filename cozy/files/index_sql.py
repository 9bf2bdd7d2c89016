"""The statements every upload runs, as raw SQL built once per database vendor.

Building a query through the ORM (its compiler, and the ``ORDER BY`` that ``.first()``
adds) cost more CPU than running it: about a quarter of a worker's time on a 1 KiB
upload (docs/benchmarks.md, "Files API"). These are the same queries, the rows read
back through the fields' own converters, so the ``Node`` objects are those the ORM
would have made. Names come from the models; every value is a parameter.
"""

# ruff: noqa: S608 - table and column names come from the models; every value is a parameter
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Field
from django.db.transaction import TransactionManagementError

from cozy.files.models import Node, Usage
from cozy.instances.models import Instance

Converter = Callable[[Any, Any, Any], Any]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _fields() -> list[Field]:
    return list(Node._meta.concrete_fields)


def _columns(alias: str) -> str:
    return ", ".join(f"{alias}.{_q(str(f.column))}" for f in _fields())


@lru_cache(maxsize=4)
def _converters(vendor: str) -> list[tuple[Any, list[Converter]]]:
    """Each column's converters from database values, as the ORM's compiler applies them
    (they depend on the vendor and the settings only, not on one connection)."""
    cols = [f.get_col(Node._meta.db_table) for f in _fields()]
    return [(col, [*connection.ops.get_db_converters(col), *col.field.get_db_converters(connection)])
            for col in cols]


@lru_cache(maxsize=1)
def _attnames() -> list[str]:
    return [f.attname for f in _fields()]


def _node(values: Sequence[Any]) -> Node:
    converted = []
    for (col, converters), value in zip(_converters(connection.vendor), values, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        converted.append(value)
    return Node.from_db(connection.alias, _attnames(), converted)


@lru_cache(maxsize=4)
def _dir_and_clash_sql(vendor: str) -> str:
    table = _q(Node._meta.db_table)
    clash = f"EXISTS(SELECT 1 FROM {table} c WHERE c.{_q('parent_id')} = n.{_q('id')} AND c.{_q('name')} = %s)"
    return (f"SELECT {_columns('n')}, {clash} FROM {table} n "
            f"WHERE n.{_q('instance_id')} = %s AND n.{_q('doc_id')} = %s LIMIT 1")


def node_and_clash(instance_id: int, doc_id: str, name: str) -> tuple[Node, bool] | None:
    """The node ``doc_id`` of the instance, and whether a child of it is named ``name``."""
    with connection.cursor() as cursor:
        cursor.execute(_dir_and_clash_sql(connection.vendor), [name, instance_id, doc_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return _node(row[:-1]), bool(row[-1])


@lru_cache(maxsize=4)
def _with_parent_sql(vendor: str) -> str:
    table = _q(Node._meta.db_table)
    return (f"SELECT {_columns('n')}, {_columns('p')} FROM {table} n "
            f"LEFT OUTER JOIN {table} p ON n.{_q('parent_id')} = p.{_q('id')} "
            f"WHERE n.{_q('instance_id')} = %s AND n.{_q('doc_id')} = %s LIMIT 1")


def node_with_parent(instance_id: int, doc_id: str) -> Node | None:
    """The node ``doc_id`` of the instance, its parent loaded with it (``select_related``)."""
    with connection.cursor() as cursor:
        cursor.execute(_with_parent_sql(connection.vendor), [instance_id, doc_id])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(_fields())
    node = _node(row[:width])
    parent = _node(row[width:]) if row[width] is not None else None
    Node.parent.field.set_cached_value(node, parent)
    return node


@lru_cache(maxsize=4)
def _state_sql(vendor: str, for_update: bool) -> str:
    table = _q(Instance._meta.db_table)
    lock = " FOR UPDATE" if for_update else ""
    return f"SELECT {_q('state')} FROM {table} WHERE {_q('id')} = %s{lock}"


def locked_state(instance_id: int) -> str | None:
    """The instance's state, its row locked until the transaction ends (``select_for_update``;
    SQLite has no row locks: its IMMEDIATE transaction already holds the write lock)."""
    for_update = connection.features.has_select_for_update
    if for_update and connection.get_autocommit():
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(connection.vendor, for_update), [instance_id])
        row = cursor.fetchone()
    return None if row is None else row[0]


@lru_cache(maxsize=4)
def _usage_sql(vendor: str) -> str:
    return (f"SELECT {_q('files')}, {_q('versions')} FROM {_q(Usage._meta.db_table)} "
            f"WHERE {_q('instance_id')} = %s")


def usage(instance_id: int) -> tuple[int, int]:
    """Bytes of the instance's current contents and of its kept versions: one row, which the
    database's triggers keep (``files.Usage``), not a sum over every file."""
    with connection.cursor() as cursor:
        cursor.execute(_usage_sql(connection.vendor), [instance_id])
        row = cursor.fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def used_bytes(instance_id: int) -> int:
    return sum(usage(instance_id))
