"""Servers in child processes: the fake OpenAI server for benchmarks (so it does not share the client's
GIL) and a readiness wait usable for any HTTP server (llama-cpp-python's included)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

FAKE_SERVER_SCRIPT = Path(__file__).with_name("fake_openai.py")


def wait_until_ready(url: str, process: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    """Poll `url` until it answers (any HTTP status); fail fast if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server process exited with code {process.returncode} before it was ready")
        try:
            httpx.get(url, timeout=1.0, trust_env=False)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout_s:g} s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class ServerProcess:
    base_url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fake_server_process(latency_s: float = 0.0, fault: str | None = None, stack: str = "lean") -> Iterator[ServerProcess]:
    """Start tests/servers/fake_openai.py in a child process; yields its base URL (…/v1) and pid.
    `stack`: "lean" (httptools, uvloop) or "plain" (h11, asyncio), see fake_openai.SERVER_STACKS."""
    command = [sys.executable, str(FAKE_SERVER_SCRIPT), "--latency", str(latency_s), "--stack", stack]
    if fault:
        command += ["--fault", fault]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.startswith("PORT "):
            raise RuntimeError(f"fake server did not report its port (got {line!r})")
        base_url = f"http://127.0.0.1:{line.split()[1]}/v1"
        wait_until_ready(base_url, process, timeout_s=15)
        yield ServerProcess(base_url, process.pid)
    finally:
        stop_process(process)
