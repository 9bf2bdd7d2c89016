"""Run a throwaway Ceph cluster (one monitor, one OSD on memstore, radosgw) for tests and benchmarks.

Debian's packages ``radosgw ceph-common ceph-mon ceph-osd`` (Ceph 16 "Pacific")
provide the daemons. Everything listens on 127.0.0.1 (the monitor and radosgw
on free ports), lives in one temporary folder, and holds its data in RAM
(memstore, capped by ``device_bytes``). Authentication between the daemons is
off, but radosgw checks S3 signatures against a user made with generated keys.
The daemons run in the foreground as children in their own sessions, with a
pid file each under ``pids/``; ``stop()`` signals exactly those processes.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from s3util.config import S3Config
from s3util.seaweedfs import free_ports

BINARIES = ("ceph", "ceph-authtool", "monmaptool", "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin")
PACKAGES = "radosgw ceph-common ceph-mon ceph-osd"
GiB = 1024**3


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def _conf(d: Path, fsid: str, mon_ports: list[int], rgw_port: int, device_bytes: int, tcp_nodelay: bool) -> str:
    v2, v1 = mon_ports
    return f"""[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{v2},v1:127.0.0.1:{v1}]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
# No cephx inside the cluster; crc mode or radosgw loops on "get_initial_auth_request returned -13".
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
# One OSD: pools of size 1, few placement groups, no autoscaler.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail crit = 1
# Test-only: without these, creating radosgw's pools makes start-up take 15-20 s.
paxos propose interval = 0.1
paxos min wait = 0.01
run dir = {d}/run
pid file = {d}/run/$name.pid
admin socket = {d}/run/$name.asok
log file = {d}/log/$name.log
keyring = {d}/keyring
crash dir = {d}/crash

[mon.a]
mon data = {d}/mon

[osd.0]
osd data = {d}/osd
osd objectstore = memstore
memstore device bytes = {device_bytes}

