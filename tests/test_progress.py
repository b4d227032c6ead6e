"""The progress display: plain lines with done/total, rate and time left; rich on a terminal."""

from __future__ import annotations

import io

from urbansound.progress import PlainProgress, from_cumulative, progress


def test_plain_lines_say_done_total_rate_and_time_left(monkeypatch):
    clock = iter([0.0, 10.0, 10.0, 20.0, 20.0, 20.0])
    monkeypatch.setattr("urbansound.progress.time.perf_counter", lambda: next(clock))
    out = io.StringIO()
    p = PlainProgress("featurize", 200, "clips", out, every=5.0)
    p(50)  # 10 s in: a line, 5 clips/s, 30 s left
    p(150, failed=2)  # done: the last line always comes, with the time in all
    lines = out.getvalue().splitlines()
    assert lines == ["featurize: 50/200 clips (25%), 5 clips/s, 0:30 left",
                     "featurize: 200/200 clips (100%), 10 clips/s, 2 failed, 0:20 in all"]


def test_a_short_step_prints_only_its_last_line():
    out = io.StringIO()
    with progress("report", 0, "figures", stream=out, rich=False) as tick:
        tick(0, total=3)
        for _ in range(3):
            tick()
    (line,) = out.getvalue().splitlines()
    assert line.startswith("report: 3/3 figures (100%)") and "in all" in line


def test_running_totals_become_steps_and_bytes_become_mib():
    seen = []

    def tick(n=1, failed=0, total=None):
        seen.append((n, failed, total))

    update = from_cumulative(tick, scale=1 / 2**20)
    update(0, 4 * 2**20)
    update(2**20, 4 * 2**20)
    update(4 * 2**20, 4 * 2**20, 1)
    assert seen == [(0, 0, 4.0), (0.0, 0, None), (1.0, 0, None), (3.0, 1, None)]


def test_on_a_terminal_a_rich_bar_with_time_left():
    out = io.StringIO()
    with progress("train", 0, "fits", stream=out, rich=True) as tick:
        tick(0, total=4)
        for _ in range(4):
            tick()
    text = out.getvalue()
    assert "train" in text and "4/4" in text and "fits" in text and "left" in text
