"""The download's chunk size: small for a slow reader, large once a client proved fast."""

from __future__ import annotations

import pytest

from cozy.files import download
from cozy.files.download import BIG_CHUNK, FAST_AFTER, SEND_CHUNK, Pace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(download.time, "monotonic", fake)
    return fake


def sizes(pace: Pace, clock: Clock, count: int, rate: float) -> list[int]:
    """What ``pace`` asks for over ``count`` reads by a client taking ``rate`` bytes/s."""
    out = []
    for _ in range(count):
        out.append(pace())
        clock.now += out[-1] / rate
    return out


def test_a_fast_client_gets_large_chunks_after_the_first_megabytes(clock: Clock) -> None:
    got = sizes(Pace(), clock, 200, rate=500e6)
    small = FAST_AFTER // SEND_CHUNK
    assert got[:small] == [SEND_CHUNK] * small
    assert got[small:] == [BIG_CHUNK] * (200 - small)


def test_a_slow_client_keeps_small_chunks(clock: Clock) -> None:
    # 10 MB/s: under the fast rate, however much it has taken.
    assert set(sizes(Pace(), clock, 400, rate=10e6)) == {SEND_CHUNK}


def test_a_burst_absorbed_by_socket_buffers_does_not_count(clock: Clock) -> None:
    # Kernel buffers take the first megabytes at once, then the reader crawls: never large.
    pace = Pace()
    burst = sizes(pace, clock, 40, rate=1e12)  # 5 MiB "sent" instantly
    crawl = sizes(pace, clock, 200, rate=1024)
    assert set(burst + crawl) == {SEND_CHUNK}


def test_a_fast_client_that_slows_down_goes_back_to_small_chunks(clock: Clock) -> None:
    pace = Pace()
    sizes(pace, clock, 200, rate=500e6)
    assert pace() == BIG_CHUNK
    clock.now += 5  # that chunk took 5 s to go
    assert pace() == SEND_CHUNK
    assert set(sizes(pace, clock, 50, rate=1024)) == {SEND_CHUNK}
