"""The JSON parser of the ninja APIs: JSON's ``\\ud800`` escapes give lone surrogates, text that
no database can store (SQLite fails to encode it: a 500 wherever it reached a query)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body)
        # ninja answers a parser's error with a 400 "Cannot parse request body".
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError on a lone surrogate
        return data


def body_error_detail(cause: BaseException | None) -> str:
    """What was wrong with a body the parser refused (ninja only says it could not parse it)."""
    if isinstance(cause, UnicodeError):  # a lone surrogate, or bytes that are not UTF-8
        return "the request body is not valid Unicode text"
    if isinstance(cause, RecursionError):
        return "the request body is nested too deeply"
    return "the request body is not valid JSON"