[client.rgw]
# tcp_nodelay: with Nagle's algorithm on (beast's default) every small GET waits about 40 ms for an ACK.
rgw frontends = beast endpoint=127.0.0.1:{rgw_port} tcp_nodelay={int(tcp_nodelay)}
rgw data = {d}/rgw
# Deleted objects' data is freed by garbage collection, hours later by default:
# memstore would fill up under a benchmark.
rgw gc obj min wait = 5
rgw gc processor period = 10
"""


@dataclass
class Ceph:
    """A Ceph cluster serving S3: ``start()``, use ``config()``, ``stop()``."""

    data_dir: Path | None = None
    access_key: str = field(default_factory=lambda: "cozy" + secrets.token_hex(6))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    device_bytes: int = 2 * GiB  # memstore's cap: data is held in RAM
    tcp_nodelay: bool = True  # False: beast's default, for tests/test_ceph.py to show what it costs
    rgw_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory | None = None

    @property
    def conf(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "ceph.conf"

    def config(self, bucket_prefix: str = "cozy") -> S3Config:
        return S3Config("127.0.0.1", self.rgw_port, self.access_key, self.secret_key,
                        bucket_prefix=bucket_prefix, use_ssl=False, path_style=True)

    def pid_files(self) -> dict[str, Path]:
        """The pid file of each running daemon (written here: radosgw in the foreground writes none)."""
        assert self.data_dir is not None
        return {name: self.data_dir / "pids" / f"{name}.pid" for name in self.processes}

    # -- start -------------------------------------------------------------------------
    def start(self, timeout: float = 90) -> Ceph:
        if missing := missing_binaries():
            raise RuntimeError(f"Ceph binaries not found ({', '.join(missing)}): apt-get install {PACKAGES}")
        if self.data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="cozy-ceph-")
            self.data_dir = Path(self._tmp.name)
        deadline = time.monotonic() + timeout
        try:
            self._make_dirs()
            fsid, mon_ports = str(uuid.uuid4()), free_ports(2)
            self.rgw_port = free_ports(1)[0]
            self.conf.write_text(_conf(self.data_dir, fsid, mon_ports, self.rgw_port, self.device_bytes,
                                       self.tcp_nodelay))
            self._start_mon(fsid, mon_ports)
            self._start_osd(deadline)
            self._tool("radosgw-admin", "user", "create", "--uid=cozy", "--display-name=cozy",
                       f"--access-key={self.access_key}", f"--secret-key={self.secret_key}",
                       deadline=deadline)
            self._spawn("rgw", ["radosgw", "-n", "client.rgw"])
            self._wait_s3(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _make_dirs(self) -> None:
        assert self.data_dir is not None
        for sub in ("pids", "run", "log", "crash", "mon", "osd", "rgw"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)

    def _start_mon(self, fsid: str, ports: list[int]) -> None:
        d = self.data_dir
        assert d is not None
        keyring, monmap = d / "mon.keyring", d / "monmap"
        self._run("ceph-authtool", "--create-keyring", str(keyring), "--gen-key", "-n", "mon.",
                  "--cap", "mon", "allow *")
        addrs = f"[v2:127.0.0.1:{ports[0]},v1:127.0.0.1:{ports[1]}]"
        self._run("monmaptool", "--create", "--fsid", fsid, "--addv", "a", addrs, str(monmap))
        self._run("ceph-mon", "-c", str(self.conf), "--mkfs", "-i", "a", "--monmap", str(monmap),
                  "--keyring", str(keyring))
        self._spawn("mon.a", ["ceph-mon", "-i", "a"])

    def _start_osd(self, deadline: float) -> None:
        osd_uuid = str(uuid.uuid4())
        osd_id = self._tool("ceph", "osd", "new", osd_uuid, deadline=deadline).strip()
        if osd_id != "0":
            raise RuntimeError(f"unexpected OSD id {osd_id!r}")
        self._run("ceph-osd", "-c", str(self.conf), "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._spawn("osd.0", ["ceph-osd", "-i", "0"])
        while True:
            dump = json.loads(self._tool("ceph", "osd", "dump", "--format=json", deadline=deadline))
            if any(osd["up"] for osd in dump["osds"]):
                return
            self._check_deadline(deadline, "osd.0 did not come up")
            time.sleep(0.1)

    def _run(self, *args: str, timeout: float = 30) -> str:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return done.stdout

    def _tool(self, *args: str, deadline: float) -> str:
        """A client tool (ceph, radosgw-admin) against the cluster, with the time left."""
        left = deadline - time.monotonic()
        self._check_deadline(deadline, f"no time left for {args[0]}")
        wait = ["--connect-timeout", str(int(left) + 1)] if args[0] == "ceph" else []
        return self._run(args[0], "-c", str(self.conf), *wait, *args[1:], timeout=left)

    def _spawn(self, name: str, args: list[str]) -> None:
        assert self.data_dir is not None
        with open(self.data_dir / "log" / f"{name}.out", "ab") as out:
            # -f: stay in the foreground, so the child is the daemon (no fork to lose track of).
            self.processes[name] = subprocess.Popen(
                [*args, "-c", str(self.conf), "-f"], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        (self.data_dir / "pids" / f"{name}.pid").write_text(f"{self.processes[name].pid}\n")

    def _check_deadline(self, deadline: float, message: str) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"Ceph {name} exited early ({proc.returncode}); see {self.data_dir}/log")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message}; see {self.data_dir}/log")

    def _wait_s3(self, deadline: float) -> None:
        """Until radosgw answers and a bucket takes a write with the user's keys."""
        from s3util.client import make_client

        client = make_client(self.config())
        probe = "cozy-readiness-probe"
        while True:
            try:
                client.make_bucket(probe)
                client.put_object(probe, "probe", io.BytesIO(b"ok"), 2)
                client.remove_object(probe, "probe")
                client.remove_bucket(probe)
                return
            except Exception:  # noqa: BLE001 - retried until the deadline
                self._check_deadline(deadline, "radosgw did not serve S3 in time")
                time.sleep(0.1)

    # -- stop --------------------------------------------------------------------------
    def stop(self, grace: float = 5) -> None:
        """Stop the daemons one by one, radosgw first (a monitor gone first makes the others hang).

        Each gets SIGTERM, then SIGKILL if it has not exited ``grace`` seconds later.
        """
        for name in ("rgw", "osd.0", "mon.a"):
            proc = self.processes.pop(name, None)
            if proc is None:
                continue
            _signal(proc, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.wait(10)
            if self.data_dir is not None:
                (self.data_dir / "pids" / f"{name}.pid").unlink(missing_ok=True)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.data_dir = None

    def __enter__(self) -> Ceph:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass


def main() -> None:
    """``python -m s3util.ceph``: run a cluster until Ctrl-C; print its storage URL (it holds the keys)."""
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    with Ceph() as ceph:
        # Blocked only now: the daemons would inherit the mask and ignore stop()'s SIGTERM.
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        print(f"COZY_FS_URL='{ceph.config().to_url()}'", flush=True)
        signal.sigwait(stop_signals)


if __name__ == "__main__":
    main()
