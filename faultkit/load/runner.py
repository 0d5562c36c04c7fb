"""``faultkit load``'s orchestration: the proxy, the runs, the gates. No Locust in this process.

A load test is a sequence of Locust runs (each in subprocesses, :mod:`.locust_process`) against
one fault proxy (its own subprocess, :mod:`.proxy_process`):

``direct``
    the target without the proxy (short; only with a target): the reference for the proxy's
    own overhead;
``baseline``
    through the proxy with no faults: what the SUT does when nothing goes wrong, and, against
    ``direct``, what the proxy itself adds;
one run per ``--scenario``
    the same load through the same proxy with the scenario active.

Without a target, the proxy replays the bundled support cassettes (the example app's provider
traffic) and Locust loads its ``openai`` door: the numbers then describe faultkit's replay
under the scenario, i.e. what a client of the provider sees. That is a demonstration and a
calibration of the machinery, not a measurement of an application; load an application by
giving its URL.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from faultkit import catalogue
from faultkit.errors import FaultkitError
from faultkit.scenario import Scenario

from .gates import Gate, GateOutcome, evaluate
from .locust_process import LocustRun, run_locust
from .proxy_process import ProxyProcess
from .results import Kind, PhaseResult

DEFAULT_ROUTE = "target"
BUNDLED_ROUTE = "openai"
BUNDLED_CASSETTE = ("support", "openai_order_status.yaml")
OVERHEAD_MAX_S = 10.0


class LoadOptions(BaseModel):
    """What ``faultkit load`` was asked for (the CLI and the pytest fixture build this)."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = Field(None, description="URL to load; None: the bundled replay.")
    scenarios: list[str] = Field(default_factory=list)
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


class Overhead(BaseModel):
    """What the proxy adds per request: baseline minus direct service time, in ms."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""


class LoadReport(BaseModel):
    target: str | None
    mode: str
    route: str | None
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
    """The door's upstream name, which scenario rules match with ``match.route``.

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


def route_warnings(scenarios: list[Scenario], route: str) -> list[str]:
    warnings = []
    for scenario in scenarios:
        for i, rule in enumerate(scenario.rules):
            pattern = rule.match.route
            if pattern is not None and not fnmatch.fnmatchcase(route, pattern):
                name = rule.name or f"rule {i + 1}"
                warnings.append(
                    f"scenario {scenario.name}: {name} matches route {pattern!r}, not this door "
                    f"({route!r}): it cannot fire (use --route)"
                )
    return warnings


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


def _overhead(direct: PhaseResult | None, baseline: PhaseResult | None, mode: str) -> Overhead:
    if mode == "replay":
        return Overhead(
            note="the proxy answers from cassettes: all baseline latency is the proxy's own"
        )
    if direct is None or baseline is None:
        return Overhead(note="not measured (no direct run)")

    def diff(p: float) -> float | None:
        a, b = baseline.raw.percentile(p), direct.raw.percentile(p)
        return None if a is None or b is None else round(a - b, 3)

    return Overhead(
        p50_ms=diff(50),
        p95_ms=diff(95),
        p99_ms=diff(99),
        note="baseline (through the proxy, no faults) minus direct, service time",
    )


def _warnings(report_results: list[PhaseResult], rate: float, open_loop: bool) -> list[str]:
    warnings = []
    for r in report_results:
        c = r.counts
        if not r.complete:
            warnings.append(f"{r.phase}: incomplete result (a worker's final report was lost)")
        if c.get("unfinished"):
            warnings.append(
                f"{r.phase}: {c['unfinished']} requests still in flight at the end were dropped"
            )
        if c.get("late"):
            warnings.append(
                f"{r.phase}: {c['late']} arrivals waited for a free in-flight slot (the load "
                "generator's cap, not the target); their wait is counted in corrected latency"
            )
        if c.get("uncorrected"):
            warnings.append(
                f"{r.phase}: {c['uncorrected']} closed-loop requests had no known pace and are "
                "not corrected for coordinated omission (use constant_pacing or "
                "--expected-interval-ms)"
            )
        if r.kind == "scenario" and r.faults_applied == 0:
            warnings.append(f"{r.phase}: the proxy applied no fault in this run")
        if r.kind == "baseline" and r.failures:
            warnings.append(f"baseline: {r.failures} requests failed with no fault injected")
        if open_loop and r.requests and r.rps < 0.8 * rate and r.kind != "scenario":
            warnings.append(
                f"{r.phase}: {r.rps:.1f} req/s completed of {rate:g} scheduled; the target or "
                "the load generator could not keep up"
            )
    return warnings


