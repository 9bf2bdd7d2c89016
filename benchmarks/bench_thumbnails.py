"""Thumbnails of 12 MP photos: cozy (Pillow) next to ImageMagick's convert, in one run.

    .venv/bin/python -m benchmarks.bench_thumbnails              # 200 photos (docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_thumbnails --quick      # 3 photos, a smoke run
    .venv/bin/python -m benchmarks.bench_thumbnails --count 50 --photos /tmp/photos   # keep the photos

The photos are generated (4000x3000, soft shapes, texture and grain, about 3 MB as
JPEG q90, a quarter of them turned by an EXIF orientation as a phone would) and
written to disk; each side reads the same file. For every photo, in turn:

- cozy: ``cozy.thumbnails.render.thumbnails_of`` in one long-lived worker process
  (as a Celery worker would be), all four sizes;
- ImageMagick as cozy-stack runs it: four ``convert`` processes, large from the
  photo on stdin, then medium from large, small from medium, tiny from small, with
  cozy-stack's arguments (auto-orient, strip, q82/q99, ``-thumbnail WxH>``);
- ImageMagick at its best: one ``convert`` writing the four sizes, with the
  ``jpeg:size`` hint that lets libjpeg decode at a reduced scale (Pillow's draft).

Tiny is the same centred 96x96 square on every side. Time is wall-clock per photo
(the median and the 95th percentile) and CPU time (user + system, so ImageMagick's
OpenMP threads count). Peak RSS: the cozy worker's VmHWM at rest, after a tenth, half and
all of the photos (from half to all it must stay flat: no growth with the count),
and the largest ``convert`` process (GNU time). Every output's size is checked against cozy's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

ROOT_DIR = Path(__file__).resolve().parent.parent
CONVERT = "/usr/bin/convert"  # /usr/local/bin/convert may be a stand-in: ImageMagick's own, explicitly
TIME = "/usr/bin/time"  # GNU time (Debian's time package)
WIDTH, HEIGHT = 4000, 3000
FULL_COUNT, QUICK_COUNT = 200, 3
RSS_GROWTH_TARGET = 0.10
# cozy-stack's geometry per size (tiny made a centred square, as cozy's is).
IM_SIZES = {"large": ("1920x1080>", "82"), "medium": ("1280x720>", "82"), "small": ("640x480>", "82"),
            "tiny": ("96x96^", "99")}  # fmt: skip
HEADER = "| measure | cozy (Pillow) | convert, as cozy-stack (4 processes) | convert, 1 process + jpeg:size | cozy / cozy-stack's | target | met |"  # noqa: E501


# -- the photos ---------------------------------------------------------------------
class PhotoMaker:
    """Distinct, seeded photos that compress like camera pictures (not flat, not pure noise)."""

    def __init__(self) -> None:
        self.grain = Image.effect_noise((1024, 1024), 40).convert("RGB")
        detail = Image.effect_noise((512, 512), 80).resize((2048, 2048), Image.Resampling.BILINEAR)
        self.detail = detail.convert("RGB")

    def photo(self, seed: int) -> Image.Image:
        rnd = random.Random(seed)
        gradient = Image.linear_gradient("L").rotate(rnd.uniform(0, 360)).resize((WIDTH // 4, HEIGHT // 4))
        sketch = ImageOps.colorize(gradient, _colour(rnd), _colour(rnd))
        draw = ImageDraw.Draw(sketch)
        for _ in range(40):
            x, y, r = rnd.randrange(WIDTH // 4), rnd.randrange(HEIGHT // 4), rnd.randrange(10, 200)
            shape = draw.ellipse if rnd.random() < 0.5 else draw.rectangle
            shape((x - r, y - r // 2, x + r, y + r), fill=_colour(rnd))
        base = sketch.filter(ImageFilter.GaussianBlur(2)).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
        base = Image.blend(base, _tiled(self.detail, rnd), 0.2)
        return Image.blend(base, _tiled(self.grain, rnd), 0.1)

    def write(self, seed: int, path: Path) -> None:
        exif = Image.Exif()
        exif[0x0112] = 6 if seed % 4 == 3 else 1  # a quarter shot in portrait
        exif[0x010F] = "BenchCam"
        self.photo(seed).save(path, "JPEG", quality=90, exif=exif)


def _colour(rnd: random.Random) -> tuple[int, int, int]:
    return rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)


def _tiled(tile: Image.Image, rnd: random.Random) -> Image.Image:
    out = Image.new("RGB", (WIDTH, HEIGHT))
    dx, dy = rnd.randrange(tile.width), rnd.randrange(tile.height)
    for x in range(-dx, WIDTH, tile.width):
        for y in range(-dy, HEIGHT, tile.height):
            out.paste(tile, (x, y))
    return out


def ensure_photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    maker: PhotoMaker | None = None
    paths = []
    for i in range(count):
        path = folder / f"photo-{i:04d}.jpg"
        if not path.exists():
            maker = maker or PhotoMaker()
            maker.write(i, path)
        paths.append(path)
    return paths


# -- the cozy worker (a child process that stays up for the whole run) --------------
def worker() -> None:
    """Reads photo paths on stdin; answers each with a JSON line of time, CPU, sizes and VmHWM."""
    from cozy.thumbnails.render import thumbnails_of

    print(json.dumps({"rss_kib": _peak_rss_kib()}), flush=True)  # at rest, libraries loaded
    for line in sys.stdin:
        path = Path(line.strip())
        wall, cpu = time.perf_counter(), time.process_time()
        with path.open("rb") as fp:
            thumbs = thumbnails_of(fp, "image/jpeg", size=path.stat().st_size)
        reply = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "rss_kib": _peak_rss_kib(),
                 "sizes": {n: [t.width, t.height] for n, t in thumbs.items()},
                 "bytes": sum(len(t.data) for t in thumbs.values())}  # fmt: skip
        print(json.dumps(reply), flush=True)


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class CozyWorker:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_thumbnails", "--worker"], cwd=ROOT_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
        self.rest_rss_kib = self._reply()["rss_kib"]

    def run(self, path: Path) -> dict:
        assert self.proc.stdin
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        return self._reply()

    def _reply(self) -> dict:
        assert self.proc.stdout
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the cozy worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# -- ImageMagick ---------------------------------------------------------------------
class Usage:
    """CPU seconds and the largest RSS over the convert processes of one side."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.max_rss_kib = 0


