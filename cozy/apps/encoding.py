"""Content negotiation of brotli: does the client's Accept-Encoding take ``br``?"""

from __future__ import annotations


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0  # a malformed weight: refuse the coding rather than guess
    return 1.0


def accepts_br(header: str | None) -> bool:
    """RFC 9110 12.5.3: ``br`` with a weight above 0, or ``*`` above 0 when br is not named."""
    if not header:
        return False
    weights: dict[str, float] = {}
    for item in header.split(","):
        coding, *params = item.split(";")
        coding = coding.strip().lower()
        if coding:
            weights[coding] = _q(params)
    if "br" in weights:
        return weights["br"] > 0
    return weights.get("*", 0) > 0
