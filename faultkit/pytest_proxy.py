"""Tests that share one running ``faultkit proxy``, each in a context of its own.

An app under test that runs out of process (or a suite that wants one proxy for all its
pytest-xdist workers) reaches its upstreams through one proxy. The proxy keys its fault state by
the ``x-faultkit-*`` headers a request carries (:mod:`faultkit.doors.proxy.headers`): one engine,
with its own call counters and ledger, per (scenario, session, faults). So rather than switching
the proxy's active scenario between tests, which concurrent workers would trample, the
``faultkit_proxy`` fixture gives every test its own session id (run, xdist worker, test) and the
headers that select its scenario and faults; ``nth``/``calls`` rules count that test's calls
only, and its ledger (``GET /faultkit/ledger?session=ID``) holds its requests only.

The test's scenario is resolved here, as the in-process fixture resolves it (a name, a path or
a ``Scenario``, with ``--faultkit-seed`` or the marker's ``seed`` applied), and registered on
the proxy under a name derived from its content (``POST /faultkit/scenario?activate=0``): the
proxy runs exactly the rules the test judges with, and two workers registering the same
scenario register the same name (the proxy keeps the contexts of a scenario re-sent unchanged).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from faultkit.doors.proxy.headers import FAULT_HEADER, SCENARIO_HEADER, SESSION_HEADER
from faultkit.errors import FaultkitError
from faultkit.ledger import LedgerEntry
from faultkit.oracle.assertions import assert_controlled, assert_verdict
from faultkit.oracle.checks.exercised import scenario_rules
from faultkit.oracle.contract import Contract
from faultkit.oracle.judge import judge
from faultkit.oracle.verdict import Verdict
from faultkit.scenario import Rule, Scenario

if TYPE_CHECKING:
    import pytest

_JSON = {"content-type": "application/json"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def worker_id() -> str:
    """The pytest-xdist worker running this process (``gw0``...), ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def session_id(run: str, worker: str, nodeid: str) -> str:
    """A test's ``x-faultkit-session``: unique per run (a proxy outlives one pytest run, and a
    re-run must not continue the previous run's counters), per worker and per test, readable
    in ``GET /faultkit/ledger``, and plain ASCII whatever the test's parameters hold."""
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:8]
    name = _UNSAFE.sub("-", nodeid.rsplit("::", 1)[-1]).strip("-")[:40]
    return f"{run[:8]}-{worker}-{name}-{digest}"


