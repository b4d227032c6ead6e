"""Real server processes for tests: loopback only, each in its own session, all killed
(with their children) at the end, and checked gone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def final_flow_run(client, run_id, timeout: float, say) -> object:  # noqa: ANN001 - a PrefectClient, a UUID
    """Poll a Prefect flow run until its state is final; fail with ``say()`` after ``timeout`` s."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        run = await client.read_flow_run(run_id)
        if run.state and run.state.is_final():
            return run
        assert time.monotonic() < deadline, f"run still {run.state}: {say()}"
        await asyncio.sleep(0.5)


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> bytes:
    """GET ``url`` until it answers 200; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return r.read()
        except OSError as e:
            last = e
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s ({last})")


class Processes:
    """Start processes in new sessions; ``stop()`` kills each session and waits."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=15)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # Children that outlived their leader still carry its session id.
        deadline = time.monotonic() + 15
        while self.survivors() and time.monotonic() < deadline:
            for pid in self.survivors():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    def survivors(self) -> list[int]:
        sessions = {p.pid for p in self.procs}
        alive = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getsid(int(entry.name)) in sessions:
                        alive.append(int(entry.name))
                except (ProcessLookupError, PermissionError):
                    pass
        return alive
