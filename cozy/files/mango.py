"""Mango queries on io.cozy.files, translated to Django ORM filters on the index.

Only what cozy clients emit for files is understood: the operators below on the
fields below. Anything else is refused with a 400 that names it, never run as a
scan in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, Value
from django.db.models.expressions import OrderBy, RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.utils.dateparse import parse_datetime

from cozy.files.errors import BadRequest
from cozy.files.models import ROOT_ID, Node, Reference
from cozy.files.text import BadText, check_text

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
COMPARISONS = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
OPERATORS = {"$eq", "$ne", "$in", "$nin", "$exists", *COMPARISONS}
NOTHING = Q(pk__in=[])


class MangoError(BadRequest):
    pass


@dataclass(frozen=True)
class Column:
    """A Mango field on a column: ``convert`` turns a JSON value into the column's."""

    name: str
    convert: Callable[[Any], Any]
    files_only: bool = False  # absent from directories ($exists)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise MangoError(f"expected a string, got {json_type(value)}")
    if "\x00" in value:  # no text PostgreSQL stores: refused alike on every database
        raise MangoError("a string cannot contain NUL")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise MangoError(f"expected true or false, got {json_type(value)}")
    return value


def _int(value: Any) -> int:
    # cozy-stack gives sizes as strings; clients compare with either form.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MangoError(f"expected a number, got {json_type(value)}")
    try:
        number = int(value)
    except ValueError:
        raise MangoError(f"expected a number, got {value!r}") from None
    if abs(number) >= 2**63:
        raise MangoError("that number is out of range")
    return number


def _date(value: Any) -> datetime:
    try:
        parsed = parse_datetime(_text(value))
    except ValueError:
        parsed = None
    if parsed is None:
        raise MangoError(f"expected an RFC 3339 date, got {value!r}")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


COLUMNS: dict[str, Column] = {
    "_id": Column("doc_id", _text),
    "id": Column("doc_id", _text),
    "dir_id": Column("parent__doc_id", _text),
    "type": Column("type", _text),
    "name": Column("name", _text),
    "trashed": Column("trashed", _bool),
    "class": Column("mime_class", _text, files_only=True),
    "mime": Column("mime", _text, files_only=True),
    "size": Column("size", _int, files_only=True),
    "executable": Column("executable", _bool, files_only=True),
    "created_at": Column("created_at", _date),
    "updated_at": Column("updated_at", _date),
    "cozyMetadata.createdAt": Column("created_at", _date),
    "cozyMetadata.updatedAt": Column("updated_at", _date),
    "restore_path": Column("restore_path", _text),
}
JSON_PREFIXES = {"cozyMetadata.": "cozy_metadata", "metadata.": "metadata"}
# A key of cozyMetadata or metadata, dotted for nested keys (what clients query)
JSON_KEY_PATTERN = r"^(cozyMetadata|metadata)(\.[A-Za-z0-9_]+)+$"
_JSON_KEY = re.compile(JSON_KEY_PATTERN)


def json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number") \
        if value is not None else "null"


# -- selectors --------------------------------------------------------------------
MAX_DEPTH = 16  # nested $and/$or/$not: deeper is no query a client sends


MAX_TERMS = 200  # conditions in a whole selector: SQLite refuses an expression over 1000 deep
MAX_VALUES = 5000  # array items in a whole selector: bound parameters (PostgreSQL takes 65535)