def _convert(args: list[str], usage: Usage, stdin: Path | None = None, stdout: Path | None = None) -> None:
    """One convert process, run under GNU time for its own peak RSS and CPU.

    (A child's ``ru_maxrss`` from wait4 would start at this process's RSS: Linux carries the
    forking process's high-water mark across exec.)
    """
    with tempfile.NamedTemporaryFile("r", prefix="bench-time-") as report:
        with open(stdin or os.devnull, "rb") as fin, open(stdout or os.devnull, "wb") as fout:
            done = subprocess.run([TIME, "-f", "%M %U %S", "-o", report.name, CONVERT, *args], stdin=fin,
                                  stdout=fout, stderr=subprocess.PIPE, timeout=300)  # fmt: skip
        if done.returncode:
            raise SystemExit(f"convert failed: {done.stderr.decode(errors='replace')[-2000:]}")
        rss, user, system = report.read().split()[-3:]
    usage.cpu += float(user) + float(system)
    usage.max_rss_kib = max(usage.max_rss_kib, int(rss))


def _size_args(name: str) -> list[str]:
    geometry, quality = IM_SIZES[name]
    crop = ["-gravity", "center", "-extent", "96x96"] if name == "tiny" else []
    return ["-quality", quality, "-thumbnail", geometry, *crop]


