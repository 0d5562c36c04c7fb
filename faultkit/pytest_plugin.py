"""The pytest plugin: ``--faultkit-*`` options, the ``faultkit`` marker and fixture, a summary.

Thin, like pytest-recording: it turns options and markers into a
:class:`~faultkit.session.FaultkitSession` (engine + cassette store + doors) and reports what the
ledger says. Fault, matching and verdict logic live elsewhere.

- ``@pytest.mark.faultkit(scenario=..., cassette=..., route=..., seed=..., match_on=...,
  ignore_body_fields=..., playback=..., allow_unfired=...)``; the closest marker wins per
  argument, and a marker's ``scenario`` (even ``None``) overrides ``--faultkit-scenario``.
  ``match_on``, ``ignore_body_fields`` and ``playback`` mean what they mean in a cases file.
- Cassettes default to pytest-recording's layout, ``<test dir>/cassettes/<module>/<test>.yaml``,
  so existing vcrpy cassettes replay unchanged.
- Record modes: ``none`` (default: replay only, never the network), ``once`` (record when the
  cassette file does not exist yet, else replay), ``new_episodes`` (replay what matches, record
  the rest), ``all`` (always record). Recordings are saved at teardown.
- A request with no recording fails the test, even when the code under test swallowed the
  ``UnmatchedRequest``: silently answering nothing is exactly what a replay must not do.
- ``faultkit_load``: a short, bounded ``faultkit load`` step (:mod:`faultkit.load.fixture`);
  Locust runs in subprocesses, so this process never imports it.
- ``faultkit_proxy``: the test's own context on a running ``faultkit proxy``
  (``--faultkit-proxy URL``), so pytest-xdist workers sharing one proxy never share call
  counters or a ledger (:mod:`faultkit.pytest_proxy`). Under xdist, each test's record for the
  summary travels to the controller on its teardown report.
- Nothing silent: a test whose own rules (its marker's or ``faultkit_scenarios``' scenario,
  ``faultkit.inject``) applied no fault fails, naming the rules and the routes seen, unless its
  marker says ``allow_unfired=True``. A test with no rules (plain replay) is not affected, nor
  one that only runs under ``--faultkit-scenario``, which applies to every test whether it
  calls the scenario's routes or not. The terminal summary lists what was injected in every
  faultkit test, "nothing" included.

No option or fixture name collides with Locust's plugin (``--host``, ``session``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faultkit import catalogue
from faultkit.cassettes.store import TEST_MATCH_ON, TEST_PLAYBACK
from faultkit.errors import FaultkitError
from faultkit.load.fixture import faultkit_load  # noqa: F401 - the load step fixture
from faultkit.oracle.checks.exercised import engine_rules, scenario_rules, unfired
from faultkit.plan import DEFAULT_TIMING_SCALE
from faultkit.pytest_failures import caused_by_unmatched, unmatched_message, where_raised
from faultkit.pytest_network import NetworkGuard, parse_allowed, project_upstreams
from faultkit.pytest_proxy import (
    WORKER_INPUT_KEY,
    ProxyContext,
    run_uid,
    session_id,
    start_run_proxy,
    worker_id,
)
from faultkit.pytest_vcr import (
    VcrCounts,
    cassette_name,
    cassettes_for,
    vcr_cassette,
    vcr_counts,
    vcrpy_requests,
)
from faultkit.report.table import text_table
from faultkit.runner import pytest_scenarios
from faultkit.runner.pytest_scenarios import (  # noqa: F401 - the marker's hook and fixture
    faultkit_scenario,
    pytest_generate_tests,
)
from faultkit.scenario import Rule, Scenario
from faultkit.session import FaultkitSession
from faultkit.suggest import did_you_mean

RECORD_MODES = ("none", "once", "new_episodes", "all")
MARKER_ARGS = (
    "scenario",
    "cassette",
    "route",
    "seed",
    "match_on",
    "ignore_body_fields",
    "playback",
    "allow_unfired",
)
SCENARIO_SUFFIXES = (".yaml", ".yml")


@dataclass
class _TestRecord:
    """What the terminal summary needs about one test: the faults applied per (rule, type),
    and the labels of the rules in force (none: a plain replay)."""

    nodeid: str
    seed: int
    faults: Counter[tuple[str, str]] = field(default_factory=Counter)
    rules: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As carried on the test's teardown report: a pytest-xdist worker sends its reports
        (their JSON-safe attributes included) to the controller, which prints the summary."""
        faults = [[rule, kind, n] for (rule, kind), n in sorted(self.faults.items())]
        return {"nodeid": self.nodeid, "seed": self.seed, "faults": faults, "rules": self.rules}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _TestRecord:
        faults = Counter({(rule, kind): n for rule, kind, n in data["faults"]})
        return cls(data["nodeid"], data["seed"], faults, list(data["rules"]))


