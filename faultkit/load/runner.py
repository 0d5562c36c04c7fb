"""``faultkit load``'s orchestration: the proxy, the app, the runs, the gates. No Locust here.

A load test is a sequence of Locust runs (each in subprocesses, :mod:`.locust_process`) against
one fault proxy (its own subprocess, :mod:`.proxy_process`). Where the faults sit:

``--faults-at upstream`` (the default with a target)
    Locust loads **the app directly**; the proxy has one door per upstream of the app
    (``openai``, ``anthropic``, the ``[upstreams]`` of ``faultkit.toml``), replaying
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

import ipaddress
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from faultkit import catalogue
from faultkit.errors import FaultkitError
from faultkit.oracle.contract import Contract
from faultkit.scenario import Scenario

from .accounting import (
    DEFAULT_MAX_BASELINE_ERRORS,
    Overhead,
    check_baseline,
    overhead,
    route_warnings,
    run_warnings,
)
from .answers import judge_answers, wants_bodies
from .app_process import READY_TIMEOUT_S, AppProcess, wait_answering
from .gates import Gate, GateOutcome, evaluate
from .locust_process import LocustRun, run_locust
from .proxy_process import ProxyProcess, ProxyShape
from .results import Kind, PhaseResult

__all__ = ["LoadOptions", "LoadReport", "Overhead", "run_load"]

DEFAULT_ROUTE = "target"
BUNDLED_ROUTE = "openai"
BUNDLED_CASSETTE = ("support", "openai_order_status.yaml")
OVERHEAD_MAX_S = 10.0
FaultsAt = Literal["upstream", "front"]


class LoadOptions(BaseModel):
    """What ``faultkit load`` was asked for (the CLI and the pytest fixture build this)."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = Field(None, description="URL to load; None: the bundled replay.")
    scenarios: list[str] = Field(default_factory=list)
    app: str | None = Field(None, description="Command that starts the app (faultkit stops it).")
    cassettes: list[Path] = Field(default_factory=list, description="Replayed upstream traffic.")
    mode: Literal["replay", "passthrough"] = Field(
        "replay", description="Where the upstream doors' answers come from."
    )
    faults_at: FaultsAt = "upstream"
    proxy_port: int | None = Field(None, ge=1, le=65535, description="First door port.")
    config: Path | None = Field(None, description="faultkit.toml (default: ./ as the proxy).")
    upstreams: list[str] = Field(default_factory=list, description="NAME=URL[,env=VAR] extras.")
    ready_url: str | None = Field(None, description="Polled before the load (default: target).")
    ready_timeout_s: float = Field(READY_TIMEOUT_S, gt=0)
    max_baseline_errors: float = Field(DEFAULT_MAX_BASELINE_ERRORS, ge=0, le=1)
    cases: Path | None = Field(None, description="Cases file: request bodies and the contract.")
    users: int = Field(10, ge=1)
    spawn_rate: float = Field(10.0, gt=0)
    duration_s: float = Field(30.0, gt=0)
    rate: float | None = Field(None, gt=0, description="Total arrivals/s (default: 1/s/user).")
    locustfile: Path | None = None
    workers: int = Field(0, ge=0)
    gates: list[Gate] = Field(default_factory=list)
    expected_interval_ms: float = Field(0.0, ge=0)
    method: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    route: str | None = None
    overhead_duration_s: float | None = Field(None, ge=0)
    proxy: bool = True
    allow_remote: bool = False
    drain_s: float = Field(10.0, ge=0)
    progress_s: float = Field(3.0, gt=0)
    keep_dir: Path | None = Field(None, description="Keep Locust's raw files here.")
    app_log_dir: Path | None = Field(None, description="Keep the app's stdout/stderr here.")


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


