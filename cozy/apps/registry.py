"""``registry://<slug>/<channel or version>``: a release named by cozy's apps registry.

The registry (cozy-apps-registry, setting ``COZY_APPS_REGISTRY``) answers
``GET /registry/<slug>/<channel>/latest`` (channels ``stable``, ``beta``,
``dev``) or ``GET /registry/<slug>/<version>`` with a version document that
carries the tarball's ``url`` and ``sha256``. The source is resolved when an
install or update runs, so an update of a ``registry://drive/stable``
installation takes the channel's latest release; the install then fetches the
tarball like any remote source, checking that sum.

The operator's registry is trusted: an owner's registry source reaches its
host whatever its address (cozy.apps.reach), and a tarball there; a tarball
the document places on another host is checked as any owner's source.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from urllib.parse import quote, urlsplit

import urllib3
from django.conf import settings

from cozy.apps import pinned
from cozy.apps.reach import Reach
from cozy.apps.sources import BadSource, Source, parse_source

CHANNELS = ("stable", "beta", "dev")
DEFAULT_REGISTRY = "https://apps-registry.cozycloud.cc"
MAX_DOCUMENT = 1024 * 1024
_TIMEOUT = urllib3.Timeout(connect=10, read=30)


def registry_url() -> str:
    url = getattr(settings, "COZY_APPS_REGISTRY", None) or os.environ.get("COZY_APPS_REGISTRY") or DEFAULT_REGISTRY
    return str(url).rstrip("/")


def split(source: Source) -> tuple[str, str]:
    """(slug, channel or version) of a registry source (checked by parse_source)."""
    parts = urlsplit(source.url)
    return parts.netloc, parts.path.strip("/")


def document_path(slug: str, wanted: str) -> str:
    tail = f"{quote(wanted)}/latest" if wanted in CHANNELS else quote(wanted)
    return f"/registry/{quote(slug)}/{tail}"


def concrete(source: Source, kind: str | None, reach: Reach) -> Source:
    """The http(s) source of the tarball a registry source names (other sources as they are)."""
    if source.scheme != "registry":
        return source
    slug, wanted = split(source)
    doc = _fetch_document(registry_url() + document_path(slug, wanted), reach)
    if kind and doc.get("type", kind) != kind:
        raise BadSource(f"the registry's {slug} is a {doc.get('type')}, not a {kind}")
    url, sha256 = doc.get("url"), doc.get("sha256")
    if not isinstance(url, str) or not isinstance(sha256, str):
        raise BadSource("the registry's version document has no tarball url and sha256")
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise BadSource("the registry's tarball url is not http(s)")
    try:
        return parse_source(f"{url.partition('#')[0]}#sha256={sha256}")
    except BadSource as err:
        raise BadSource(f"the registry's version document is unusable: {err}") from None


def _fetch_document(url: str, reach: Reach) -> dict:
    with ExitStack() as stack:
        try:
            resp = stack.enter_context(pinned.get(url, reach, timeout=_TIMEOUT, retries=2, redirects=3,
                                                  headers={"Accept": "application/json"}))  # fmt: skip
        except urllib3.exceptions.HTTPError:
            raise BadSource("the apps registry could not be reached") from None
        if resp.status == 404:
            raise BadSource("the apps registry has no such release")
        if resp.status != 200:
            raise BadSource(f"the apps registry answered HTTP {resp.status}")
        try:
            body = resp.read(MAX_DOCUMENT + 1, decode_content=True)
        except urllib3.exceptions.HTTPError:
            raise BadSource("the apps registry's answer broke off") from None
    if len(body) > MAX_DOCUMENT:
        raise BadSource("the apps registry's version document is too large")
    try:
        doc = json.loads(body)
    except ValueError:
        raise BadSource("the apps registry's answer is not JSON") from None
    if not isinstance(doc, dict):
        raise BadSource("the apps registry's answer is not a version document")
    return doc
