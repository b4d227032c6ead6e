"""One progress display for every long step: done/total, rate and time left.

On a terminal it is a rich progress bar (rich comes with Prefect); otherwise (a log file,
CI, a pipe) plain lines on stderr, one every :data:`LINE_EVERY_S` seconds at most and one
at the end, so logs stay short. Stages take a plain callback (:data:`Tick`), so library
code never draws anything itself: the command line decides how progress is shown.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

LINE_EVERY_S = 10.0

Tick = Callable[..., None]
"""``tick(n=1, failed=0, total=None)``: ``n`` more units done (``failed`` of them failed);
``total`` (re)sets the number of units, for a stage that knows it only once it starts."""


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class PlainProgress:
    """Lines like ``featurize: 400/8732 clips (5%), 61.2 clips/s, 0 failed, 2:16 left``."""

    def __init__(self, label: str, total: int, unit: str, stream: IO[str] | None = None,
                 every: float = LINE_EVERY_S) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.every = every
        self.done = self.failed = 0
        self.start = time.perf_counter()
        self.last = self.start  # the first line after `every` seconds: a short step prints only its last

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        done = f"{self.done:.4g}" if isinstance(self.done, float) else str(self.done)
        left = ("" if not self.total else f", {_duration(elapsed)} in all" if self.done >= self.total
                else f", {_duration((self.total - self.done) / rate)} left" if rate > 0 else "")
        failed = f", {self.failed} failed" if self.failed else ""
        of = f"/{self.total:.4g}" if self.total else ""
        return f"{self.label}: {done}{of} {self.unit}{pct}, {rate:.3g} {self.unit}/s{failed}{left}"

    def __call__(self, n: int = 1, failed: int = 0, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        if not n and not failed:
            return
        self.done += n
        self.failed += failed
        now = time.perf_counter()
        if now - self.last >= self.every or 0 < self.total <= self.done:
            self.last = now
            print(self.line(), file=self.stream, flush=True)


@contextmanager
def progress(label: str, total: int, unit: str, *, stream: IO[str] | None = None,
             rich: bool | None = None) -> Iterator[Tick]:
    """A :data:`Tick` callback that shows ``label``'s progress until the block ends.

    Parameters
    ----------
    total : int
        Units of work (clips, fits, figures, bytes); 0 if the stage sets it when it starts.
    unit : str
        What a unit is, plural (``clips``, ``fits``).
    rich : bool, optional
        Force the rich bar (True) or plain lines (False); default: rich when ``stream``
        (stderr) is a terminal.
    """
    stream = stream or sys.stderr
    use_rich = stream.isatty() if rich is None else rich
    if not use_rich:
        yield PlainProgress(label, total, unit, stream)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn(unit), TaskProgressColumn(),
                          TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[failed]}"),
                          TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(), TextColumn("left")]
    start = time.perf_counter()
    with Progress(*columns, console=Console(file=stream), transient=False) as bar:
        task = bar.add_task(label, total=total, rate="", failed="")
        state = {"done": 0, "failed": 0}

        def tick(n: int = 1, failed: int = 0, total: int | None = None) -> None:
            if total is not None:
                bar.update(task, total=total)
            state["done"] += n
            state["failed"] += failed
            elapsed = max(time.perf_counter() - start, 1e-9)
            bar.update(task, advance=n, rate=f"{state['done'] / elapsed:.3g} {unit}/s",
                       failed=f"{state['failed']} failed" if state["failed"] else "")

        yield tick


def from_cumulative(tick: Tick, scale: float = 1.0) -> Callable[..., None]:
    """Adapt ``tick`` to a stage that reports running totals, ``update(done, total=None,
    failed=0, ...)`` (featurize's clips, fetch's bytes), scaled by ``scale`` (bytes -> MiB)."""
    seen: dict[str, Any] = {"done": 0, "failed": 0, "total": None}

    def update(done: float, total: float | None = None, failed: int = 0, *_: Any) -> None:
        if total is not None and total != seen["total"]:
            seen["total"] = total
            tick(0, total=total * scale)
        tick((done - seen["done"]) * scale, failed - seen["failed"])
        seen.update(done=done, failed=failed)

    return update