def default_locustfile() -> Path:
    """``loadtests/through_proxy.py``: from a wheel (``faultkit/_bundled``) or the checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (
        package / "_bundled" / "loadtests" / "through_proxy.py",
        package.parent / "loadtests" / "through_proxy.py",
    ):
        if candidate.is_file():
            return candidate
    raise FaultkitError("the default locustfile (loadtests/through_proxy.py) is not installed")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(url: str, allow_remote: bool) -> tuple[str, str]:
    """``(origin, path?query)`` of a target URL; loopback only unless ``allow_remote``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FaultkitError(f"target {url!r}: expected an http:// or https:// URL")
    if not _is_loopback(parts.hostname) and not allow_remote:
        raise FaultkitError(
            f"target {url!r} is not a loopback address; load testing another host needs "
            "--allow-remote (make sure you may put load on it)"
        )
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return f"{parts.scheme}://{parts.netloc}", path


def choose_route(scenarios: list[Scenario], explicit: str | None) -> str:
    """The front door's upstream name, which scenario rules match with ``match.route``.

    ``--route`` wins. Otherwise, when every rule of every scenario names the same plain route
    (``openai``), the door takes that name, so a provider scenario fires against a target
    that stands in for the provider; else ``target``.
    """
    if explicit:
        return explicit
    routes = {rule.match.route for s in scenarios for rule in s.rules}
    if len(routes) == 1:
        (only,) = routes
        if only and not any(c in only for c in "*?["):
            return only
    return DEFAULT_ROUTE


