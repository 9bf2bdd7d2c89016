"""The JSON Schema of a Mango query on files (POST /files/_find), for the OpenAPI document.

It says exactly what cozy.files.mango accepts, so that a client (or schemathesis) can
tell a query the server runs from one it refuses: the fields, the operators each takes,
the type of their values. The schemas are recursive ($and, $or, $not), so they live
in the document's components, named ``Mango*``.
"""

from __future__ import annotations

from typing import Any

from cozy.files.mango import BOOKMARK_PATTERN as BOOKMARK
from cozy.files.mango import COLUMNS, JSON_KEY_PATTERN, MAX_LIMIT
from cozy.files.text import TEXT_PATTERN

REF = "#/components/schemas/"
TEXT = {"type": "string", "pattern": TEXT_PATTERN}
_2_53 = 2**53
# RFC 3339 with its offset, every part in range (days to 28: valid in every month)
DATE = {"type": "string", "pattern": "^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3])"
                                     ":[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"}
INT = {"anyOf": [{"type": "integer", "minimum": -(2**63) + 1, "maximum": 2**63 - 1},
                 {"type": "string", "pattern": "^-?[0-9]{1,18}$"}]}
JSON_VALUE = {"anyOf": [TEXT, {"type": "boolean"}, {"type": "number", "exclusiveMinimum": -_2_53,
                                                  "exclusiveMaximum": _2_53}]}
PATH = {"type": "string", "pattern": "^(/[^/\\u0000]*){1,32}$"}  # absolute, at most 32 levels
NULL = {"type": "null"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An array the parser takes at any length (tags, paths, combined conditions)."""
    return {"type": "array", "items": items, **extra}


def _values(items: dict[str, Any]) -> dict[str, Any]:
    """The values of $in and $nin on a column or key: at most MAX_LIMIT (mango._values)."""
    return _array(items, maxItems=MAX_LIMIT)


def _condition(name: str, plain: dict[str, Any] | None, ops: dict[str, Any]) -> dict[str, Any]:
    """A field's condition: a plain value ($eq), or an object of operators, which $not,
    $and and $or combine."""
    combined = {"$not": _ref(name), "$and": _array(_ref(name), minItems=1), "$or": _array(_ref(name), minItems=1)}
    operators = {"type": "object", "minProperties": 1, "additionalProperties": False,
                 "properties": {**ops, **combined}}
    return {"anyOf": [plain, operators]} if plain is not None else operators


def _column_ops(value: dict[str, Any], *, compare_null: bool = True) -> dict[str, Any]:
    """Every column operator; on a column a null compares too (null sorts first in Mango)."""
    nullable = {"anyOf": [value, NULL]}
    compared = nullable if compare_null else value
    return {"$eq": nullable, "$ne": nullable, "$gt": compared, "$gte": compared, "$lt": compared,
            "$lte": compared, "$in": _values(value), "$nin": _values(value), "$exists": {"type": "boolean"}}


_LITERAL = "(?:[^.*+?^${}()|\\[\\]\\\\\\u0000]|\\\\[.*+?^${}()|\\[\\]\\\\/ #&~-])"  # mango._LITERAL, one character
KINDS: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {
    "MangoText": ({"anyOf": [TEXT, NULL]}, _column_ops(TEXT)),
    "MangoName": ({"anyOf": [TEXT, NULL]}, {**_column_ops(TEXT), "$regex": {
        "type": "string", "pattern": f"^(\\(\\?i\\))?{_LITERAL}{{1,255}}$"}}),
    "MangoBool": ({"type": ["boolean", "null"]}, _column_ops({"type": "boolean"})),
    "MangoInt": ({"anyOf": [INT, NULL]}, _column_ops(INT)),
    "MangoDate": ({"anyOf": [DATE, NULL]}, _column_ops(DATE)),
    "MangoTags": (_array(TEXT), {
        "$eq": _array(TEXT), "$all": _array(TEXT), "$exists": {"type": "boolean"}, "$size": INT,
        "$elemMatch": {"type": "object", "minProperties": 1, "additionalProperties": False,
                       "properties": {"$eq": TEXT, "$in": _array(TEXT)}}}),
    "MangoPath": (PATH, {"$eq": PATH, "$ne": PATH, "$in": _array(PATH), "$nin": _array(PATH),
                         "$exists": {"type": "boolean"}}),
    "MangoReferencedBy": (None, {"$exists": {"type": "boolean"}, "$elemMatch": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {"type": TEXT, "id": TEXT}}}),
    "MangoJsonKey": ({"anyOf": [JSON_VALUE, NULL]}, {**_column_ops(JSON_VALUE, compare_null=False),
                                                      "$in": _values({"anyOf": [JSON_VALUE, NULL]}),
                                                      "$nin": _values({"anyOf": [JSON_VALUE, NULL]})}),
}
_KIND_OF = {"name": "MangoName", "size": "MangoInt", "tags": "MangoTags", "path": "MangoPath",
            "referenced_by": "MangoReferencedBy"}


def _kind(field: str) -> str:
    if field in _KIND_OF:
        return _KIND_OF[field]
    convert = COLUMNS[field].convert.__name__
    return {"_text": "MangoText", "_bool": "MangoBool", "_int": "MangoInt", "_date": "MangoDate"}[convert]


def selector_schema() -> dict[str, Any]:
    fields = {f: _ref(_kind(f)) for f in [*COLUMNS, "tags", "path", "referenced_by"]}
    nested = _array(_ref("MangoSelector"), minItems=1)
    return {"type": "object", "additionalProperties": False,
            "properties": {**fields, "$and": nested, "$or": nested, "$nor": nested, "$not": _ref("MangoSelector")},
            "patternProperties": {JSON_KEY_PATTERN: _ref("MangoJsonKey")}}


def query_schema() -> dict[str, Any]:
    sort_field = {"anyOf": [{"enum": list(COLUMNS)}, {"type": "string", "pattern": JSON_KEY_PATTERN}]}
    sort_term = {"anyOf": [sort_field, {"type": "object", "minProperties": 1, "maxProperties": 1,
                                        "propertyNames": sort_field,
                                        "additionalProperties": {"enum": ["asc", "desc"]}}]}
    ignored: dict[str, Any] = {key: {} for key in ("use_index", "execution_stats", "r", "conflicts", "stable",
                                                    "update")}
    return {"type": "object", "additionalProperties": False, "properties": {
        "selector": _ref("MangoSelector"),
        "sort": {"anyOf": [{"type": "array", "items": sort_term}, NULL]},
        "limit": {"type": ["integer", "null"], "minimum": 1},
        "skip": {"type": ["integer", "null"], "minimum": 0},
        "bookmark": {"anyOf": [{"type": "string", "pattern": BOOKMARK}, NULL]},
        "fields": {"anyOf": [{"type": "array", "items": {"type": "string"}}, NULL]},
        **ignored,
    }}


def components() -> dict[str, dict[str, Any]]:
    schemas = {name: _condition(name, plain, ops) for name, (plain, ops) in KINDS.items()}
    return {**schemas, "MangoSelector": selector_schema(), "MangoQuery": query_schema()}
