"""Count crashes when several processes first use librosa's Numba gufuncs at once (issue 26).

Each round gives Numba a fresh, empty cache folder (NUMBA_CACHE_DIR), the state of a new
venv, then starts PROCS Python processes at the same moment. Each imports librosa and calls
the gufuncs the pipeline uses (zero crossings, local maxima and minima), as the test
process and a LocalCluster's workers do on a fresh machine. A process that dies by a
signal (SIGSEGV, SIGBUS, SIGABRT) counts as a crash.

    python scripts/numba_cache_race.py --rounds 20 --mode bare     # librosa as it is
    python scripts/numba_cache_race.py --rounds 20 --mode guarded  # through urbansound._librosa

The race is numba/numba#10128: two processes that compile the same @guvectorize functions
concurrently may number their ABI tags differently, so the kernel's cache file (<f>.nbc) and
its gufunc wrapper's (guf-<f>.nbc) come from different processes and a later load calls a
null function pointer. 'guarded' imports librosa through urbansound._librosa, which holds a
lock while librosa's gufunc modules compile or load.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

CHILD = {
    "bare": "import librosa",
    "guarded": "from urbansound._librosa import librosa",
}
WORK = """
import numpy as np
x = np.random.default_rng(0).normal(size=22050).astype(np.float32)
for _ in range(3):
    librosa.zero_crossings(x)
    librosa.feature.zero_crossing_rate(y=x)
    librosa.util.localmax(x)
    librosa.util.localmin(x.astype(np.float64))
    librosa.onset.onset_detect(y=x, sr=22050)
"""


def one_round(mode: str, procs: int) -> list[int]:
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONFAULTHANDLER": "0"}
        code = CHILD[mode] + "\n" + WORK
        children = [subprocess.Popen([sys.executable, "-c", code], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    for _ in range(procs)]
        codes = []
        for child in children:
            _, err = child.communicate(timeout=600)
            if child.returncode > 0:  # an exception, not a crash: show it, it is a bug in this script
                sys.stderr.write(err.decode(errors="replace")[-2000:])
            codes.append(child.returncode)
        return codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--mode", choices=sorted(CHILD), default="bare")
    args = parser.parse_args()
    crashes = errors = 0
    start = time.perf_counter()
    for i in range(1, args.rounds + 1):
        codes = one_round(args.mode, args.procs)
        died = [signal.Signals(-c).name for c in codes if c < 0]
        crashes += bool(died)
        errors += any(c > 0 for c in codes)
        print(f"round {i:3d}: exit codes {codes}" + (f"  CRASH ({', '.join(died)})" if died else ""), flush=True)
    print(f"mode={args.mode} procs={args.procs}: {crashes} of {args.rounds} rounds crashed, "
          f"{errors} raised; {time.perf_counter() - start:.0f} s")
    return 1 if crashes or errors else 0


if __name__ == "__main__":
    sys.exit(main())
