"""Run the real ``faultkit proxy`` as a subprocess on loopback ephemeral ports.

A module of its own (not conftest.py) so test modules can import it by a name no other
test folder uses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SUPPORT_CASSETTES = REPO / "cassettes" / "support"


@dataclass
class ProxyProcess:
    proc: subprocess.Popen[bytes]
    info: dict
    out: Path
    err: Path
    stopped: bool = field(default=False)

    def door(self, name: str) -> str:
        """The base URL the SUT uses for upstream ``name`` (door address + base path)."""
        for door in self.info["doors"]:
            if door["name"] == name:
                return door["base_url"]
        raise KeyError(name)

    def address(self, name: str) -> str:
        for door in self.info["doors"]:
            if door["name"] == name:
                return door["address"]
        raise KeyError(name)

    @property
    def control(self) -> str:
        return self.info["control"]

    def port(self, name: str) -> int:
        return int(self.address(name).rsplit(":", 1)[1])

    def ledger(self, **params: str) -> list[dict]:
        r = httpx.get(f"{self.control}/faultkit/ledger", params=params, timeout=5)
        r.raise_for_status()
        return r.json()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[int, str, str]:
        if not self.stopped:
            self.stopped = True
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return (
            self.proc.returncode,
            self.out.read_text(errors="replace"),
            self.err.read_text(errors="replace"),
        )


def run_proxy(tmp_path: Path, *args: str, wait: float = 20) -> tuple[int, str, str]:
    """Run ``faultkit proxy`` expecting it to exit on its own (a startup error)."""
    proc = subprocess.run(
        [sys.executable, "-m", "faultkit.doors.proxy", "--control-port", "0", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=wait,
    )
    return proc.returncode, proc.stdout, proc.stderr


class ProxyFactory:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[ProxyProcess] = []

    def __call__(self, *args: str, control_port: int = 0, wait: float = 20) -> ProxyProcess:
        n = len(self.started)
        ready = self.tmp_path / f"ready-{n}.json"
        out = self.tmp_path / f"proxy-{n}.out"
        err = self.tmp_path / f"proxy-{n}.err"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faultkit.doors.proxy",
                "--control-port",
                str(control_port),
                "--ready-file",
                str(ready),
                *args,
            ],
            cwd=self.tmp_path,
            stdout=out.open("wb"),
            stderr=err.open("wb"),
            env=env,
        )
        deadline = time.monotonic() + wait
        while not ready.exists():
            if proc.poll() is not None:
                raise AssertionError(
                    f"proxy exited with {proc.returncode}: {err.read_text(errors='replace')}"
                )
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("proxy did not become ready: " + err.read_text())
            time.sleep(0.02)
        process = ProxyProcess(proc, json.loads(ready.read_text()), out, err)
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in self.started:
            process.stop()
