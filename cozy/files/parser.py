"""The JSON parser of the ninja APIs, which applies the text rule (cozy.files.text), and the
rule's statement in their OpenAPI documents."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.parser import Parser

from cozy.files.text import TEXT_PATTERN, load_json


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        # ninja answers a parser's error with a 400 "Cannot parse request body" (detail below).
        return load_json(request.body)


SERVED = ("Text in a request (its path, its query, JSON strings and keys) never holds NUL (U+0000): "
          "400. Every GET operation answers HEAD too: the same status and headers, no body.")


class StrictAPI(NinjaAPI):
    """A ninja API that reads JSON bodies by the text rule and says so in its OpenAPI document:
    a string that no pattern, format or enum bounds gets TEXT_PATTERN (the patterns cozy writes
    exclude NUL themselves); HEAD (cozy.core.middleware) is said in the description."""

    def __init__(self, **kwargs: Any):
        super().__init__(parser=StrictJsonParser(), description=SERVED, **kwargs)

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["JsonText"] = JSON_TEXT
        declare_text_rule(schema)
        return schema


ANY_TEXT = {"$ref": "#/components/schemas/JsonText"}
# Any JSON value whose strings and keys hold no NUL: what a free value (metadata...) may be.
JSON_TEXT = {"anyOf": [{"type": "string", "pattern": TEXT_PATTERN}, {"type": ["number", "boolean", "null"]},
                       {"type": "array", "items": ANY_TEXT},
                       {"type": "object", "propertyNames": {"pattern": TEXT_PATTERN},
                        "additionalProperties": ANY_TEXT}]}


def declare_text_rule(node: Any) -> None:
    """The text rule in every schema of an OpenAPI document: free strings get TEXT_PATTERN,
    free keys and values (an object's extra members, an untyped property) JSON_TEXT."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            _bound(node)
            stack.extend(node.values())


def _bound(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if kind == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
        schema["pattern"] = TEXT_PATTERN
    elif kind == "object":
        if schema.get("additionalProperties", True) is True:  # free members: their names and values
            schema["additionalProperties"] = ANY_TEXT
        if schema["additionalProperties"] is not False:
            schema.setdefault("propertyNames", {"pattern": TEXT_PATTERN})
        properties = schema.get("properties", {})
        properties.update({name: ANY_TEXT for name, sub in properties.items() if sub == {}})
    elif kind == "array" and "items" not in schema:
        schema["items"] = ANY_TEXT