def run_load(options: LoadOptions, say: Callable[[str], None] = print) -> LoadReport:
    """Run the whole load test; ``say`` receives the live progress lines."""
    scenarios = [catalogue.load(ref) for ref in options.scenarios]
    texts = [catalogue.resolve(ref).read_text(encoding="utf-8") for ref in options.scenarios]
    if scenarios and not options.proxy:
        raise FaultkitError("--scenario needs the proxy; drop --no-proxy")
    locustfile = Path(options.locustfile) if options.locustfile else default_locustfile()
    if not locustfile.is_file():
        raise FaultkitError(f"{locustfile}: locustfile not found")
    rate = options.rate or float(options.users)
    request: dict[str, Any] = {"method": options.method or "GET", "path": "/"}
    cassettes: list[Path] = []
    origin: str | None = None
    if options.target is not None:
        origin, request["path"] = check_target(options.target, options.allow_remote)
        mode = "passthrough" if options.proxy else "direct"
        route = choose_route(scenarios, options.route) if options.proxy else None
    else:
        if not options.proxy:
            raise FaultkitError("--no-proxy needs a TARGET_URL")
        cassette, request = _bundled_request()
        cassettes = [cassette]
        mode, route = "replay", options.route or BUNDLED_ROUTE
        if options.method:
            request["method"] = options.method
    if options.headers:
        request["headers"] = {**request.get("headers", {}), **options.headers}
    if options.body is not None:
        request["body"] = options.body
    warnings = route_warnings(scenarios, route) if route else []

    workdir = Path(tempfile.mkdtemp(prefix="faultkit-load-"))
    results: list[PhaseResult] = []

    def locust(phase: str, kind: Kind, host: str, duration_s: float) -> PhaseResult:
        say(
            f"faultkit load: {phase}: {options.users} users, {rate:g} req/s for {duration_s:g}s "
            f"-> {host}"
        )
        run = LocustRun(
            phase=phase,
            kind=kind,
            host=host,
            locustfile=locustfile.resolve(),
            users=options.users,
            spawn_rate=options.spawn_rate,
            duration_s=duration_s,
            rate_per_user=rate / options.users,
            workers=options.workers,
            expected_interval_ms=options.expected_interval_ms,
            request=request,
            drain_s=options.drain_s,
            progress_s=options.progress_s,
        )
        return run_locust(run, workdir, on_progress=lambda line: say(_progress_line(line)))

    try:
        if mode == "direct":
            assert origin is not None
            results.append(locust("direct", "direct", origin, options.duration_s))
        else:
            assert route is not None
            overhead_s = options.overhead_duration_s
            if overhead_s is None:
                overhead_s = min(options.duration_s, OVERHEAD_MAX_S)
            runs = [options.duration_s] * (1 + len(scenarios))
            if origin is not None and overhead_s > 0:
                runs.append(overhead_s)
            lifetime = sum(_run_deadline(d, options.drain_s) for d in runs) + 60
            with ProxyProcess(
                workdir=workdir,
                route=route,
                upstream=origin,
                cassettes=cassettes,
                lifetime_s=lifetime,
            ) as proxy:
                proxy.wait_ready()
                if origin is not None and overhead_s > 0:
                    results.append(locust("direct", "direct", origin, overhead_s))
                proxy.reset()
                proxy.load_scenario(None)
                baseline = locust("baseline", "baseline", proxy.door, options.duration_s)
                baseline.faults_applied = proxy.faults_applied()
                results.append(baseline)
                for scenario, text in zip(scenarios, texts, strict=True):
                    proxy.reset()
                    proxy.load_scenario(text)
                    result = locust(scenario.name, "scenario", proxy.door, options.duration_s)
                    result.faults_applied = proxy.faults_applied()
                    results.append(result)
    finally:
        if options.keep_dir is not None:
            shutil.copytree(workdir, options.keep_dir, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)

    gated = (
        [r for r in results if r.kind == "scenario"]
        or [r for r in results if r.kind == "baseline"]
        or results
    )
    direct = next((r for r in results if r.kind == "direct"), None)
    baseline_result = next((r for r in results if r.kind == "baseline"), None)
    open_loop = any(r.counts.get("open_loop") for r in results)
    return LoadReport(
        target=options.target,
        mode=mode,
        route=route,
        users=options.users,
        rate=rate,
        duration_s=options.duration_s,
        workers=options.workers,
        locustfile=str(locustfile),
        results=results,
        overhead=_overhead(direct, baseline_result, mode),
        gates=evaluate(options.gates, gated),
        warnings=warnings + _warnings(results, rate, open_loop),
    )
