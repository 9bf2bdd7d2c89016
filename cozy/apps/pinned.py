"""An HTTP(S) GET that connects only where a Reach allows, redirects checked hop by hop.

For a checked host, the connection goes to the addresses the Reach checked
(never to a second DNS answer), while the request carries the URL's Host and
TLS sends its name (SNI) and verifies the certificate against it. Redirects
are followed here, not by urllib3, so that every hop's host is checked the
same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError

from cozy.apps.reach import DEFAULT_PORTS, HostNotAllowed, Reach

REDIRECTS = (301, 302, 303, 307, 308)
_PORTS = {k: DEFAULT_PORTS[k] for k in ("http", "https")}


class BadRedirect(HTTPError):
    """Too many redirects, or one to a URL that is not http(s)."""


@contextmanager
def get(url: str, reach: Reach, *, timeout: urllib3.Timeout, retries: int, redirects: int,
        headers: dict[str, str] | None = None) -> Iterator[urllib3.BaseHTTPResponse]:
    """The response (body not read) to GET ``url``, after at most ``redirects`` redirects."""
    for hop in range(redirects + 1):
        parts = urlsplit(url)
        if parts.scheme.lower() not in _PORTS or not parts.hostname:
            raise BadRedirect("a redirect to a URL that is not http(s)")
        try:
            pins = reach.pinned(parts.hostname, parts.port or _PORTS[parts.scheme.lower()])
        except HostNotAllowed:
            if not hop:
                raise
            raise HostNotAllowed(f"the source redirects to a host that is not allowed: {parts.hostname!r}") from None
        pool, resp = _open(parts, pins, timeout, retries, headers or {})
        try:
            location = resp.headers.get("Location") if resp.status in REDIRECTS else None
            if location is None:
                yield resp
                return
            resp.drain_conn()
        finally:
            resp.release_conn()
            pool.close()
        url = urljoin(url, location)
    raise BadRedirect("too many redirects")


def _open(parts: SplitResult, pins: list[str] | None, timeout: urllib3.Timeout, retries: int,
          headers: dict[str, str]) -> tuple[urllib3.HTTPConnectionPool, urllib3.BaseHTTPResponse]:
    """A pool and its response, trying the pinned addresses in turn until one connects."""
    host = parts.hostname or ""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last: Exception | None = None
    for target in pins or [host]:
        pool = _pool(parts, target, timeout)
        try:
            resp = pool.urlopen("GET", path, headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
                                retries=urllib3.Retry(total=retries, redirect=False), redirect=False,
                                preload_content=False, decode_content=False)  # fmt: skip
            return pool, resp
        except MaxRetryError as err:
            pool.close()
            if not isinstance(err.reason, NewConnectionError | ConnectTimeoutError):
                raise
            last = err  # this address does not answer: the next one may
        except BaseException:
            pool.close()
            raise
    assert last is not None
    raise last


def _pool(parts: SplitResult, target: str, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    host, scheme = parts.hostname or "", parts.scheme.lower()
    port = parts.port or _PORTS[scheme]
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(target, port, timeout=timeout, maxsize=1, server_hostname=host,
                                           assert_hostname=host)  # fmt: skip
    return urllib3.HTTPConnectionPool(target, port, timeout=timeout, maxsize=1)