def _cozy_stack_args(name: str) -> list[str]:
    """cozy-stack's convert arguments for one size, reading stdin and writing stdout."""
    return ["-limit", "Memory", "2GB", "-limit", "Map", "3GB", "-[0]", "-auto-orient", "-strip", "-interlace", "none",
            *_size_args(name), "-background", "white", "-alpha", "remove", "-colorspace", "sRGB", "jpg:-"]  # fmt: skip


def im_cozy_stack(path: Path, out: Path, usage: Usage) -> tuple[dict[str, list[int]], int]:
    """Four processes, each size from the previous one's JPEG, as cozy-stack's worker does."""
    source = path
    for name in IM_SIZES:
        target = out / f"stack-{name}.jpg"
        _convert(_cozy_stack_args(name), usage, stdin=source, stdout=target)
        source = target
    return _outputs(out, "stack-")


def _outputs(out: Path, prefix: str) -> tuple[dict[str, list[int]], int]:
    files = {n: out / f"{prefix}{n}.jpg" for n in IM_SIZES}
    return {n: list(Image.open(f).size) for n, f in files.items()}, sum(f.stat().st_size for f in files.values())


def im_one_process(path: Path, out: Path, usage: Usage) -> tuple[dict[str, list[int]], int]:
    """One process: decode at a reduced scale, then each size from the previous, written as it goes."""
    # The hint is the large box: libjpeg then decodes at the smallest scale that covers it, as Pillow's draft does.
    args = ["-define", "jpeg:size=1920x1080", f"{path}[0]", "-auto-orient", "-strip", "-interlace", "none",
            "-colorspace", "sRGB"]  # fmt: skip
    for name in IM_SIZES:
        args += [*_size_args(name), "-write", str(out / f"one-{name}.jpg")]
    _convert([*args, "null:"], usage)
    return _outputs(out, "one-")


def timed(fn, path: Path, out: Path, usage: Usage) -> tuple[float, float, tuple]:
    wall, cpu = time.perf_counter(), usage.cpu
    result = fn(path, out, usage)
    return time.perf_counter() - wall, usage.cpu - cpu, result


def _same_sizes(ours: dict[str, list[int]], theirs: dict[str, list[int]], what: str, path: Path) -> None:
    for name, (w, h) in ours.items():
        tw, th = theirs[name]
        if abs(tw - w) > 1 or abs(th - h) > 1:
            raise SystemExit(f"{what} made {name} {tw}x{th} for {path.name}, cozy {w}x{h}")