class ProxyContext:
    """One test's context on a shared proxy: ``headers`` to send (or ``client()``), the
    doors' ``base_url(route)``, ``inject()`` before the first request, the test's own
    ``ledger``, and ``check()`` / ``judge()`` for the verdict."""

    def __init__(
        self,
        control: str,
        session: str,
        scenario: Scenario | None,
        *,
        seed: int | None = None,
        allow_unfired: bool = False,
    ) -> None:
        self.control = control.rstrip("/")
        self.session = session
        self.scenario = scenario
        self.seed = seed
        self.allow_unfired = allow_unfired
        self._http = httpx.Client(timeout=10.0)
        self._injected: list[Rule] = []
        self._sealed = False
        self._doors: dict[str, str] | None = None
        self._registered: str | None = None
        # A seed with no scenario still has to reach the proxy: injected rules draw from it.
        if scenario is None and seed is not None:
            scenario = Scenario(name="inline", seed=seed, rules=[])
        if scenario is not None:
            self._registered = self._register(scenario)

    # -- control API -------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self._http.request(method, self.control + path, **kwargs)
        except httpx.HTTPError as exc:
            raise FaultkitError(
                f"faultkit proxy at {self.control}: {type(exc).__name__}: {exc} (is "
                "`faultkit proxy` running, and is --faultkit-proxy its control URL?)"
            ) from None
        if reply.status_code >= 400:
            raise FaultkitError(f"faultkit proxy {method} {path}: {reply.text.strip()[:300]}")
        return reply.json() if reply.content else None

    def _register(self, scenario: Scenario) -> str:
        """Send ``scenario`` to the proxy, selectable by header only, under a name derived
        from its content: every worker that runs it sends the same name and rules."""
        body = scenario.model_dump(mode="json", exclude_none=True)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]
        name = f"{scenario.name}-{digest}"
        body["name"] = name
        self._call("POST", "/faultkit/scenario?activate=0", json=body, headers=_JSON)
        return name

    def close(self) -> None:
        self._http.close()

    # -- what requests carry -----------------------------------------------------------------
    @property
    def headers(self) -> dict[str, str]:
        """The ``x-faultkit-*`` headers every request of this test must carry. Reading them
        seals the test's rules: :meth:`inject` after this would give later requests another
        context (other counters, another ledger), so it is refused."""
        self._sealed = True
        headers = {SESSION_HEADER: self.session, SCENARIO_HEADER: self._registered or "none"}
        if self._injected:
            rules = [rule.model_dump(mode="json", exclude_none=True) for rule in self._injected]
            headers[FAULT_HEADER] = json.dumps(rules, separators=(",", ":"))
        return headers

    def inject(
        self,
        fault: dict[str, Any],
        *,
        match: dict[str, Any] | None = None,
        when: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> Rule:
        """Add a rule for this test, as ``faultkit.inject`` does in-process (validated the
        same way, labelled ``inline-N`` unless named). Call it before building clients."""
        if self._sealed:
            raise FaultkitError(
                "faultkit_proxy.inject() after the headers were read (a client was built): "
                "the new rule would start another context; inject first, then build clients"
            )
        label = name or f"inline-{len(self._injected) + 1}"
        data: dict[str, Any] = {"name": label, "fault": fault}
        if match is not None:
            data["match"] = match
        if when is not None:
            data["when"] = when
        rule = Rule.model_validate(data)
        self._injected.append(rule)
        return rule

    def base_url(self, route: str) -> str:
        """The door of ``route`` (``openai``, a tool's host...), as the SDK's base URL."""
        if self._doors is None:
            described = self._call("GET", "/faultkit/doors") or {}
            doors = described.get("doors", [])
            self._doors = {d["name"]: d["base_url"] for d in doors if d.get("base_url")}
        try:
            return self._doors[route]
        except KeyError:
            known = ", ".join(sorted(self._doors)) or "none"
            raise FaultkitError(f"the proxy has no door {route!r} (doors: {known})") from None

    def client(self, route: str | None = None, **options: Any) -> httpx.Client:
        """An httpx client that sends this test's headers (to ``route``'s door as its
        ``base_url`` when given). Close it, or use it in a ``with`` block."""
        if route is not None:
            options.setdefault("base_url", self.base_url(route))
        options["headers"] = {**dict(options.get("headers") or {}), **self.headers}
        return httpx.Client(**options)

    def async_client(self, route: str | None = None, **options: Any) -> httpx.AsyncClient:
        """:meth:`client`, async."""
        if route is not None:
            options.setdefault("base_url", self.base_url(route))
        options["headers"] = {**dict(options.get("headers") or {}), **self.headers}
        return httpx.AsyncClient(**options)

    # -- what happened -----------------------------------------------------------------------
    @property
    def ledger(self) -> list[LedgerEntry]:
        """This test's requests on the proxy, in arrival order (a snapshot)."""
        rows = self._call("GET", "/faultkit/ledger", params={"session": self.session}) or []
        return [LedgerEntry.model_validate(row) for row in rows]

    def rules(self) -> dict[str, Rule]:
        """The test's rules by ledger label: its scenario's, then those it injected."""
        rules = scenario_rules(self.scenario) if self.scenario is not None else {}
        rules.update({rule.name or "": rule for rule in self._injected})
        return rules

    def judge(self, result: Any, contract: Contract | None = None) -> Verdict:
        """The oracle's verdict on ``result`` (a :class:`~faultkit.oracle.Result`) and this
        test's ledger, as ``faultkit.check`` judges an in-process run."""
        verdict = judge(
            self.ledger, result, contract or Contract(), self.scenario, rules=self.rules()
        )
        return verdict.model_copy(update={"repro": self._repro()})

    def check(
        self,
        fn: Callable[..., Any],
        *args: Any,
        contract: Contract | None = None,
        expect: str | None = None,
        **kwargs: Any,
    ) -> Verdict:
        """Run ``fn(*args, **kwargs)`` (waited for as ``faultkit run`` waits for a cell; an
        ``async def`` in an event loop of its own), judge it, and fail the test unless the
        verdict is controlled (or is ``expect``)."""
        from faultkit.runner.cells import limit_s
        from faultkit.runner.target import call_bounded

        __tracebackhide__ = True
        contract = contract or Contract()
        origin = time.monotonic()

        def clock() -> float:
            return (time.monotonic() - origin) * 1000

        wait = limit_s(contract, self.scenario or Scenario(name="inline", rules=[]))[1]
        is_async = inspect.iscoroutinefunction(fn)  # run in its own loop, as faultkit run does
        result = call_bounded(fn, list(args), kwargs, is_async, wait, clock, clock())
        verdict = self.judge(result, contract)
        if expect is not None:
            return assert_verdict(verdict, expect)
        if verdict.kind == "not_exercised" and self.allow_unfired:
            return verdict
        return assert_controlled(verdict)

    def _repro(self) -> str:
        current = os.environ.get("PYTEST_CURRENT_TEST", "")
        nodeid = current.rsplit(" (", 1)[0]
        if not nodeid:
            return ""
        words = ["pytest", nodeid, "--faultkit-proxy", self.control]
        if self.seed is not None:
            words += ["--faultkit-seed", str(self.seed)]
        return shlex.join(words)


def run_uid(config: pytest.Config) -> str:
    """One id for the whole run, the same in every xdist worker (xdist's ``testrunuid``)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("testrunuid"):
        return str(workerinput["testrunuid"])
    return _LOCAL_RUN


_LOCAL_RUN = hashlib.sha256(f"{os.getpid()}-{time.time_ns()}".encode()).hexdigest()[:16]


# -- one proxy for the run, started by the plugin ------------------------------------------------
WORKER_INPUT_KEY = "faultkit_proxy"  # how the controller tells xdist workers the control URL
RUN_LIFETIME_S = 24 * 3600.0  # the proxy's own alarm, should pytest be killed without cleanup


def start_run_proxy(cassettes: list[str], rootdir: Path) -> Any:
    """``faultkit proxy`` replaying ``cassettes`` for this run (``--faultkit-proxy-cassettes``):
    started once, by the xdist controller (or the single pytest process), in the project's
    directory, on ephemeral loopback ports; the caller passes its control URL on and closes it
    at the end. The very process ``faultkit load`` runs (:mod:`faultkit.load.proxy_process`)."""
    import tempfile

    from faultkit.load.proxy_process import ProxyProcess, ProxyShape
    from faultkit.load.results import LoadRunError

    paths = [Path(c) if Path(c).is_absolute() else rootdir / c for c in cassettes]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FaultkitError(f"--faultkit-proxy-cassettes: not found: {', '.join(missing)}")
    workdir = Path(tempfile.mkdtemp(prefix="faultkit-proxy-"))
    proxy = ProxyProcess(
        ProxyShape(cassettes=paths), workdir=workdir, cwd=rootdir, lifetime_s=RUN_LIFETIME_S
    )
    try:
        proxy.wait_ready()
    except LoadRunError as exc:
        raise FaultkitError(f"--faultkit-proxy-cassettes: {exc}") from None
    return proxy