def _bundled_request() -> tuple[Path, dict[str, Any]]:
    from faultkit.cassettes import load_cassette

    directory = catalogue.bundled_dir("cassettes")
    if directory is None:
        raise FaultkitError("the bundled cassettes are not installed; give a TARGET_URL")
    path = directory.joinpath(*BUNDLED_CASSETTE)
    request = load_cassette(path).interactions[0].request
    parts = urlsplit(request.url)
    headers = {k: v for k, v in request.headers if k.lower() in ("content-type", "accept")}
    return path, {
        "method": request.method,
        "path": (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        "headers": headers,
        "body": request.body.decode("utf-8"),
    }


def _progress_line(line: dict[str, Any]) -> str:
    def ms(value: Any) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    requests = int(line.get("requests") or 0)
    errors = (line.get("failures") or 0) / requests * 100 if requests else 0.0
    workers = f"  workers {line['workers']}" if line.get("workers") is not None else ""
    return (
        f"  [{line.get('phase')}] {line.get('elapsed_s', 0):>5.1f}s  users {line.get('users')}"
        f"{workers}  req {requests}  rps {line.get('rps', 0):.1f}  err {errors:.1f}%"
        f"  p50 {ms(line.get('p50_ms'))}  p99 {ms(line.get('p99_ms'))} (corrected)"
    )


class _Plan(BaseModel):
    """The load test worked out from the options, before anything starts."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    scenarios: list[Scenario]
    texts: list[str]
    locustfile: Path
    rate: float
    request: dict[str, Any]
    contract: Contract
    contract_source: str
    shape: Literal["direct", "front", "upstream"]
    mode: str
    origin: str | None = None
    route: str | None = None
    ready_url: str | None = None
    proxy: ProxyShape | None = None


def _cases(options: LoadOptions, request: dict[str, Any]) -> tuple[Contract, str, list[Path]]:
    """The contract (and the bodies, into ``request``) from ``--cases``, as ``faultkit run``
    reads that file; the default contract without one."""
    if options.cases is None:
        return Contract(), "default (5xx or no answer: crash; 4xx: explicit error)", []
    from faultkit.runner.cases import load_cases

    cases_file = load_cases(options.cases)
    bodies = [json.dumps(case.input) for case in cases_file.cases if case.input is not None]
    if bodies and options.body is None:
        request["bodies"] = bodies
        request["method"] = options.method or "POST"
        request.setdefault("headers", {})["content-type"] = "application/json"
    return cases_file.contract, str(options.cases), cases_file.cassette_paths()


def _upstream_ports_fixed(options: LoadOptions) -> bool:
    """Whether the app can know the doors' addresses before the proxy starts."""
    from faultkit.doors.proxy.config import find_config, load_upstreams, parse_upstream_option

    if options.proxy_port is not None:
        return True
    config = options.config if options.config is not None else find_config()
    upstreams = {u.name: u for u in load_upstreams(config)}
    upstreams.update({u.name: u for u in map(parse_upstream_option, options.upstreams)})
    return all(u.port for u in upstreams.values())


def plan_load(options: LoadOptions) -> _Plan:
    """Check the options and work out the runs; every mistake is one FaultkitError line."""
    scenarios = [catalogue.load(ref) for ref in options.scenarios]
    texts = [catalogue.resolve(ref).read_text(encoding="utf-8") for ref in options.scenarios]
    if scenarios and not options.proxy:
        raise FaultkitError("--scenario needs the proxy; drop --no-proxy")
    if options.app is not None and options.target is None:
        raise FaultkitError("--app needs the TARGET_URL to load (the app's endpoint)")
    if options.config is not None and not options.config.is_file():
        raise FaultkitError(f"--config {options.config}: config file not found")
    locustfile = Path(options.locustfile) if options.locustfile else default_locustfile()
    if not locustfile.is_file():
        raise FaultkitError(f"{locustfile}: locustfile not found")
    request: dict[str, Any] = {"method": options.method or "GET", "path": "/"}
    contract, source, case_cassettes = _cases(options, request)
    cassettes = case_cassettes + list(options.cassettes)
    missing = [str(p) for p in cassettes if not p.exists()]
    if missing:
        raise FaultkitError(f"cassettes not found: {', '.join(missing)}")
    fields: dict[str, Any] = {}
    if options.target is None:
        if not options.proxy:
            raise FaultkitError("--no-proxy needs a TARGET_URL")
        cassette, request = _bundled_request()
        if options.method:
            request["method"] = options.method
        route = options.route or BUNDLED_ROUTE
        fields = dict(shape="front", mode="replay", route=route)
        fields["proxy"] = ProxyShape(mode="replay", only=[route], cassettes=[cassette])
    else:
        origin, request["path"] = check_target(options.target, options.allow_remote)
        ready = options.ready_url or options.target
        check_target(ready, options.allow_remote)
        fields = dict(origin=origin, ready_url=ready)
        if not options.proxy:
            fields.update(shape="direct", mode="direct")
        elif options.faults_at == "front":
            route = choose_route(scenarios, options.route)
            shape = ProxyShape(mode="passthrough", only=[route], upstreams=[f"{route}={origin}"])
            fields.update(shape="front", mode="passthrough", route=route, proxy=shape)
        else:
            if options.mode == "replay" and not cassettes:
                raise FaultkitError(
                    "replaying the app's upstreams needs --cassettes DIR (or cassettes: in "
                    "--cases), or --mode passthrough to reach the real services"
                )
            if options.app is None and not _upstream_ports_fixed(options):
                raise FaultkitError(
                    "faults at the upstream side need the app pointed at the proxy's doors: "
                    'give --app "CMD" (faultkit starts it), or --proxy-port N (or port = in '
                    "faultkit.toml) and start the app with the printed export lines; "
                    "--faults-at front loads a faulted target instead"
                )
            shape = ProxyShape(
                mode=options.mode,
                upstreams=list(options.upstreams),
                cassettes=cassettes,
                config=options.config,
                port=options.proxy_port,
                host="127.0.0.1",
            )
            fields.update(shape="upstream", mode=options.mode, proxy=shape)
    if options.headers:
        request["headers"] = {**request.get("headers", {}), **options.headers}
    if options.body is not None:
        request["body"] = options.body
    return _Plan(
        scenarios=scenarios,
        texts=texts,
        locustfile=locustfile,
        rate=options.rate or float(options.users),
        request=request,
        contract=contract,
        contract_source=source,
        **fields,
    )


def run_load(options: LoadOptions, say: Callable[[str], None] = print) -> LoadReport:
    """Run the whole load test; ``say`` receives the live progress lines.

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
        result = run_locust(run, workdir, on_progress=lambda line: say(_progress_line(line)))
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
    plan: _Plan,
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
        report.warnings += route_warnings(plan.scenarios, routes, _aliases(options))
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


def _aliases(options: LoadOptions) -> dict[str, object]:
    from faultkit.doors.proxy.config import find_config, load_routes

    config = options.config if options.config is not None else find_config()
    return dict(load_routes(config))
