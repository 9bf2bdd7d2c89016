"""Parse the storage URL (`COZY_FS_URL`) into an :class:`S3Config`.

Form: ``s3://host[:port]?access_key=..&secret_key=..&region=..&bucket_prefix=..
&use_ssl=true|false&path_style=true|false``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from urllib.parse import parse_qs, quote, urlencode, urlsplit

KNOWN_PARAMS = {
    "access_key",
    "secret_key",
    "region",
    "bucket_prefix",
    "use_ssl",
    "path_style",
}
_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$")


class FsUrlError(ValueError):
    """The storage URL is malformed; the message names the bad part only."""


@dataclasses.dataclass(frozen=True)
class S3Config:
    host: str
    port: int | None
    access_key: str
    secret_key: str = dataclasses.field(repr=False)
    region: str = "us-east-1"
    bucket_prefix: str = "cozy"
    use_ssl: bool = True
    path_style: bool = True

    @property
    def endpoint(self) -> str:
        """host[:port] as the minio SDK wants it."""
        return f"{self.host}:{self.port}" if self.port else self.host

    @property
    def plain_loopback(self) -> bool:
        """Plain HTTP to this machine: no wire that could damage or expose a request body."""
        if self.use_ssl:
            return False
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:  # a DNS name
            return False

    @property
    def endpoint_url(self) -> str:
        scheme = "https" if self.use_ssl else "http"
        return f"{scheme}://{self.endpoint}"

    def with_prefix(self, bucket_prefix: str) -> S3Config:
        return dataclasses.replace(self, bucket_prefix=bucket_prefix)

    def to_url(self) -> str:
        """The storage URL back again (it holds the secret: never log it)."""
        query = urlencode(
            {
                "access_key": self.access_key,
                "secret_key": self.secret_key,
                "region": self.region,
                "bucket_prefix": self.bucket_prefix,
                "use_ssl": str(self.use_ssl).lower(),
                "path_style": str(self.path_style).lower(),
            },
            quote_via=quote,
        )
        return f"s3://{self.endpoint}?{query}"

    def redacted_url(self) -> str:
        return f"s3://{self.endpoint}?bucket_prefix={self.bucket_prefix}&access_key=***"


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise FsUrlError(f"storage URL: {name} must be true or false")


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise FsUrlError(f"storage URL: {name} is given more than once")
    return values[0]


def parse_fs_url(url: str) -> S3Config:
    """Parse a storage URL; raise :class:`FsUrlError` naming the bad part."""
    if not url or not isinstance(url, str):
        raise FsUrlError("storage URL: empty (set COZY_FS_URL)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FsUrlError("storage URL: the port is not a number from 1 to 65535") from None
    if parts.scheme != "s3":
        raise FsUrlError("storage URL: scheme must be s3://")
    host = parts.hostname or ""
    if not host or not _HOST_RE.match(host if ":" not in host else f"[{host}]"):
        raise FsUrlError("storage URL: missing or invalid host")
    if parts.username or parts.password:
        raise FsUrlError("storage URL: put credentials in access_key/secret_key, not before the host")
    if parts.path not in ("", "/"):
        raise FsUrlError("storage URL: no path is allowed after the host")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - KNOWN_PARAMS)
    if unknown:
        raise FsUrlError(f"storage URL: unknown parameter {unknown[0]!r}")
    access_key = _single(query, "access_key") or ""
    secret_key = _single(query, "secret_key") or ""
    if not access_key:
        raise FsUrlError("storage URL: access_key is missing")
    if not secret_key:
        raise FsUrlError("storage URL: secret_key is missing")
    prefix = (_single(query, "bucket_prefix") or "cozy").lower()
    if not _PREFIX_RE.match(prefix):
        raise FsUrlError(
            "storage URL: bucket_prefix must be 1-40 lowercase letters, digits or hyphens"
        )
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return S3Config(
        host=host,
        port=port,
        access_key=access_key,
        secret_key=secret_key,
        region=_single(query, "region") or "us-east-1",
        bucket_prefix=prefix,
        use_ssl=_bool("use_ssl", _single(query, "use_ssl") or "true"),
        path_style=_bool("path_style", _single(query, "path_style") or "true"),
    )
