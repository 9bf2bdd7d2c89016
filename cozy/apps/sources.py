"""Where a release comes from: ``file:///path.tar.gz``, ``http(s)://…#sha256=<hex>``,
``registry://<slug>/<channel or version>`` (resolved to an http(s) source by cozy.apps.registry),
or ``git://…#<ref>`` and ``git+https://…#<ref>`` (archived by git, cozy.apps.gitsource).

A source is opened as a byte stream; nothing is downloaded ahead. A remote
source must carry the tarball's sha256 (there is no other way to trust it); a
local one may. Network sources connect only where the install's Reach allows
(cozy.apps.reach: an owner's reach public addresses only).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

import urllib3

from cozy.apps import pinned
from cozy.apps.gitsource import GitFailed, open_git, valid_ref
from cozy.apps.reach import DEFAULT_PORTS, Reach
from cozy.apps.tarball import Readable

_SHA256 = re.compile(r"(?:sha256=)?([0-9a-fA-F]{64})")
_TIMEOUT = urllib3.Timeout(connect=10, read=60)
GIT_SCHEMES = ("git", "git+https", "git+http")
GIT_FAILED = "the git source could not be fetched (unreachable, or no such repository or ref)"
_REGISTRY = re.compile(r"registry://[a-z0-9][a-z0-9_-]{0,62}/[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")


class BadSource(ValueError):
    """The source cannot be used (the message says why, without credentials)."""


@dataclass(frozen=True)
class Source:
    url: str  # as given, for the record (without the fragment)
    scheme: str
    sha256: str  # expected, lower-case hex; "" when not given
    ref: str = ""  # a git source's tag or branch ("" for HEAD)

    @property
    def remote(self) -> bool:
        return self.scheme in ("http", "https")


def parse_source(text: str) -> Source:
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme == "registry":
        if not _REGISTRY.fullmatch(text.strip()):
            raise BadSource("a registry source is registry://<slug>/<stable, beta, dev or a version>")
        return Source(text.strip(), scheme, "")
    if scheme in GIT_SCHEMES:
        return _git_source(parts)
    if scheme not in ("file", "http", "https"):
        raise BadSource("the source must be file:///path.tar.gz, http(s)://host/path.tar.gz#sha256=<hex>, "
                        "registry://<slug>/<channel or version> or git(+https)://host/repo.git#<ref>")
    sha = ""
    if parts.fragment:
        match = _SHA256.fullmatch(parts.fragment)
        if not match:
            raise BadSource("the fragment of the source must be sha256=<64 hex digits>")
        sha = match[1].lower()
    if scheme != "file" and not sha:
        raise BadSource("a remote source needs the tarball's sum: add #sha256=<hex>")
    if scheme != "file" and not parts.hostname:
        raise BadSource("the source URL has no host")
    if parts.username or parts.password:
        raise BadSource("the source URL must not carry credentials")
    _check_port(parts)
    return Source(parts._replace(fragment="").geturl(), scheme, sha)


def _check_port(parts: SplitResult) -> None:
    try:
        parts.port  # noqa: B018  # raises for a port that is not a number in range
    except ValueError:
        raise BadSource("the source URL's port is not valid") from None


def _git_source(parts: SplitResult) -> Source:
    if not parts.hostname or not parts.path.strip("/"):
        raise BadSource("a git source is git://host/path/repo.git#<tag or branch>")
    if parts.username or parts.password:
        raise BadSource("the source URL must not carry credentials")
    if parts.query or (parts.fragment and not valid_ref(parts.fragment)):
        raise BadSource("the fragment of a git source must be a tag or a branch name")
    _check_port(parts)
    return Source(parts._replace(fragment="").geturl(), parts.scheme.lower(), "", parts.fragment)


def check_host(source: Source, reach: Reach) -> None:
    """Refuse now (HostNotAllowed) a network source whose host ``reach`` does not allow; the
    connection checks again (the answer may change), and each redirect."""
    parts = urlsplit(source.url)
    if source.scheme in GIT_SCHEMES or source.remote:
        reach.pinned(parts.hostname or "", parts.port or DEFAULT_PORTS[source.scheme])


@contextmanager
def open_source(source: Source, reach: Reach) -> Iterator[tuple[Readable, int | None]]:
    """(a reader of the tarball's bytes, its length if known); a network source connects where
    ``reach`` allows."""
    if source.scheme == "registry":
        raise BadSource("a registry source must be resolved first")
    if source.scheme in GIT_SCHEMES:
        with _git(source, reach) as pipe:
            yield pipe, None
        return
    if source.scheme == "file":
        path = Path(unquote(urlsplit(source.url).path))
        try:
            handle = path.open("rb")
        except OSError:
            raise BadSource("the source file cannot be read") from None
        with handle:
            yield handle, path.stat().st_size
        return
    with _http(source.url, reach) as resp:
        if resp.status != 200:
            raise BadSource(f"the source answered HTTP {resp.status}")
        length = resp.headers.get("Content-Length")
        yield _Guarded(resp), int(length) if length and length.isdigit() else None


@contextmanager
def _http(url: str, reach: Reach) -> Iterator[urllib3.BaseHTTPResponse]:
    with ExitStack() as stack:
        try:  # only the request's errors: the install's own (its S3 requests) pass through
            resp = stack.enter_context(pinned.get(url, reach, timeout=_TIMEOUT, retries=3, redirects=5))
        except urllib3.exceptions.HTTPError:
            raise BadSource("the source could not be fetched") from None
        yield resp


@contextmanager
def _git(source: Source, reach: Reach) -> Iterator[Readable]:
    try:
        with open_git(source.scheme, source.url, source.ref, reach) as pipe:
            yield _GitGuarded(pipe)
    except GitFailed:
        raise BadSource(GIT_FAILED) from None


class _GitGuarded:
    """git's failure, which shows when its output ends, as a refused source."""

    def __init__(self, pipe: Readable):
        self.pipe = pipe

    def read(self, n: int = -1) -> bytes:
        try:
            return self.pipe.read(n)
        except GitFailed:
            raise BadSource(GIT_FAILED) from None


class _Guarded:
    """A response body whose transport errors say the download broke off, with no URL."""

    def __init__(self, resp: urllib3.BaseHTTPResponse):
        self.resp = resp

    def read(self, n: int = -1) -> bytes:
        try:
            return self.resp.read(n if n >= 0 else None)
        except urllib3.exceptions.HTTPError:
            raise BadSource("the download of the source broke off") from None
