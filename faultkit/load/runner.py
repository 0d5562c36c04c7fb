"""``faultkit load``'s orchestration: the proxy, the app, the runs, the gates. No Locust here.

A load test is a sequence of Locust runs (each in subprocesses, :mod:`.locust_process`) against
one fault proxy (its own subprocess, :mod:`.proxy_process`). Where the faults sit:

``--faults-at upstream`` (the default with a target)
    Locust loads **the app directly**; the proxy has one door per upstream of the app
    (``openai``, ``anthropic``, ``gemini``, the ``[upstreams]`` of ``faultkit.toml``), replaying
    ``--cassettes`` or passing through to the real services. With ``--app "CMD"`` faultkit
    starts the app with each upstream's environment variable pointed at its door
    (:mod:`.app_process`); without it, ``--proxy-port N`` fixes the door ports and the printed
    ``export`` lines say how to point the app there. A "provider slowdown" slows the provider.
``--faults-at front``
    the proxy's one door stands in front of the target and Locust loads the door: for testing
    a client of a faulted service. A short ``direct`` run measures the proxy's own overhead.
``--no-proxy``
    the target alone, no faults.

Runs: a fault-free ``baseline``, then one per ``--scenario``, switched on the same proxy over
its control API. The target must answer before the load starts, and the baseline must be
healthy (:func:`~.accounting.check_baseline`), else the test stops with exit 3: a dead target
is never measured, and a gate never passes on it. Each run's answers are judged by the
contract (:mod:`.answers`). Without a target, the proxy replays the bundled support cassettes
at its ``openai`` door and Locust loads that door: a demonstration of the machinery.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, computed_field

from faultkit.report.rich_view import Bar

from .accounting import Overhead, check_baseline, overhead, route_warnings, run_warnings
from .answers import judge_answers, wants_bodies
from .app_process import AppProcess, wait_answering
from .gates import GateOutcome, evaluate
from .locust_process import LocustRun, run_locust
from .plan import DEFAULT_ROUTE, LoadOptions, Plan, aliases, plan_load
from .proxy_process import ProxyProcess
from .results import Kind, PhaseResult

__all__ = ["LoadOptions", "LoadReport", "Overhead", "run_load"]

OVERHEAD_MAX_S = 10.0


class LoadReport(BaseModel):
    target: str | None
    mode: str
    faults_at: str = "upstream"
    route: str | None
    app: str | None = None
    app_stderr: str | None = Field(None, description="Where the app's stderr was kept.")
    doors: dict[str, str] = Field(
        default_factory=dict, description="Upstream -> the door its env var pointed at."
    )
    exports: list[str] = Field(default_factory=list)
    contract: str = Field("default", description="Where the answers' contract came from.")
    users: int
    rate: float
    duration_s: float
    workers: int
    locustfile: str
    gate_view: str = "corrected"
    results: list[PhaseResult]
    overhead: Overhead
    gates: list[GateOutcome] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.gates)

    @property
    def failed_gates(self) -> list[GateOutcome]:
        return [outcome for outcome in self.gates if not outcome.ok]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def headline(self) -> str:
        """``gates: 3 passed, 1 failed, 0 broken``: the one line a reader looks at first."""
        passed = sum(o.ok for o in self.gates)
        broken = sum(o.broken for o in self.gates)
        failed = len(self.gates) - passed - broken
        if not self.gates:
            return "gates: none given (the exit code says only that the runs completed)"
        return f"gates: {passed} passed, {failed} failed, {broken} broken"

    def result(self, phase: str) -> PhaseResult:
        return next(r for r in self.results if r.phase == phase)


def _run_deadline(duration_s: float, drain_s: float) -> float:
    return LocustRun(
        phase="",
        kind="direct",
        host="",
        locustfile=Path(),
        users=1,
        spawn_rate=1.0,
        duration_s=duration_s,
        rate_per_user=1.0,
        drain_s=drain_s,
    ).deadline_s


def _progress_figures(line: dict[str, Any]) -> str:
    """Users, requests, rps, errors and corrected p50/p99 so far (the bar's status)."""

    def ms(value: Any) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    requests = int(line.get("requests") or 0)
    errors = (line.get("failures") or 0) / requests * 100 if requests else 0.0
    workers = f"  workers {line['workers']}" if line.get("workers") is not None else ""
    return (
        f"users {line.get('users')}{workers}  req {requests}  rps {line.get('rps', 0):.1f}"
        f"  err {errors:.1f}%  p50 {ms(line.get('p50_ms'))}  p99 {ms(line.get('p99_ms'))}"
        " (corrected)"
    )


def _progress_line(line: dict[str, Any]) -> str:
    return f"  [{line.get('phase')}] {line.get('elapsed_s', 0):>5.1f}s  {_progress_figures(line)}"


def run_load(
    options: LoadOptions, say: Callable[[str], None] = print, bar: Bar | None = None
) -> LoadReport:
    """Run the whole load test; ``say`` receives the live progress lines, or, with a ``bar``
    (a terminal with rich), each phase is a bar over its duration and ``say`` the rest.

    Raises FaultkitError for a usage mistake and LoadRunError (exit 3) when the test cannot
    measure anything true: the proxy or the app did not start, the target never answered, the
    baseline is broken, the app died during a run."""
    plan = plan_load(options)
    workdir = Path(tempfile.mkdtemp(prefix="faultkit-load-"))
    report = LoadReport(
        target=options.target,
        mode=plan.mode,
        faults_at="none" if plan.shape == "direct" else options.faults_at,
        route=plan.route,
        app=options.app,
        contract=plan.contract_source,
        users=options.users,
        rate=plan.rate,
        duration_s=options.duration_s,
        workers=options.workers,
        locustfile=str(plan.locustfile),
        results=[],
        overhead=Overhead(),
    )
    results = report.results  # the report's own list (pydantic copies a list it is given)
    if options.target is None:
        report.faults_at = "front"
    answers = "body" if wants_bodies(plan.contract) else "status"
    app: AppProcess | None = None

    def locust(phase: str, kind: Kind, host: str, duration_s: float) -> PhaseResult:
        say(
            f"faultkit load: {phase}: {options.users} users, {plan.rate:g} req/s for "
            f"{duration_s:g}s -> {host}"
        )
        run = LocustRun(
            phase=phase,
            kind=kind,
            host=host,
            locustfile=plan.locustfile.resolve(),
            users=options.users,
            spawn_rate=options.spawn_rate,
            duration_s=duration_s,
            rate_per_user=plan.rate / options.users,
            workers=options.workers,
            expected_interval_ms=options.expected_interval_ms,
            request=plan.request,
            drain_s=options.drain_s,
            progress_s=options.progress_s,
            answers=answers,
            deadline_ms=plan.contract.deadline_ms or 0.0,
        )
        if bar is None:
            result = run_locust(run, workdir, on_progress=lambda line: say(_progress_line(line)))
        else:
            bar.restart(phase, duration_s)
            result = run_locust(
                run,
                workdir,
                on_progress=lambda line: bar.update(
                    completed=min(float(line.get("elapsed_s") or 0), duration_s),
                    status=_progress_figures(line),
                ),
            )
            bar.update(completed=duration_s, status=f"{result.requests} requests")
        result.answers = judge_answers(
            result.answer_keys, plan.contract, result.counts.get("answers_unjudged", 0)
        )
        if app is not None and (gone := app.exited(f"during the {phase} run")) is not None:
            raise gone
        return result

    def start_app(env: dict[str, str]) -> None:
        nonlocal app
        if options.app is not None:
            say(f"faultkit load: starting the app: {options.app}")
            app = AppProcess(options.app, env=env, workdir=workdir)
        if plan.ready_url is not None:
            wait_answering(plan.ready_url, options.ready_timeout_s, app)

    try:
        if plan.shape == "direct":
            assert plan.origin is not None
            start_app({})
            direct = locust("direct", "direct", plan.origin, options.duration_s)
            results.append(direct)
            check_baseline(direct, options.max_baseline_errors)
        else:
            assert plan.proxy is not None
            _through_proxy(options, plan, report, locust, start_app, say, workdir)
    finally:
        if app is not None:
            app.stop()
            if options.app_log_dir is not None:
                options.app_log_dir.mkdir(parents=True, exist_ok=True)
                for log in (app.stderr_path, app.stdout_path):
                    shutil.copy(log, options.app_log_dir / log.name)
                report.app_stderr = str(options.app_log_dir / app.stderr_path.name)
        if options.keep_dir is not None:
            shutil.copytree(workdir, options.keep_dir, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)

    gated = (
        [r for r in results if r.kind == "scenario"]
        or [r for r in results if r.kind == "baseline"]
        or results
    )
    direct = next((r for r in results if r.kind == "direct"), None)
    baseline = next((r for r in results if r.kind == "baseline"), None)
    open_loop = any(r.counts.get("open_loop") for r in results)
    report.overhead = overhead(direct, baseline, plan.mode, report.faults_at)
    report.gates = evaluate(options.gates, gated)
    report.warnings += run_warnings(results, plan.rate, open_loop)
    return report


def _through_proxy(
    options: LoadOptions,
    plan: Plan,
    report: LoadReport,
    locust: Callable[[str, Kind, str, float], PhaseResult],
    start_app: Callable[[dict[str, str]], None],
    say: Callable[[str], None],
    workdir: Path,
) -> None:
    """Baseline and scenario runs with the proxy up (front or upstream shape)."""
    assert plan.proxy is not None
    results = report.results
    overhead_s = options.overhead_duration_s
    if overhead_s is None:
        overhead_s = min(options.duration_s, OVERHEAD_MAX_S)
    with_direct = plan.shape == "front" and plan.origin is not None and overhead_s > 0
    runs = [options.duration_s] * (1 + len(plan.scenarios)) + ([overhead_s] if with_direct else [])
    lifetime = sum(_run_deadline(d, options.drain_s) for d in runs) + options.ready_timeout_s + 60
    with ProxyProcess(plan.proxy, workdir=workdir, lifetime_s=lifetime) as proxy:
        proxy.wait_ready()
        routes = [d.name for d in proxy.doors]
        report.warnings += route_warnings(plan.scenarios, routes, aliases(options))
        if plan.shape == "upstream":
            report.doors = {d.name: d.base_url for d in proxy.doors}
            report.exports = proxy.export_lines()
            if options.app is None:
                say("faultkit load: the app must use these upstream addresses:")
                for line in report.exports:
                    say(f"  {line}")
            start_app(proxy.app_env())
            host = plan.origin
        else:
            if options.app is not None:
                report.warnings.append(
                    "--faults-at front: the app started with --app calls its real upstreams "
                    "(nothing points them at the proxy); the faults apply to its answers only"
                )
            start_app({})
            host = proxy.door(plan.route or DEFAULT_ROUTE)
        assert host is not None
        if with_direct:
            assert plan.origin is not None
            results.append(locust("direct", "direct", plan.origin, overhead_s))
        proxy.reset()
        proxy.load_scenario(None)
        baseline = locust("baseline", "baseline", host, options.duration_s)
        baseline.faults_applied, baseline.injected = proxy.injected()
        results.append(baseline)
        check_baseline(baseline, options.max_baseline_errors)
        for scenario, text in zip(plan.scenarios, plan.texts, strict=True):
            proxy.reset()
            proxy.load_scenario(text)
            result = locust(scenario.name, "scenario", host, options.duration_s)
            result.faults_applied, result.injected = proxy.injected()
            results.append(result)
