"""What ``faultkit load`` was asked for, checked and worked out before anything starts.

:class:`LoadOptions` is what the CLI and the pytest fixture fill in; :func:`plan_load` turns it
into a :class:`Plan`: the shape (``upstream``: Locust loads the app and the proxy serves its
upstreams; ``front``: the proxy stands in front of the target; ``direct``: no proxy), the
proxy's doors, the request Locust sends (the ``--cases`` inputs in turn), and the contract the
answers are judged by. Every mistake is one :class:`~faultkit.errors.FaultkitError` line (exit
2), raised before a process is started.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from faultkit import catalogue
from faultkit.errors import FaultkitError
from faultkit.loopback import is_loopback
from faultkit.oracle.contract import Contract
from faultkit.scenario import Scenario

from .accounting import DEFAULT_MAX_BASELINE_ERRORS
from .app_process import READY_TIMEOUT_S
from .gates import Gate
from .proxy_process import ProxyShape

if TYPE_CHECKING:
    from faultkit.runner.cases import CasesFile

DEFAULT_ROUTE = "target"
BUNDLED_ROUTE = "openai"
BUNDLED_CASSETTE = ("support", "openai_order_status.yaml")
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


def check_target(url: str, allow_remote: bool) -> tuple[str, str]:
    """``(origin, path?query)`` of a target URL; loopback only unless ``allow_remote``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FaultkitError(f"target {url!r}: expected an http:// or https:// URL")
    if not is_loopback(parts.hostname) and not allow_remote:
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


class Plan(BaseModel):
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


DEFAULT_CONTRACT = "default (5xx or no answer: crash; 4xx: explicit error)"


def load_contract(cases: Path | None) -> tuple[Contract, str, CasesFile | None]:
    """The contract answers are judged by: the ``--cases`` file's, read as ``faultkit run``
    reads it, else the default one; with where it came from, for the report."""
    if cases is None:
        return Contract(), DEFAULT_CONTRACT, None
    from faultkit.runner.cases import load_cases

    cases_file = load_cases(cases)
    return cases_file.contract, str(cases), cases_file


def _cases(options: LoadOptions, request: dict[str, Any]) -> tuple[Contract, str, list[Path]]:
    """The contract, and the cases' inputs as the request bodies (into ``request``)."""
    contract, source, cases_file = load_contract(options.cases)
    if cases_file is None:
        return contract, source, []
    bodies = [json.dumps(case.input) for case in cases_file.cases if case.input is not None]
    if bodies and options.body is None:
        request["bodies"] = bodies
        request["method"] = options.method or "POST"
        request.setdefault("headers", {})["content-type"] = "application/json"
    return contract, source, cases_file.cassette_paths()


def _upstreams(options: LoadOptions) -> dict[str, Any]:
    """The app's upstreams as the proxy will read them (config file, then ``--upstream``):
    read here first, so a mistake in them is a usage error before anything starts."""
    from faultkit.doors.proxy.config import find_config, resolve_upstreams

    config = options.config if options.config is not None else find_config()
    return resolve_upstreams(config, options.upstreams)


def plan_load(options: LoadOptions) -> Plan:
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
            fixed = all(u.port for u in _upstreams(options).values())
            if options.app is None and options.proxy_port is None and not fixed:
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
    return Plan(
        scenarios=scenarios,
        texts=texts,
        locustfile=locustfile,
        rate=options.rate or float(options.users),
        request=request,
        contract=contract,
        contract_source=source,
        **fields,
    )


def aliases(options: LoadOptions) -> dict[str, object]:
    from faultkit.doors.proxy.config import find_config, load_routes

    config = options.config if options.config is not None else find_config()
    return dict(load_routes(config))
