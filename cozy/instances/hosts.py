"""Host names as instances are stored and looked up: one spelling per address."""

from __future__ import annotations

import re


class BadDomain(ValueError):
    """Not a host name an instance can be reached at."""


_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}|\[[0-9a-f:.]+\]")


def split_host(host: str) -> tuple[str, str]:
    """(name, ":port" or ""), the name lower-cased and without the trailing dot of its
    absolute form; a bracketed IPv6 address keeps its brackets."""
    host = host.strip().lower()
    name, colon, port = host.rpartition(":") if ":" in host and not host.endswith("]") else (host, "", "")
    return name.removesuffix("."), f"{colon}{port}"


def normalize_domain(domain: str) -> str:
    """The form a Host header arrives in: lower case, IDN labels in punycode, no trailing
    dot, an optional port. Anything else (spaces, slashes, empty labels) is refused."""
    name, port = split_host(domain)
    try:
        name = name.encode("idna").decode("ascii").lower() if name and not name.startswith("[") else name
    except UnicodeError:
        raise BadDomain(f"{domain!r} is not a valid domain name") from None
    if not _HOST.fullmatch(name) or len(name) > 253 or (port and not _valid_port(port)):
        raise BadDomain(f"{domain!r} is not a valid domain name (like cozy.example.org or 127.0.0.1:8000)")
    return f"{name}{port}"


def _valid_port(port: str) -> bool:
    return bool(re.fullmatch(r":[0-9]{1,5}", port)) and 0 < int(port[1:]) < 65536


def domain_key(domain: str) -> str:
    """The stored form of a domain an operator typed; a malformed one is kept (lower-cased),
    so that looking it up simply finds nothing."""
    try:
        return normalize_domain(domain)
    except BadDomain:
        return domain.strip().lower()