def check_size(selector: Any) -> None:
    """Refuse a selector too wide to become one SQL statement, before any Q is built: a
    ``$or`` of thousands of terms, or dozens of ``$in`` lists of 1000 values."""
    terms = values = 0
    stack = [selector]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            terms += len(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            values += len(node)
            stack.extend(node)
        if terms > MAX_TERMS:
            raise MangoError(f"a selector holds at most {MAX_TERMS} conditions")
        if values > MAX_VALUES:
            raise MangoError(f"a selector's arrays hold at most {MAX_VALUES} values in all")


def check_texts(body: Any) -> None:
    """Every text of the query (keys too) is one every database takes (cozy.files.parser)."""
    try:
        check_text(body)
    except BadText as exc:
        raise MangoError(str(exc)) from None


def selector_q(selector: Any, depth: int = 0, scope: int | None = None) -> Q:
    """The whole selector as one Q (fields are ANDed, as in Mango). ``scope`` is the
    instance's id: with it, ids of directories are resolved first (see _dir_id)."""
    if not isinstance(selector, dict):
        raise MangoError("the selector must be an object")
    if depth > MAX_DEPTH:
        raise MangoError(f"selectors nest at most {MAX_DEPTH} levels")
    q = Q()
    for key, value in selector.items():
        q &= _combinator(key, value, depth, scope) if key.startswith("$") else _field(key, value, depth, scope)
    return q


def _combinator(op: str, value: Any, depth: int, scope: int | None) -> Q:
    if op in ("$and", "$or", "$nor"):
        if not isinstance(value, list) or not value:
            raise MangoError(f"{op} takes a non-empty array of selectors")
        parts = [selector_q(v, depth + 1, scope) for v in value]
        q = parts[0]
        for part in parts[1:]:
            q = q & part if op == "$and" else q | part
        return ~q if op == "$nor" else q
    if op == "$not":
        return ~selector_q(value, depth + 1, scope)
    raise MangoError(f"unsupported operator {op} at the top of a selector")


def _field(name: str, condition: Any, depth: int, scope: int | None) -> Q:
    if depth > MAX_DEPTH:
        raise MangoError(f"selectors nest at most {MAX_DEPTH} levels")
    if not isinstance(condition, dict) or not condition:
        return _field_op(name, "$eq", condition, scope)  # {field: value} is $eq
    q = Q()
    for op, value in condition.items():
        if op == "$not":
            q &= ~_field(name, value, depth + 1, scope)
        elif op in ("$and", "$or"):
            q &= _combinator(op, [{name: v} for v in value] if isinstance(value, list) else value, depth + 1, scope)
        else:
            q &= _field_op(name, op, value, scope)
    return q


def _field_op(name: str, op: str, value: Any, scope: int | None = None) -> Q:
    if name == "tags":
        return _tags(op, value)
    if name == "path":
        return _path(op, value)
    if name == "referenced_by":
        return _referenced_by(op, value)
    if name == "dir_id" and scope is not None and op in ("$eq", "$in", "$ne", "$nin") and value is not None:
        return _dir_id(op, value, scope)
    if name == "name" and op == "$regex":
        return _name_search(value)
    if name in COLUMNS:
        return _column(COLUMNS[name], op, value)
    for prefix, column in JSON_PREFIXES.items():
        if name.startswith(prefix) and _JSON_KEY.fullmatch(name):
            return _json_key(column, name[len(prefix):], op, value)
    raise MangoError(f"queries on the field {name!r} are not supported")


def _values(op: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise MangoError(f"{op} takes an array")
    if len(value) > MAX_LIMIT:
        raise MangoError(f"{op} takes at most {MAX_LIMIT} values")
    return value


def _check_op(op: str, allowed: set[str] = OPERATORS) -> None:
    if op not in allowed:
        raise MangoError(f"unsupported operator {op}" if op.startswith("$") else f"expected an operator, got {op!r}")


def _column(col: Column, op: str, value: Any) -> Q:
    _check_op(op)
    present = Q(type="file") if col.files_only else Q()
    if col.name == "restore_path":
        present = ~Q(restore_path="")
    if op == "$exists":
        return present if _bool(value) else (~present if present else NOTHING)
    return present & _compare(col, op, value)  # a document without the field matches no operator


def _compare(col: Column, op: str, value: Any) -> Q:
    if op in ("$in", "$nin"):
        q = Q(**{f"{col.name}__in": [col.convert(v) for v in _values(op, value)]})
        return ~q if op == "$nin" else q
    if value is None:  # null sorts before everything in Mango: {$gt: null} means "present"
        return {"$gt": Q(), "$gte": Q(), "$ne": Q()}.get(op, NOTHING)
    if op == "$eq":
        return Q(**{col.name: col.convert(value)})
    if op == "$ne":
        return ~Q(**{col.name: col.convert(value)})
    return Q(**{f"{col.name}__{COMPARISONS[op]}": col.convert(value)})


def _json_key(column: str, key: str, op: str, value: Any) -> Q:
    """A key of cozyMetadata or metadata: compared as JSON on both databases."""
    _check_op(op)
    lookup = f"{column}__{key.replace('.', '__')}"
    parent, _, last = lookup.rpartition("__")
    present = Q(**{f"{parent}__has_key": last})
    if op == "$exists":
        return present if _bool(value) else ~present
    return present & _json_compare(lookup, op, value)


# A regex that is only literal text (what a search box sends once escaped): no syntax
# character unless escaped. It is matched as a substring, never run as a regex.
_LITERAL = re.compile(r"(?:[^.*+?^${}()|\[\]\\\x00]|\\[.*+?^${}()|\[\]\\/ #&~-])*")
_ESCAPED = re.compile(r"\\(.)")


def _name_search(value: Any) -> Q:
    """{"name": {"$regex": "(?i)text"}}: a substring search on names (case folded with (?i))."""
    pattern = _text(value)
    folded = pattern.startswith("(?i)")
    literal = pattern.removeprefix("(?i)")
    if not literal or len(literal) > 255 or not _LITERAL.fullmatch(literal):
        raise MangoError("$regex on name takes a literal text (special characters escaped), optionally after (?i)")
    text = _ESCAPED.sub(r"\1", literal)
    if folded:
        return Q(name__icontains=text)
    # Not name__contains: SQLite's LIKE folds ASCII case. instr()/strpos() never do.
    return Q(GreaterThan(StrIndex("name", Value(text)), 0))


def _dir_id(op: str, value: Any, scope: int) -> Q:
    ids = [_text(v) for v in _values(op, value)] if op in ("$in", "$nin") else [_text(value)]
    # Resolved now (one lookup on the unique (instance, doc_id) index): parent_id = <a number>
    # lets the planner walk the (parent, name) index, which a subquery would not.
    parents = list(Node.objects.filter(instance_id=scope, doc_id__in=ids).values_list("pk", flat=True))
    q = Q(parent_id__in=parents)
    return ~q & Q(parent__isnull=False) if op in ("$ne", "$nin") else q


def _json_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if (isinstance(value, int) and abs(value) < 2**53) or (isinstance(value, float) and abs(value) < 1e300):
        return value
    raise MangoError("metadata keys compare with strings, booleans, null or numbers in range")


def _json_compare(lookup: str, op: str, value: Any) -> Q:
    if isinstance(value, dict | list) and op not in ("$in", "$nin"):
        raise MangoError(f"{op} on metadata keys takes a plain value")
    if op in ("$in", "$nin"):
        q = Q(**{f"{lookup}__in": [_json_value(v) for v in _values(op, value)]})
        return ~q if op == "$nin" else q
    value = _json_value(value)
    if value is None and op in COMPARISONS:
        raise MangoError(f"{op} on metadata keys takes a string, a boolean or a number")
    if op == "$eq":
        return Q(**{lookup: value})
    if op == "$ne":
        return ~Q(**{lookup: value})
    return Q(**{f"{lookup}__{COMPARISONS[op]}": value})


def _tags(op: str, value: Any) -> Q:
    """tags is an array: $all, $elemMatch {$eq}, $size, $exists, or $eq on the whole array."""
    if op == "$all":
        if not isinstance(value, list):
            raise MangoError("$all takes an array")
        q = Q()
        for tag in value:
            q &= _has_tag(_text(tag))
        return _tagged() & q if value else q
    if op == "$elemMatch":
        if not isinstance(value, dict) or not value or set(value) - {"$eq", "$in"}:
            raise MangoError("$elemMatch on tags takes $eq or $in")
        if "$eq" in value:
            return _tagged() & _has_tag(_text(value["$eq"]))
        q = NOTHING
        for tag in value["$in"] if isinstance(value["$in"], list) else [None]:
            q |= _has_tag(_text(tag))
        return _tagged() & q
    if op == "$exists":
        return Q() if _bool(value) else NOTHING
    if op == "$size":
        return _tags_size(_int(value))
    if op == "$eq" and isinstance(value, list):
        return Q(tags=[_text(t) for t in value])
    raise MangoError(f"unsupported operator {op} on tags (use $all or $elemMatch)")


def _tagged() -> Q:
    """The condition of the partial index node_tagged, written as its CREATE INDEX has it, so
    that both databases see the query implies it and look up the few tagged rows in it
    (rather than test every row of the instance with json_each or @>)."""
    return Q(RawSQL("""NOT ("files_node"."tags" = '[]')""", [], output_field=_boolean()))


def _has_tag(tag: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])
    # SQLite's JSON has no containment lookup in Django: ask json_each.
    sql = 'EXISTS (SELECT 1 FROM json_each("files_node"."tags") WHERE json_each.value = %s)'
    return Q(RawSQL(sql, [tag], output_field=_boolean()))  # noqa: S611 - constant SQL, bound parameter


def _tags_size(size: int) -> Q:
    if connection.vendor == "postgresql":
        sql = 'jsonb_array_length("files_node"."tags") = %s'
    else:
        sql = 'json_array_length("files_node"."tags") = %s'
    return Q(RawSQL(sql, [size], output_field=_boolean()))  # noqa: S611 - constant SQL, bound parameter


def _boolean() -> BooleanField:
    return BooleanField()


def _path(op: str, value: Any) -> Q:
    """Paths are not stored (a move would rewrite a subtree): only exact paths, resolved here."""
    if op == "$exists":
        return Q() if _bool(value) else NOTHING
    if op in ("$eq", "$in", "$ne", "$nin"):
        values = value if op in ("$in", "$nin") else [value]
        if not isinstance(values, list):
            raise MangoError(f"{op} takes an array")
        q = path_q([_text(v) for v in values])
        return ~q if op in ("$ne", "$nin") else q
    raise MangoError(f"unsupported operator {op} on path (only $eq, $ne, $in, $nin, $exists)")


def _referenced_by(op: str, value: Any) -> Q:
    """{"referenced_by": {"$elemMatch": {"type": ..., "id": ...}}}: a lookup in the references table."""
    if op == "$exists":
        q = Q(Exists(Reference.objects.filter(node=OuterRef("pk"))))
        return q if _bool(value) else ~q
    if op != "$elemMatch" or not isinstance(value, dict) or not value or set(value) - {"type", "id"}:
        raise MangoError("referenced_by takes $elemMatch with type and/or id, or $exists")
    match = {{"type": "doctype", "id": "doc_id"}[k]: _text(v) for k, v in value.items()}
    return Q(Exists(Reference.objects.filter(node=OuterRef("pk"), **match)))


MAX_PATH_DEPTH = 32


def path_q(paths: list[str]) -> Q:
    """Nodes at these absolute paths, as joins up the parent links: /a/b is the node
    named b whose parent is named a and whose grandparent is the root."""
    q = NOTHING
    for path in paths:
        parts = [p for p in path.split("/") if p]
        if not path.startswith("/") or len(parts) > MAX_PATH_DEPTH:
            raise MangoError(f"a path is absolute, at most {MAX_PATH_DEPTH} levels deep")
        one, up = Q(), ""
        for name in reversed(parts):
            one &= Q(**{f"{up}name": name})
            up += "parent__"
        q |= one & Q(**{f"{up}doc_id": ROOT_ID})
    return q


# -- options -----------------------------------------------------------------------

@dataclass
class MangoQuery:
    where: Q
    order: list[Any]
    limit: int
    skip: int
    fields: list[str] | None = None
    # The selector names directories of the instance (a top-level dir_id $eq/$in, resolved in
    # scope): their children are the instance's, as GET /files/{id} lists them, so the query
    # needs no instance filter, which would lure SQLite (no statistics) off the parent index.
    in_scope_dirs: bool = False


def _names_dirs(selector: Any) -> bool:
    if not isinstance(selector, dict) or "dir_id" not in selector:
        return False
    condition = selector["dir_id"]
    if isinstance(condition, str):
        return True
    return isinstance(condition, dict) and bool(set(condition) & {"$eq", "$in"})


def parse(body: Any, scope: int | None = None) -> MangoQuery:
    if not isinstance(body, dict):
        raise MangoError("the body must be a JSON object with a selector")
    unknown = set(body) - {"selector", "sort", "limit", "skip", "bookmark", "fields", "use_index",
                           "execution_stats", "r", "conflicts", "stable", "update"}
    if unknown:
        raise MangoError(f"unsupported query option(s): {', '.join(sorted(unknown))}")
    check_size(body.get("selector", {}))
    check_texts(body)
    where = selector_q(body.get("selector", {}), scope=scope)
    limit = _bounded(body.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    skip = _bounded(body.get("skip"), "skip", 0, 0, 10**9)
    if body.get("bookmark") not in (None, ""):
        skip = decode_bookmark(body["bookmark"])
    fields = body.get("fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise MangoError("fields must be an array of names")
    in_scope = scope is not None and _names_dirs(body.get("selector"))
    return MangoQuery(where, sort_order(body.get("sort")), limit, skip, fields, in_scope)


def _bounded(value: Any, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 2.0 is the integer 2 (as JSON Schema says)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise MangoError(f"{name} must be an integer from {low}")
    return min(value, high)


# The row id breaks ties, written pk + 0 so that no index can serve it: an ORDER BY that
# an index serves lures SQLite (and PostgreSQL without statistics) into walking that
# index, filtering every row of the instance, instead of the index the selector needs.
TIE = OrderBy(ExpressionWrapper(F("pk") + 0, output_field=BigIntegerField()))


def sort_order(sort: Any) -> list[Any]:
    """Mango's sort ([{"name": "asc"}, "size", ...]) as order_by terms, the row id last
    (stable pages; unlike doc_id, it does not lure SQLite into walking the id index)."""
    if sort is None:
        return [TIE]
    if not isinstance(sort, list):
        raise MangoError("sort must be an array")
    terms: list[Any] = []
    for item in sort:
        name, direction = (item, "asc") if isinstance(item, str) else _sort_item(item)
        expr = _sort_expr(name)
        terms.append(OrderBy(expr, descending=direction == "desc"))
    return [*terms, TIE]


def _sort_item(item: Any) -> tuple[str, str]:
    if not isinstance(item, dict) or len(item) != 1:
        raise MangoError("each sort term is a field name or {field: 'asc'|'desc'}")
    ((name, direction),) = item.items()
    if direction not in ("asc", "desc"):
        raise MangoError("sort directions are 'asc' or 'desc'")
    return name, direction


def _sort_expr(name: str):
    if name in COLUMNS:
        return F(COLUMNS[name].name)
    for prefix, column in JSON_PREFIXES.items():
        if isinstance(name, str) and name.startswith(prefix) and _JSON_KEY.fullmatch(name):
            return KeyTextTransform(name[len(prefix):], column)
    raise MangoError(f"sorting on {name!r} is not supported")


# A bookmark is the number of rows already given: a pattern the OpenAPI document can say
# exactly (empty: the first page), checked before it is read.
BOOKMARK_PATTERN = r"^[0-9]{0,10}$"
_BOOKMARK = re.compile(BOOKMARK_PATTERN)


def encode_bookmark(skip: int) -> str:
    return str(skip)


def decode_bookmark(bookmark: Any) -> int:
    if not isinstance(bookmark, str) or not _BOOKMARK.fullmatch(bookmark):
        raise MangoError("this bookmark was not given by this server")
    return int(bookmark or 0)