_SESSION_KEY = pytest.StashKey[FaultkitSession]()
# The scenario the session was built with: when a test replaces it (faultkit.assert_controlled
# with generated plans), each plan is judged on its own and the test's rules are not checked.
_SCENARIO_KEY = pytest.StashKey[Scenario | None]()
# Whether that scenario is the test's own (marker, faultkit_scenarios) or --faultkit-scenario's.
_OWN_SCENARIO_KEY = pytest.StashKey[bool]()
_RECORDS_KEY = pytest.StashKey[list[_TestRecord]]()
_RECORD_KEY = pytest.StashKey[_TestRecord]()  # one test's, until its teardown report
_GUARD_KEY = pytest.StashKey[NetworkGuard]()
# pytest-recording's vcrpy cassette for the test and its counts when faultkit's began.
_VCR_KEY = pytest.StashKey[tuple[Any, VcrCounts]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("faultkit", "faultkit fault injection")
    group.addoption(
        "--faultkit-seed",
        type=int,
        default=None,
        metavar="INT",
        help="seed for every fault decision (default: the scenario's); reproduces a run",
    )
    group.addoption(
        "--faultkit-scenario",
        default=None,
        metavar="NAME_OR_PATH",
        help="scenario for every test using the faultkit fixture, unless its marker says otherwise",
    )
    group.addoption(
        "--faultkit-record-mode",
        choices=RECORD_MODES,
        default="none",
        help="none (default): replay only; once: record missing cassettes; "
        "new_episodes: record unmatched requests; all: always record",
    )
    group.addoption(
        "--faultkit-cassette-dir",
        default=None,
        metavar="DIR",
        help="cassette root (default: <test dir>/cassettes); files are <module>/<test>.yaml",
    )
    group.addoption(
        "--faultkit-scenario-dir",
        default=None,
        metavar="DIR",
        help="where scenario names are looked up first (default: <rootdir>/scenarios)",
    )
    group.addoption(
        "--faultkit-block-network",
        action="store_true",
        default=False,
        help="fail a faultkit test whose client connects anywhere but faultkit (names it)",
    )
    group.addoption(
        "--faultkit-allow-hosts",
        default=None,
        metavar="HOST[:PORT],...",
        help="connections --faultkit-block-network lets through (a live app, a proxy)",
    )
    group.addoption(
        "--faultkit-proxy",
        default=None,
        metavar="URL",
        help="control URL of a running faultkit proxy for the faultkit_proxy fixture "
        "(e.g. http://127.0.0.1:8474); each test gets its own context on it",
    )
    group.addoption(
        "--faultkit-proxy-cassettes",
        action="append",
        default=None,
        metavar="DIR",
        help="start one faultkit proxy replaying DIR for the faultkit_proxy fixture, shared by "
        "every xdist worker, stopped at the end (repeatable)",
    )
    group.addoption(
        "--faultkit-timing-scale",
        type=float,
        default=DEFAULT_TIMING_SCALE,
        metavar="FACTOR",
        help="scale recorded stream timing (0 = as fast as possible, default 1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faultkit(scenario=None, cassette=None, route=None, seed=None, match_on=None, "
        "ignore_body_fields=None, playback=None, allow_unfired=False): scenario (name or "
        "path), cassettes and matching for the faultkit fixture",
    )
    if not config.pluginmanager.has_plugin("recording"):
        # pytest-recording's markers, so its tests run under faultkit without it.
        config.addinivalue_line(
            "markers", "vcr(*extra_cassettes, **vcr_config): replay these cassettes too"
        )
        config.addinivalue_line("markers", "default_cassette(name): the test's cassette name")
    pytest_scenarios.register(config)
    config.stash[_RECORDS_KEY] = []
    config.pluginmanager.register(_Collector(config.stash[_RECORDS_KEY]), "faultkit-records")
    try:
        parse_allowed(config.getoption("faultkit_allow_hosts", None))
    except FaultkitError as exc:
        raise pytest.UsageError(str(exc)) from None
    _shared_proxy(config)


_PROXY_KEY = pytest.StashKey[Any]()  # the run's proxy, when this process started it


def _shared_proxy(config: pytest.Config) -> None:
    """``--faultkit-proxy-cassettes``: one proxy for the run. An xdist worker takes the
    controller's (sent in its workerinput); the controller, or pytest alone, starts it."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        if workerinput.get(WORKER_INPUT_KEY):
            config.option.faultkit_proxy = workerinput[WORKER_INPUT_KEY]
        return
    cassettes = config.getoption("faultkit_proxy_cassettes", None)
    if not cassettes:
        return
    if config.getoption("faultkit_proxy"):
        raise pytest.UsageError("give --faultkit-proxy or --faultkit-proxy-cassettes, not both")
    try:
        proxy = start_run_proxy(cassettes, config.rootpath)
    except FaultkitError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_PROXY_KEY] = proxy
    config.option.faultkit_proxy = proxy.control


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the controller: tell each worker the run's proxy."""
    control = node.config.getoption("faultkit_proxy", None)
    if control:
        node.workerinput[WORKER_INPUT_KEY] = control


def pytest_unconfigure(config: pytest.Config) -> None:
    proxy = config.stash.get(_PROXY_KEY, None)
    if proxy is not None:
        proxy.close()


# -- resolving options ------------------------------------------------------------------------


def _marker_args(node: pytest.Item) -> dict[str, Any]:
    """Marker arguments, the closest marker winning per argument."""
    merged: dict[str, Any] = {}
    for marker in node.iter_markers("faultkit"):
        if len(marker.args) > 1:
            raise FaultkitError("@pytest.mark.faultkit takes at most one positional argument")
        kwargs = dict(marker.kwargs)
        if marker.args:
            kwargs.setdefault("scenario", marker.args[0])
        unknown = sorted(set(kwargs) - set(MARKER_ARGS))
        if unknown:
            raise FaultkitError(
                f"@pytest.mark.faultkit: unknown argument {', '.join(unknown)}; "
                f"{did_you_mean(unknown[0], MARKER_ARGS)}known: {', '.join(MARKER_ARGS)}"
            )
        for key, value in kwargs.items():
            merged.setdefault(key, value)
    return merged


def scenario_dirs(config: pytest.Config) -> list[Path]:
    """Where scenario names are looked up, in order: the project's, then faultkit's own."""
    from faultkit.catalogue import bundled_dir

    option = config.getoption("faultkit_scenario_dir")
    first = Path(option) if option else config.rootpath / "scenarios"
    if not first.is_absolute():
        first = config.rootpath / first
    dirs = [first]
    bundled = bundled_dir("scenarios")
    if bundled is not None:
        dirs.append(bundled)
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and all(d.resolve() != u.resolve() for u in unique):
            unique.append(d)
    return unique


def resolve_scenario(ref: Any, config: pytest.Config, test_dir: Path) -> Scenario | None:
    """A Scenario from a marker/option value: a Scenario, a file path, or a catalogue name."""
    if ref is None or isinstance(ref, Scenario):
        return ref
    path = catalogue.resolve(
        str(ref), dirs=scenario_dirs(config), bases=(test_dir, config.rootpath)
    )
    return Scenario.load(path)


def cassette_root(item: pytest.Item, config: pytest.Config) -> Path:
    """faultkit's cassette root: ``--faultkit-cassette-dir`` or ``<test dir>/cassettes``."""
    option = config.getoption("faultkit_cassette_dir")
    root = Path(option) if option else item.path.parent / "cassettes"
    return root if root.is_absolute() else config.rootpath / root


def default_cassette(item: pytest.Item, config: pytest.Config) -> Path:
    """pytest-recording's path: ``<dir>/<module>/<Class.>test_name[param].yaml`` (a module's
    ``vcr_cassette_dir`` fixture is honoured by the fixture, see :mod:`faultkit.pytest_vcr`)."""
    return cassette_root(item, config) / item.path.stem / f"{cassette_name(item)}.yaml"


# -- the fixture --------------------------------------------------------------------------------


def _build_session(
    request: pytest.FixtureRequest, parametrized: Scenario | None = None
) -> FaultkitSession:
    config = request.config
    item = request.node
    args = _marker_args(item)
    test_dir = item.path.parent
    scenario_ref = args["scenario"] if "scenario" in args else config.getoption("faultkit_scenario")
    scenario = parametrized or resolve_scenario(scenario_ref, config, test_dir)
    seed = args.get("seed")
    if seed is None:
        seed = config.getoption("faultkit_seed")

    paths = cassettes_for(request, cassette_root(item, config))
    named = args.get("cassette")
    if named is None:
        cassettes = [paths.default, *paths.extras]
        required = list(paths.extras)
    else:
        raw = [named] if isinstance(named, str | Path) else list(named)
        cassettes = [p if Path(p).is_absolute() else test_dir / p for p in map(Path, raw)]
        required = cassettes

    record_mode = config.getoption("faultkit_record_mode")
    target_exists = cassettes[0].exists()
    mode = {
        "none": "replay",
        "once": "replay" if target_exists else "record",
        "new_episodes": "new_episodes",
        "all": "record",
    }[record_mode]
    if mode == "replay":
        missing = [str(p) for p in required if not p.exists()]
        if missing:
            raise FaultkitError(
                "cassette not found: " + ", ".join(missing) + " (record it with "
                "--faultkit-record-mode=once)"
            )
        cassettes = [p for p in cassettes if p.exists()]
    elif not target_exists:
        # Recording into a new file: replay only from cassettes that exist.
        cassettes = [cassettes[0], *(p for p in cassettes[1:] if p.exists())]

    match_on = _names(args.get("match_on")) or paths.match_on or TEST_MATCH_ON
    session = FaultkitSession(
        scenario,
        cassettes=cassettes,
        mode=mode,
        seed=seed,
        timing_scale=config.getoption("faultkit_timing_scale"),
        match_on=match_on,
        playback=args.get("playback") or TEST_PLAYBACK,
        ignore_body_fields=_names(args.get("ignore_body_fields")),
        base_dir=test_dir,
        route=args.get("route"),
        rerecord=record_mode == "all",
    )
    session.default_cassette = paths.default
    session.allow_unfired = bool(args.get("allow_unfired", False))
    return session


def _names(value: Any) -> tuple[str, ...]:
    """A marker's list-of-names argument: one name, or a list or tuple of them."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@pytest.fixture
def faultkit(
    request: pytest.FixtureRequest,
    faultkit_scenario: Scenario | None,  # noqa: F811 - set by @pytest.mark.faultkit_scenarios
) -> Iterator[FaultkitSession]:
    """A :class:`FaultkitSession` for this test: ``.client()``, ``.async_client()``,
    ``.transport()``, ``.inject(...)``, ``.ledger``, ``.engine``, ``.use_cassette(path)``."""
    try:
        guard = _network_guard(request.config)
        session = _build_session(request, faultkit_scenario)
    except FaultkitError as exc:
        pytest.fail(f"faultkit: {exc}", pytrace=False)
    request.node.stash[_SESSION_KEY] = session
    request.node.stash[_SCENARIO_KEY] = session.engine.scenario
    own = faultkit_scenario is not None or "scenario" in _marker_args(request.node)
    request.node.stash[_OWN_SCENARIO_KEY] = own
    cassette = vcr_cassette(request)
    if cassette is not None:
        request.node.stash[_VCR_KEY] = (cassette, vcr_counts(cassette))
    if guard is not None:
        request.node.stash[_GUARD_KEY] = guard
    try:
        if guard is None:
            yield session
        else:
            with guard.installed():
                yield session
    finally:
        try:
            session.save()
        finally:
            session.close()
            _remember(request, session)


@pytest.fixture
def faultkit_proxy(request: pytest.FixtureRequest) -> Iterator[ProxyContext]:
    """This test's context on the running proxy named by ``--faultkit-proxy``: its own session
    (call counters, ledger) even when xdist workers share the proxy. ``.headers`` /
    ``.client(route)`` / ``.base_url(route)``, ``.inject(...)``, ``.ledger``, ``.check(...)``.
    The ``faultkit`` marker's ``scenario``, ``seed`` and ``allow_unfired`` apply."""
    config = request.config
    control = config.getoption("faultkit_proxy")
    if not control:
        pytest.fail(
            "faultkit: faultkit_proxy needs a running proxy: start `faultkit proxy --cassettes "
            "DIR` and pass its control URL, --faultkit-proxy http://127.0.0.1:8474",
            pytrace=False,
        )
    args = _marker_args(request.node)
    ref = args["scenario"] if "scenario" in args else config.getoption("faultkit_scenario")
    seed = args.get("seed")
    if seed is None:
        seed = config.getoption("faultkit_seed")
    session = session_id(run_uid(config), worker_id(), request.node.nodeid)
    try:
        scenario = resolve_scenario(ref, config, request.node.path.parent)
        if scenario is not None and seed is not None:
            scenario = scenario.model_copy(update={"seed": seed})
        context = ProxyContext(
            control,
            session,
            scenario,
            seed=seed,
            allow_unfired=bool(args.get("allow_unfired", False)),
        )
    except FaultkitError as exc:
        pytest.fail(f"faultkit: {exc}", pytrace=False)
    try:
        yield context
    finally:
        context.close()


def _network_guard(config: pytest.Config) -> NetworkGuard | None:
    """The ``--faultkit-block-network`` guard for a test (None: the option is off)."""
    if not config.getoption("faultkit_block_network"):
        return None
    allowed = parse_allowed(config.getoption("faultkit_allow_hosts"))
    return NetworkGuard(allowed, project_upstreams(config.rootpath))


def _remember(request: pytest.FixtureRequest, session: FaultkitSession) -> None:
    record = _TestRecord(
        nodeid=request.node.nodeid,
        seed=session.engine.seed,
        rules=list(rules_in_force(request.node, session)),
    )
    for _entry, applied in session.engine.ledger.faults_applied():
        record.faults[(applied.rule, applied.type)] += 1
    request.node.stash[_RECORD_KEY] = record


def rules_in_force(item: pytest.Item, session: FaultkitSession) -> dict[str, Rule]:
    """The test's rules by ledger label: its scenario's and those it injected. Empty when the
    test replaced the scenario (generated plans are judged one by one, not here)."""
    if session.engine.scenario is not item.stash.get(_SCENARIO_KEY, None):
        return {}
    return engine_rules(session.engine)


# -- failing on rules that fired on nothing ------------------------------------------------------


def unfired_message(item: pytest.Item, session: FaultkitSession) -> str | None:
    """Why this test must fail because none of its rules applied a fault (None: some did, or
    it had no rules, or its marker allows it)."""
    if session.allow_unfired:
        return None
    rules = rules_in_force(item, session)
    if not item.stash.get(_OWN_SCENARIO_KEY, True):
        for label in scenario_rules(session.engine.scenario):
            rules.pop(label, None)
    finding = unfired(session.ledger, rules)
    if finding is None:
        return None
    return (
        f"faultkit: no fault was injected in this test, so it tested nothing: {finding.summary}"
        "\n(fix the rule's match, wire the client to faultkit, or mark the test "
        "@pytest.mark.faultkit(..., allow_unfired=True))"
    )


# -- failing on unmatched requests ---------------------------------------------------------------


def bypassed_by_vcrpy(item: pytest.Item) -> str | None:
    """Requests vcrpy handled in a faultkit test: their client was not faultkit's."""
    stashed = item.stash.get(_VCR_KEY, None)
    if stashed is None:
        return None
    lines = vcrpy_requests(*stashed)
    if not lines:
        return None
    return "\n".join(
        [
            f"faultkit: {len(lines)} request(s) bypassed faultkit and went to vcrpy "
            "(pytest-recording), without faults:",
            *(f"  {line}" for line in lines),
            "give the client faultkit's transport (http_client=faultkit.client())",
        ]
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.when == "teardown" and _RECORD_KEY in item.stash:
        report.faultkit_record = item.stash[_RECORD_KEY].to_json()
    if call.when != "call":
        return report
    session = item.stash.get(_SESSION_KEY, None)
    if session is None:
        return report
    unmatched = unmatched_message(session)
    excinfo = call.excinfo
    if unmatched and report.failed and excinfo and caused_by_unmatched(excinfo.value):
        # The recording is what is missing: one screen saying so, not the SDK's traceback.
        report.longrepr = unmatched + "\n\n" + where_raised(item, excinfo)
        unmatched = None
    guard = item.stash.get(_GUARD_KEY, None)
    vcr_message = bypassed_by_vcrpy(item)
    if vcr_message is not None and guard is None:
        item.warn(pytest.PytestWarning(vcr_message))
        vcr_message = None
    for title, message in (
        ("faultkit: unmatched requests", unmatched),
        ("faultkit: no fault fired", unfired_message(item, session)),
        ("faultkit: network", guard.report() if guard is not None else None),
        ("faultkit: answered by vcrpy", vcr_message),
    ):
        if message is None:
            continue
        if report.passed and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = message
        else:
            report.sections.append((title, message))
    return report


# -- terminal summary -----------------------------------------------------------------------------


class _Collector:
    """Collects each test's record from its teardown report: in this process, or, under
    pytest-xdist, in the controller, which receives every worker's reports. A plugin object
    per run (``pytest_runtest_logreport`` is given no config, and pytester nests runs)."""

    def __init__(self, records: list[_TestRecord]) -> None:
        self.records = records

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "faultkit_record", None)
        if data is not None:
            self.records.append(_TestRecord.from_json(data))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """What was injected in every faultkit test: one row per (rule, fault) applied, and a
    "nothing" row for a test where nothing was (saying whether it had rules at all)."""
    records = config.stash.get(_RECORDS_KEY, [])
    if not records:
        return
    rows = []
    for r in records:
        rows.extend(
            (r.nodeid, rule, kind, str(count), str(r.seed), "")
            for (rule, kind), count in sorted(r.faults.items())
        )
        if not r.faults:
            note = f"rules never fired: {', '.join(r.rules)}" if r.rules else "no rules"
            rows.append((r.nodeid, "-", "nothing", "0", str(r.seed), note))
    header = ("test", "rule", "fault", "count", "seed", "note")
    tr = terminalreporter
    tr.write_sep("=", "faultkit: faults injected")
    for line in text_table(rows, header=header, right={3}):
        tr.write_line(line)
    by_type: Counter[str] = Counter()
    for r in records:
        for (_rule, kind), count in r.faults.items():
            by_type[kind] += count
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(by_type.items()))
    injected = sum(1 for r in records if r.faults)
    total = f"total: {sum(by_type.values())} fault(s) injected in {injected} test(s)"
    tr.write_line(total + (f" ({kinds})" if kinds else ""))
    unfired_tests = [r for r in records if r.rules and not r.faults]
    if unfired_tests:
        tr.write_line(f"nothing fired in {len(unfired_tests)} test(s) that had rules")
    option_seed = config.getoption("faultkit_seed")
    failed = {getattr(rep, "nodeid", None) for rep in tr.stats.get("failed", [])}
    if option_seed is not None:
        tr.write_line(f"seed: --faultkit-seed {option_seed}")
    for r in records:
        if r.nodeid in failed:
            tr.write_line(f"reproduce: pytest '{r.nodeid}' --faultkit-seed {r.seed}")
