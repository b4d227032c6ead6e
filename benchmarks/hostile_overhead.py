"""What issue 25's hostile-input checks cost a clean run: this tree against a baseline commit.

Issue 25 asks that a clean run cost no more than before its checks (metadata checks in
every reading of a dataset, the non-blocking open and ``fstat`` of every clip, block-wise
hashing of big files, option ranges). One synthetic dataset of real formats (not timed),
then, alternating the two versions ``--repeats`` times: ``urbansound validate`` and
``urbansound featurize --augment none`` into an empty workspace, each a fresh process with
its own LocalCluster, wall time. The baseline is checked out with ``git worktree`` into a
temporary folder and run from the same virtualenv (its package first on ``PYTHONPATH``).
Prints the median of each and the ratio now / baseline; interleaving keeps the machine's
load the same for both.

    .venv/bin/python benchmarks/hostile_overhead.py --baseline 7aec8ea
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(code_dir: Path, args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "import sys; from urbansound.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, env=env, cwd=code_dir)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"failed in {code_dir}: urbansound {' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", default="7aec8ea", help="the commit before the checks (default: 7aec8ea)")
    p.add_argument("--clips-per-class", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-overhead-") as tmp:
        tmp = Path(tmp)
        base = tmp / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base), a.baseline], check=True)
        try:
            data = tmp / "synthetic-us8k"
            _run(REPO, ["synth", str(data), "--layout", "urbansound8k", "--clips-per-class", str(a.clips_per_class)])
            times: dict[tuple[str, str], list[float]] = {}
            for i in range(a.repeats):
                for version, code in (("now", REPO), ("baseline", base)):
                    ws = tmp / f"ws-{version}-{i}"
                    times.setdefault((version, "validate"), []).append(_run(code, ["validate", str(data)]))
                    times.setdefault((version, "featurize"), []).append(_run(code, [
                        "featurize", str(data), "--workspace", str(ws), "--augment", "none",
                        "--workers", str(a.workers), "--dashboard-address", ":0"]))
                    shutil.rmtree(ws, ignore_errors=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False)
    clips = 10 * a.clips_per_class
    print(f"{clips} synthetic clips (UrbanSound8K layout), {a.repeats} alternating repeats, median wall s:")
    for stage in ("validate", "featurize"):
        now, old = (statistics.median(times[(v, stage)]) for v in ("now", "baseline"))
        print(f"  {stage:9s}  now {now:6.2f}  baseline {a.baseline} {old:6.2f}  ratio {now / old:.3f}")


if __name__ == "__main__":
    main()
