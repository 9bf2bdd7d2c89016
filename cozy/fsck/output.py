"""How the fsck command shows a run: JSON lines, or a rich progress bar and table on a terminal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from cozy.fsck.runner import Report


class JsonOutput:
    """One line per anomaly, then one summary line per instance; errors as lines too."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def _line(self, data: dict) -> None:
        self.stream.write(json.dumps(data, sort_keys=True) + "\n")
        self.stream.flush()

    @contextmanager
    def progress(self, domain: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda n: None

    def report(self, report: Report) -> None:
        for anomaly in report.anomalies:
            self._line({"domain": report.domain, **anomaly.to_json()})
        self._line({"domain": report.domain, "summary": report.summary()})

    def error(self, domain: str, message: str) -> None:
        self._line({"domain": domain, "error": message})


class RichOutput:
    def __init__(self, stream: IO[str]):
        from rich.console import Console

        self.console = Console(file=stream)

    @contextmanager
    def progress(self, domain: str, total: int) -> Iterator[Callable[[int], None]]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task(f"{domain}: objects", total=total or None)
            yield lambda n: bar.advance(task, n)

    def report(self, report: Report) -> None:
        from rich.markup import escape

        summary = report.summary()
        for a in report.anomalies:
            parts = [f"[bold]{a.type}[/bold]", a.file_id or a.object, a.detail]
            if a.fix:
                parts.append(f"-> {a.fix}")
            self.console.print(f"{report.domain}: " + " ".join(escape(p) if i else p for i, p in enumerate(parts) if p))
        state = "clean" if not report.anomalies else f"{summary['anomalies']} anomalies"
        fixed = f", {summary['fixed']} fixed" if summary["fixed"] else ""
        self.console.print(f"{report.domain}: {state}{fixed} ({summary['objects']:,} objects, "
                           f"{summary['entries']:,} index entries)")  # fmt: skip

    def error(self, domain: str, message: str) -> None:
        self.console.print(f"[red]{domain}: error: {message}[/red]")
