"""The one rule for text in a request: no NUL (U+0000:
PostgreSQL refuses it in any text while SQLite stores it, so it is refused alike on both) and
no lone surrogate (JSON's ``\\ud800`` escapes give one: no database can encode it).
It imports no web framework: Celery workers load it (through mango) and stay small."""

from __future__ import annotations

import json
from typing import Any

TEXT_PATTERN = "^[^\\u0000]*$"  # the rule below, as a JSON Schema pattern


class BadText(ValueError):
    """Text in the request that no database stores alike."""


def check_text(data: Any) -> None:
    """Every string of a JSON value (object keys too) is text every database takes."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            check_string(node)


def check_string(text: str) -> None:
    if "\x00" in text:
        raise BadText("text in the request cannot contain NUL (U+0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadText("text in the request must be valid Unicode (no lone surrogate)") from None


def load_json(body: bytes) -> Any:
    """The JSON document of a request body, its text checked (BadText)."""
    data = json.loads(body)
    check_text(data)
    return data


def body_error_detail(cause: BaseException | None) -> str:
    """What was wrong with a body the parser refused (ninja only says it could not parse it)."""
    if isinstance(cause, BadText):
        return str(cause)
    if isinstance(cause, UnicodeError):  # bytes that are not UTF-8
        return "the request body is not valid Unicode text"
    if isinstance(cause, RecursionError):
        return "the request body is nested too deeply"
    return "the request body is not valid JSON"
