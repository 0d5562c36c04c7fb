"""The fault proxy as a child process, driven through its control API between runs.

It is the very process ``faultkit proxy`` runs (``python -m faultkit.doors.proxy``), in one of
two shapes:

* **upstream** (the default of ``faultkit load``): one door per upstream of the app
  (``openai``, ``anthropic``, ``gemini`` and the ``[upstreams]`` of ``faultkit.toml``), replaying
  cassettes or passing through to the real services; the app's environment variables point at
  the doors (:meth:`ProxyProcess.app_env`, or the printed ``export`` lines);
* **front** (``--faults-at front``): one door, ``route``, in front of the target itself.

One proxy serves every run of a load test (baseline, then each scenario), so the baseline
measures the same process, warmed the same way, that later injects the faults. Between runs
the ledger and counters are reset and a scenario is loaded over the control API. Requests are
sent as JSON with a loopback ``Host`` (httpx derives it from the 127.0.0.1 control URL), which
is what the control API's browser and rebinding guards let through.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from faultkit.cassettes.store import APP_PLAYBACK

from .processes import Child, child_env
from .results import Injected, LoadRunError

READY_TIMEOUT_S = 20.0
# The proxy runs under an alarm: even if faultkit itself is killed (SIGKILL, no cleanup), the
# proxy ends by itself once the whole load test could no longer be running.
_UNDER_ALARM = (
    "import runpy, signal, sys\n"
    "signal.alarm(int(sys.argv.pop(1)))\n"
    "runpy.run_module('faultkit.doors.proxy', run_name='__main__', alter_sys=True)\n"
)
_JSON = {"content-type": "application/json"}


@dataclass
class RunningDoor:
    """One door of the running proxy, as its ready file describes it."""

    name: str
    address: str
    base_url: str
    env: str | None = None
    export: str | None = None


@dataclass
class ProxyShape:
    """What to start: the doors (``only``; None = every configured upstream), where their
    traffic comes from, and on which ports."""

    mode: str = "replay"
    only: list[str] | None = None
    upstreams: list[str] = field(default_factory=list)  # NAME=URL overrides
    cassettes: list[Path] = field(default_factory=list)
    config: Path | None = None
    port: int | None = None
    host: str = "127.0.0.1"


class ProxyProcess:
    """``faultkit proxy`` in its own process group; ``doors`` are read from its ready file."""

    def __init__(
        self,
        shape: ProxyShape,
        *,
        workdir: Path,
        cwd: Path | None = None,
        lifetime_s: float = 3600.0,
    ) -> None:
        self.ready_file = workdir / "proxy-ready.json"
        args = ["--control-port", "0", "--ready-file", str(self.ready_file)]
        # The whole ledger is kept: faults applied are counted from it after each run, and a
        # bounded one would undercount a long run.
        args += ["--log-level", "ERROR", "--grace-s", "1", "--ledger-size", "0"]
        args += ["--mode", shape.mode, "--playback", APP_PLAYBACK, "--host", shape.host]
        if shape.only:
            args += ["--only", ",".join(shape.only)]
        for text in shape.upstreams:
            args += ["--upstream", text]
        for path in shape.cassettes:
            args += ["--cassettes", str(path)]
        if shape.config is not None:
            args += ["--config", str(shape.config)]
        if shape.port is not None:
            args += ["--port", str(shape.port)]
        self.child = Child(
            [sys.executable, "-c", _UNDER_ALARM, str(max(int(lifetime_s), 1)), *args],
            cwd=cwd,
            env=child_env(),
            log_path=workdir / "proxy.log",
        )
        self.doors: list[RunningDoor] = []
        self.control = ""
        self._http = httpx.Client(timeout=30.0, trust_env=False)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready_file.is_file():
                info = json.loads(self.ready_file.read_text(encoding="utf-8"))
                self.doors = [
                    RunningDoor(
                        name=d["name"],
                        address=d["address"],
                        base_url=d.get("base_url") or d["address"],
                        env=d.get("env"),
                        export=d.get("export"),
                    )
                    for d in info["doors"]
                ]
                self.control = info["control"]
                return
            if self.child.poll() is not None:
                break
            time.sleep(0.05)
        code = self.child.poll()
        self.close()
        lines = [line for line in self.child.output().splitlines() if line.strip()]
        said = f": {lines[-1].strip()}" if lines else ""
        why = f"exited with code {code}" if code is not None else f"not ready in {timeout_s:g}s"
        raise LoadRunError(f"the fault proxy {why}{said}")

    def door(self, name: str) -> str:
        return next(d.address for d in self.doors if d.name == name)

    def app_env(self) -> dict[str, str]:
        """Each upstream's environment variable -> its door's base URL, for the app."""
        return {d.env: d.base_url for d in self.doors if d.env}

    def export_lines(self) -> list[str]:
        return [d.export for d in self.doors if d.export]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        content = None if body is None else json.dumps(body).encode("utf-8")
        try:
            reply = self._http.request(method, self.control + path, content=content, headers=_JSON)
        except httpx.HTTPError as exc:
            raise LoadRunError(f"proxy control API {method} {path}: {exc}") from None
        if reply.status_code >= 400:
            raise LoadRunError(f"proxy control API {method} {path}: {reply.text.strip()}")
        return reply.json() if reply.content else None

    def reset(self) -> None:
        self._call("POST", "/faultkit/reset", {})

    def load_scenario(self, yaml_text: str | None) -> None:
        """Make a scenario active (``None``: an empty one, i.e. no faults). The YAML is sent
        as its JSON equivalent (the control API takes both; JSON passes its content-type
        check)."""
        text = yaml_text if yaml_text is not None else "name: baseline\nrules: []\n"
        self._call("POST", "/faultkit/scenario", yaml.safe_load(text))

    def injected(self) -> tuple[int, list[Injected]]:
        """Exchanges of the current run a fault was applied to, and what was injected where:
        (upstream, fault type) -> count, from the proxy's ledger."""
        rows = self._call("GET", "/faultkit/ledger") or []
        faulted = 0
        counts: Counter[tuple[str, str]] = Counter()
        for row in rows:
            faults = row.get("faults") or []
            if faults:
                faulted += 1
            for fault in faults:
                counts[(str(row.get("route")), str(fault.get("type")))] += 1
        return faulted, [
            Injected(upstream=route, fault=fault, count=n)
            for (route, fault), n in sorted(counts.items())
        ]

    def close(self) -> None:
        self._http.close()
        self.child.kill_group()

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