# -- the run -------------------------------------------------------------------------
def run(paths: list[Path]) -> list[str]:
    cozy, stack, one = [], [], []
    # The allocator warms up over the first tens of photos (mixed sizes and orientations), then
    # stays flat: the target compares the second half of the run with the first.
    first_tenth, half = max(1, len(paths) // 10), max(1, len(paths) // 2)
    rss_tenth = rss_half = 0
    worker_proc = CozyWorker()
    stack_usage, one_usage = Usage(), Usage()
    with tempfile.TemporaryDirectory(prefix="bench-thumbs-out-") as out:
        for i, path in enumerate(paths):
            # Rotate who goes first, so neither side always gets the warm page cache.
            order = ["cozy", "stack", "one"]
            for side in order[i % 3 :] + order[: i % 3]:
                if side == "cozy":
                    reply = worker_proc.run(path)
                    cozy.append((reply["wall"], reply["cpu"], reply["bytes"]))
                    ours = reply["sizes"]
                    if i + 1 == first_tenth:
                        rss_tenth = reply["rss_kib"]
                    if i + 1 == half:
                        rss_half = reply["rss_kib"]
                elif side == "stack":
                    wall, cpu, (sizes, total) = timed(im_cozy_stack, path, Path(out), stack_usage)
                    stack.append((wall, cpu, total))
                else:
                    wall, cpu, (sizes_one, total) = timed(im_one_process, path, Path(out), one_usage)
                    one.append((wall, cpu, total))
            _same_sizes(ours, sizes, "convert (cozy-stack's way)", path)
            _same_sizes(ours, sizes_one, "convert (one process)", path)
            if (i + 1) % 20 == 0:
                print(f"{i + 1}/{len(paths)} photos", file=sys.stderr, flush=True)
        rss_end = reply["rss_kib"]
    worker_proc.close()
    rss = (worker_proc.rest_rss_kib, rss_tenth, rss_half, rss_end, stack_usage.max_rss_kib, one_usage.max_rss_kib)
    return table(cozy, stack, one, rss, (first_tenth, half, len(paths)))


def _ms(values: list[float], q: float | None = None) -> float:
    if q is None:
        return statistics.median(values) * 1000
    return sorted(values)[min(len(values) - 1, round(q * (len(values) - 1)))] * 1000


def table(cozy, stack, one, rss: tuple[int, ...], marks: tuple[int, int, int]) -> list[str]:
    rows = []
    for label, pick, q in (("wall time per photo, median, ms", 0, None), ("wall time per photo, p95, ms", 0, 0.95),
                           ("CPU time per photo, median, ms", 1, None)):  # fmt: skip
        a, b, c = (_ms([r[pick] for r in side], q) for side in (cozy, stack, one))
        met = ("yes" if a < b else "NO") if pick == 0 and q is None else "-"
        target = "< cozy-stack's" if met != "-" else ""
        rows.append(f"| {label} | {a:.0f} | {b:.0f} | {c:.0f} | {a / b:.2f} | {target} | {met} |")
    a, b, c = (statistics.mean(r[2] for r in side) / 1024 for side in (cozy, stack, one))
    rows.append(f"| four thumbnails, mean KiB | {a:.0f} | {b:.0f} | {c:.0f} | {a / b:.2f} | | - |")
    rss_rest, rss_tenth, rss_half, rss_end, rss_stack, rss_one = (kib / 1024 for kib in rss)
    growth = rss_end / rss_half - 1
    met = "yes" if growth <= RSS_GROWTH_TARGET else "NO"
    tenth, half, count = marks
    rows.append(f"| peak RSS, MiB: cozy worker at rest, after {tenth}, {half}, {count} photos; largest convert "
                f"| {rss_rest:.0f}, {rss_tenth:.0f}, {rss_half:.0f}, {rss_end:.0f} | {rss_stack:.0f} | {rss_one:.0f} "
                f"| {growth:+.0%} from {half} to {count} | <= {RSS_GROWTH_TARGET:.0%} | {met} |")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, help=f"photos (default {FULL_COUNT}, {QUICK_COUNT} with --quick)")
    parser.add_argument("--quick", action="store_true", help="a few photos: a smoke run, not a measurement")
    parser.add_argument("--photos", type=Path, help="keep the generated photos here and reuse them next time")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    for tool, package in ((CONVERT, "imagemagick"), (TIME, "time")):
        if not Path(tool).is_file():
            raise SystemExit(f"{tool} is missing: apt-get install {package}")
    count = args.count or (QUICK_COUNT if args.quick else FULL_COUNT)
    started = time.perf_counter()
    folder = args.photos or Path(tempfile.mkdtemp(prefix="bench-thumbs-photos-"))
    try:
        paths = ensure_photos(folder, count)
        made = time.perf_counter() - started
        mean_mb = statistics.mean(p.stat().st_size for p in paths) / 1e6
        rows = run(paths)
    finally:
        if not args.photos:
            shutil.rmtree(folder, ignore_errors=True)
    version = subprocess.run([CONVERT, "-version"], capture_output=True, text=True).stdout.split(" https")[0][9:]
    print(f"{'quick ' if args.quick else ''}thumbnails benchmark ({platform.python_implementation()} "
          f"{platform.python_version()}, Pillow {Image.__version__}, {version}, {os.cpu_count()} CPUs, {count} photos "
          f"{WIDTH}x{HEIGHT} of {mean_mb:.1f} MB, photos made in {made:.0f} s, "
          f"{time.perf_counter() - started:.0f} s in all)")  # fmt: skip
    print(HEADER)
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
