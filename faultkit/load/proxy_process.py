"""The fault proxy as a child process, driven through its control API between runs.

One proxy serves every run of a ``faultkit load`` (baseline, then each scenario), so the
baseline measures the same process, warmed the same way, that later injects the faults. It is
started without a scenario (the fault-free baseline); a scenario is loaded before its run with
``POST /faultkit/scenario`` after ``POST /faultkit/reset`` (fresh counters and ledger).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .processes import Child, child_env
from .results import LoadRunError

READY_TIMEOUT_S = 20.0
# The proxy runs under an alarm: even if faultkit itself is killed (SIGKILL, no cleanup), the
# proxy ends by itself once the whole load test could no longer be running.
_UNDER_ALARM = (
    "import runpy, signal, sys\n"
    "signal.alarm(int(sys.argv.pop(1)))\n"
    "runpy.run_module('faultkit.doors.proxy', run_name='__main__', alter_sys=True)\n"
)


class ProxyProcess:
    """``faultkit proxy`` in its own process group; ``door`` is the URL Locust loads."""

    def __init__(
        self,
        *,
        workdir: Path,
        route: str,
        upstream: str | None,
        cassettes: list[Path] | None = None,
        cwd: Path | None = None,
        lifetime_s: float = 3600.0,
    ) -> None:
        self.ready_file = workdir / "proxy-ready.json"
        args = ["--control-port", "0", "--ready-file", str(self.ready_file), "--only", route]
        # The whole ledger is kept: faults applied are counted from it after each run, and a
        # bounded one would undercount a long run.
        args += ["--log-level", "ERROR", "--grace-s", "1", "--ledger-size", "0"]
        if upstream is not None:
            args += ["--mode", "passthrough", "--upstream", f"{route}={upstream}"]
        else:
            args += ["--mode", "replay", "--playback", "repeat"]
            for path in cassettes or []:
                args += ["--cassettes", str(path)]
        self.route = route
        self.child = Child(
            [sys.executable, "-c", _UNDER_ALARM, str(max(int(lifetime_s), 1)), *args],
            cwd=cwd,
            env=child_env(),
            log_path=workdir / "proxy.log",
        )
        self.door = ""
        self.control = ""
        self._http = httpx.Client(timeout=30.0, trust_env=False)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready_file.is_file():
                info = json.loads(self.ready_file.read_text(encoding="utf-8"))
                door = next(d for d in info["doors"] if d["name"] == self.route)
                self.door, self.control = door["address"], info["control"]
                return
            if self.child.poll() is not None:
                break
            time.sleep(0.05)
        code = self.child.poll()
        self.close()
        why = f"exited with code {code}" if code is not None else f"not ready in {timeout_s:g}s"
        raise LoadRunError(f"faultkit proxy {why}:\n{self.child.output()}")

    def _call(self, method: str, path: str, body: bytes | None = None) -> Any:
        try:
            reply = self._http.request(method, self.control + path, content=body)
        except httpx.HTTPError as exc:
            raise LoadRunError(f"proxy control API {method} {path}: {exc}") from None
        if reply.status_code >= 400:
            raise LoadRunError(f"proxy control API {method} {path}: {reply.text.strip()}")
        return reply.json() if reply.content else None

    def reset(self) -> None:
        self._call("POST", "/faultkit/reset")

    def load_scenario(self, yaml_text: str | None) -> None:
        """Make a scenario active (``None``: an empty one, i.e. no faults)."""
        text = yaml_text if yaml_text is not None else "name: baseline\nrules: []\n"
        self._call("POST", "/faultkit/scenario", text.encode("utf-8"))

    def faults_applied(self) -> int:
        """Requests of the current run that a fault was applied to (from the ledger)."""
        rows = self._call("GET", f"/faultkit/ledger?route={self.route}") or []
        return sum(1 for row in rows if row.get("faults"))

    def close(self) -> None:
        self._http.close()
        self.child.kill_group()

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
