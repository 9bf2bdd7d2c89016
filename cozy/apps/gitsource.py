"""``git://host/repo.git#<ref>`` and ``git+https://host/repo.git#<ref>``: a release from git.

``git://`` asks the server itself for the archive (``git archive --remote``,
the daemon's upload-archive service) and streams it, nothing on disk.
``git+https://`` (and ``git+http://``) cannot: smart HTTP has no archive
service, so the ref is cloned bare and shallow into a temporary directory
(its packed objects, never a tarball), archived from there to the pipe, and
the directory removed. The archive is a ``.tar.gz`` at the ref's root; the
ref is a tag or a branch (``HEAD`` when none is given). Git's own messages
are never shown: they may carry the URL.

A checked Reach (an owner's source) pins git to the addresses it checked:
``git+https://`` through curl's resolve list (``http.curloptResolve``), so
TLS still sees the host's name; ``git://``, whose daemon protocol has no such
option, by the checked address in the URL. Redirects are then not followed.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from cozy.apps.reach import DEFAULT_PORTS, Reach

GIT_TIMEOUT = 300.0  # a clone, or git's exit after its output ended
GIT_DEADLINE = 1800.0  # a whole archive stream
_REF = re.compile(r"(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]{1,200}")
# Only the transport the source names; no ext::, file:: or helpers a server could point at.
_PROTOCOLS = {"git": "git", "git+https": "https", "git+http": "http"}


class GitFailed(OSError):
    """git could not produce the archive (the reason is not shown: it may carry the URL)."""


def valid_ref(ref: str) -> bool:
    return bool(_REF.fullmatch(ref)) and not ref.endswith((".lock", "/", "."))


def _command(scheme: str) -> list[str]:
    return ["git", "-c", "protocol.allow=never", "-c", f"protocol.{_PROTOCOLS[scheme]}.allow=always",
            "-c", "core.askPass=", "-c", "credential.helper="]  # fmt: skip


def _pinned(scheme: str, url: str, reach: Reach) -> tuple[str, list[str]]:
    """(the URL git is given, the options that keep it where ``reach`` allows)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or DEFAULT_PORTS[scheme]
    pins = reach.pinned(host, port)
    options = ["-c", "http.followRedirects=false"] if reach.checked else []
    if pins is None or pins == [host]:  # nothing to check, or already an address
        return url, options
    if scheme == "git":
        address = f"[{pins[0]}]" if ":" in pins[0] else pins[0]
        return parts._replace(netloc=address + (f":{parts.port}" if parts.port else "")).geturl(), options
    addresses = ",".join(f"[{a}]" if ":" in a else a for a in pins)
    return url, [*options, "-c", f"http.curloptResolve={host}:{port}:{addresses}"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # No global configuration either: HOME is the shared temporary directory, where anyone could
    # leave a .gitconfig (url.insteadOf, a proxy) that sends git elsewhere.
    return {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": tempfile.gettempdir()}  # fmt: skip


class _Pipe:
    """git's stdout as a reader; at its end, git must have succeeded."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    def read(self, n: int = -1) -> bytes:
        assert self.proc.stdout is not None
        data = self.proc.stdout.read(n)
        if not data and self.proc.wait(timeout=GIT_TIMEOUT) != 0:
            raise GitFailed("git could not fetch the ref")
        return data


@contextmanager
def _streamed(cmd: list[str], cwd: str | None = None) -> Iterator[_Pipe]:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=_env(), cwd=cwd)  # fmt: skip
    watchdog = threading.Timer(GIT_DEADLINE, proc.kill)  # a stalled server must not hold the install forever
    watchdog.start()
    try:
        yield _Pipe(proc)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def open_git(scheme: str, url: str, ref: str, reach: Reach) -> Iterator[_Pipe]:
    """A reader of the ``.tar.gz`` of ``ref`` of the repository at ``url``, fetched where
    ``reach`` allows (raises HostNotAllowed)."""
    url, pins = _pinned(scheme, url, reach)
    archive = ["archive", "--format=tar.gz", ref or "HEAD"]
    if scheme == "git":
        with _streamed([*_command(scheme), *pins, *archive[:1], f"--remote={url}", *archive[1:]]) as pipe:
            yield pipe
        return
    with tempfile.TemporaryDirectory(prefix="cozy-git-") as tmp:
        branch = ["--branch", ref] if ref else []
        clone = [*_command(scheme), *pins, "clone", "--quiet", "--bare", "--depth", "1", "--single-branch", *branch,
                 "--", url.removeprefix("git+"), tmp]  # fmt: skip
        try:
            subprocess.run(clone, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=_env(), timeout=GIT_TIMEOUT, check=True)  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            raise GitFailed("git could not fetch the ref") from None
        with _streamed([*_command(scheme), *archive[:2], "HEAD"], cwd=tmp) as pipe:
            yield pipe
