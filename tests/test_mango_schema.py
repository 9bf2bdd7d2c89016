"""The OpenAPI schema of a Mango query says what mango.parse accepts: a query the schema
allows is parsed, one it refuses gets the parser's 400 (no database needed)."""

from __future__ import annotations

import jsonschema_rs
import pytest

from cozy.files import mango, mango_schema

VALIDATOR = jsonschema_rs.validator_for({"$ref": mango_schema.REF + "MangoQuery",
                                         "components": {"schemas": mango_schema.components()}})

ACCEPTED = [
    {"selector": {}},
    {"selector": {"dir_id": "abc", "type": "file", "trashed": False}, "sort": [{"name": "asc"}, "size"], "limit": 50},
    {"selector": {"$or": [{"name": {"$regex": "(?i)foo\\.txt"}}, {"tags": {"$all": ["a", "b"]}}]}, "fields": ["name"]},
    {"selector": {"cozyMetadata.updatedAt": {"$gt": "2020-01-01T00:00:00Z"}, "size": {"$gte": "10", "$lt": 99}}},
    {"selector": {"referenced_by": {"$elemMatch": {"type": "io.cozy.photos.albums", "id": "x"}}}, "bookmark": "100"},
    {"selector": {"metadata.datetime": {"$exists": True}, "path": {"$in": ["/a", "/b/c"]}}, "skip": 3},
    {"selector": {"name": {"$not": {"$in": ["a", "b"]}}, "$nor": [{"mime": None}]}, "sort": None, "limit": None},
    {"selector": {"tags": {"$elemMatch": {"$in": ["x"]}}, "metadata.qualification.label": {"$ne": None}}},
    {"selector": {"created_at": {"$and": [{"$gt": "2020-01-01T00:00:00+02:00"}, {"$lt": None}]}}, "use_index": "x"},
]
REFUSED = [
    {"selector": {"foo": 1}},
    {"selector": {"name": {"$regex": "a.*"}}},
    {"bookmark": "forged"},
    {"selector": {"tags": "a"}},
    {"selector": {"size": {"$foo": 1}}},
    {"selector": {"name": {}}},
    {"selector": {"tags": {"$elemMatch": {}}}},
    {"selector": {"metadata.a-b": 1}},
    {"selector": {"metadata.x": {"$gt": None}}},
    {"selector": {"name": "a\x00b"}},
    {"selector": {"path": "relative"}},
    {"selector": None},
    {"limit": 0},
    {"bookmark": 0},
    {"sort": [{"name": "up"}]},
    {"unknown": 1},
]


@pytest.mark.parametrize("query", ACCEPTED)
def test_what_the_schema_allows_is_parsed(query):
    assert VALIDATOR.is_valid(query)
    mango.parse(query)


@pytest.mark.parametrize("query", REFUSED)
def test_what_the_schema_refuses_the_parser_refuses(query):
    assert not VALIDATOR.is_valid(query)
    with pytest.raises(mango.MangoError):
        mango.parse(query)
