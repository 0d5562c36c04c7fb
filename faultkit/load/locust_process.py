"""One headless Locust run in subprocesses: a local runner, or a master and N local workers.

Locust is started as ``python -m locust -f <hooks>,<locustfile>``: the hooks file loads
:mod:`.locust_worker` (exact histograms, progress lines, the clean end), so any locustfile,
faultkit-aware or not, is measured the same way. The run ends itself after ``duration_s``;
Locust's own ``--run-time`` is set later as a backstop, and a hard deadline beyond that kills
the whole process group.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .processes import Child, child_env, python_module
from .results import PROGRESS_PREFIX, Kind, LoadRunError, PhaseResult, read_result

HOOKS = "from faultkit.load.locust_worker import install\n\ninstall()\n"
STARTUP_S = 30.0  # interpreter + locust import + (distributed) workers connecting
FINAL_REPORT_S = 14.0  # a master waits up to 3 report intervals + 5 s for final reports


@dataclass
class LocustRun:
    """Everything one run needs; ``host`` is the proxy's door or the target itself."""

    phase: str
    kind: Kind
    host: str
    locustfile: Path
    users: int
    spawn_rate: float
    duration_s: float
    rate_per_user: float
    workers: int = 0
    expected_interval_ms: float = 0.0
    request: dict[str, Any] = field(default_factory=dict)
    drain_s: float = 10.0
    progress_s: float = 3.0
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    answers: str = "status"  # what of each answer to keep for judging: off, status, body
    deadline_ms: float = 0.0  # the contract's deadline: answers past it are judged late

    @property
    def deadline_s(self) -> float:
        """Hard limit for the whole run, after which its process group is killed."""
        return self.duration_s + self.drain_s + FINAL_REPORT_S + STARTUP_S


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "run"


def run_locust(
    run: LocustRun, workdir: Path, on_progress: Callable[[dict[str, Any]], None] | None = None
) -> PhaseResult:
    """Run Locust headless for ``run``; returns what it measured.

    Raises :class:`LoadRunError` (with the tail of Locust's output) when it wrote no result.
    """
    hooks = workdir / "faultkit_hooks.py"
    if not hooks.is_file():
        hooks.write_text(HOOKS, encoding="utf-8")
    slug = _slug(run.phase)
    result = workdir / f"{slug}.result.json"
    locust_json = workdir / f"{slug}.locust"  # Locust appends ".json"
    for stale in (result, Path(f"{locust_json}.json")):
        stale.unlink(missing_ok=True)
    files = f"{hooks},{run.locustfile}"
    backstop = int(run.duration_s + run.drain_s + FINAL_REPORT_S + 10)
    argv = python_module(
        "locust",
        "-f",
        files,
        "--headless",
        "--users",
        str(run.users),
        "--spawn-rate",
        f"{run.spawn_rate:g}",
        "--run-time",
        f"{backstop}s",
        "--host",
        run.host,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        f"{run.drain_s:g}",
        "--json-file",
        str(locust_json),
        "--faultkit-result",
        str(result),
        "--faultkit-phase",
        run.phase,
        "--faultkit-duration-s",
        f"{run.duration_s:g}",
        "--faultkit-rate",
        f"{run.rate_per_user:g}",
        "--faultkit-expected-interval-ms",
        f"{run.expected_interval_ms:g}",
        "--faultkit-request",
        json.dumps(run.request),
        "--faultkit-progress-s",
        f"{run.progress_s:g}",
        "--faultkit-drain-s",
        f"{run.drain_s:g}",
        "--faultkit-answers",
        run.answers,
        "--faultkit-deadline-ms",
        f"{run.deadline_ms:g}",
    )
    port = free_port() if run.workers else 0
    if run.workers:
        argv += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
        argv += ["--expect-workers", str(run.workers), "--expect-workers-max-wait", "30"]

    def on_line(line: str) -> None:
        if on_progress is not None and line.startswith(PROGRESS_PREFIX):
            on_progress(json.loads(line[len(PROGRESS_PREFIX) :]))

    env = child_env(run.env)
    master = Child(
        argv, cwd=run.cwd, env=env, on_line=on_line, log_path=workdir / f"{slug}.locust.log"
    )
    workers: list[Child] = []
    try:
        for i in range(run.workers):
            worker_argv = python_module(
                "locust",
                "-f",
                files,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
                "--loglevel",
                "WARNING",
            )
            workers.append(
                Child(
                    worker_argv,
                    cwd=run.cwd,
                    env=env,
                    group=master.pgid,
                    log_path=workdir / f"{slug}.worker-{i + 1}.log",
                )
            )
        code = master.wait(run.deadline_s)
        if code is None:
            raise LoadRunError(
                f"{run.phase}: Locust still running after {run.deadline_s:g}s; killed.\n"
                + master.output()
            )
        for worker in workers:
            worker.wait(5.0)
        if not result.is_file():
            raise LoadRunError(
                f"{run.phase}: Locust exited with code {code} and wrote no result:\n"
                + master.output()
                + "".join(f"\n[worker] {w.output()}" for w in workers if w.output())
            )
    finally:
        master.kill_group()  # the workers share the master's group
        for worker in workers:
            worker.close()
    return read_result(
        result,
        phase=run.phase,
        kind=run.kind,
        host=run.host,
        locust_json=Path(f"{locust_json}.json"),
    )
