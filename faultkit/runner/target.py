"""Targets: the system under test, as ``faultkit run`` calls it.

Two kinds:

* **A Python callable**, ``package.module:function`` (sync or ``async def``). It runs in this
  process, and faultkit hands it HTTP clients wired to the in-process door. The seam is one
  of two parameters, found by name in the function's signature:

  - ``http_client_factory``: a callable taking httpx client keyword arguments (``timeout``,
    ``base_url``, ``headers``...) and returning a client whose transport is faultkit's: an
    ``httpx.Client`` for a sync target, an ``httpx.AsyncClient`` for an ``async def`` one.
    The app's default is the real client class, so in production nothing changes;
  - ``http_client``: one such client, built with no arguments.

  The parameter's default (or, failing that, its annotation) says which HTTP library the app
  uses: a default of ``httpx2.Client`` or ``httpx2.AsyncClient`` (or a class built on them,
  like the SDKs' ``DefaultHttpxClient``), or an annotation naming ``httpx2``, gets httpx2
  clients; anything else httpx ones. The anthropic SDK 2.x takes only httpx2 clients, so an app
  on it works as it is written, with no bridge. A client class default also says sync or async.

  Pass the client (or one made by the factory) to the SDKs' ``http_client=`` argument and use
  it for tool calls; every request then goes through the engine. Requests to
  ``api.openai.com`` and ``api.anthropic.com`` take the routes ``openai`` and ``anthropic``;
  any other host is its own route (``orders.internal``).

* **An HTTP endpoint**, ``http://host:port/path``. The case input is POSTed as JSON; the
  answer's status and JSON body are the result. The service must send its upstream traffic
  through a running ``faultkit proxy``, whose control URL is given with ``--proxy``: for each
  (scenario, case) the runner resets the proxy, loads the scenario, calls the endpoint and reads
  the proxy's ledger. Such cells run one at a time (the proxy has one active scenario).

Every call is bounded: the runner stops waiting at the deadline (the stricter of contract and
scenario, plus a grace period) and records the result as timed out, which the oracle judges a
``hang``. A sync target that overruns is left to finish in a daemon thread (Python cannot stop
a thread); an async one is cancelled.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx

from faultkit.doors.flow import clock_origin
from faultkit.doors.inprocess import AsyncFaultkitTransport, FaultkitTransport
from faultkit.engine import Engine
from faultkit.ledger import LedgerEntry
from faultkit.oracle.contract import import_object
from faultkit.oracle.result import RaisedError, Result, acapture, capture
from faultkit.runner.cases import Case
from faultkit.runner.errors import RunError
from faultkit.scenario import Scenario

FACTORY_PARAM = "http_client_factory"
CLIENT_PARAM = "http_client"
INJECTED = (FACTORY_PARAM, CLIENT_PARAM)

# Builds a fresh engine for one (scenario, seed): see faultkit.runner.cells.engine_factory.
EngineFactory = Callable[[Scenario, int], Engine]


@dataclass
class Execution:
    """What one call of the target produced: its result and the ledger entries it caused.
    ``started_ms`` is when the call began on the ledger's clock."""

    result: Result
    entries: list[LedgerEntry]
    started_ms: float = 0.0


@dataclass
class CellSpec:
    """Everything one (scenario, case) run needs."""

    scenario: Scenario
    seed: int
    case: Case
    limit_s: float
    engine_factory: EngineFactory = field(repr=False)


class Target(Protocol):
    name: str
    ref: str
    kind: str
    parallel: bool

    def check_cases(self, cases: list[Case]) -> None: ...

    def execute(self, spec: CellSpec) -> Execution: ...


# -- Python callables ---------------------------------------------------------------------------


class CallableTarget:
    """A function run in-process, with faultkit's HTTP clients injected (see module doc)."""

    kind = "python"
    parallel = True

    def __init__(self, ref: str, fn: Callable[..., Any], name: str | None = None) -> None:
        self.ref = ref
        self.fn = fn
        self.name = name or ref
        self.is_async = inspect.iscoroutinefunction(fn)
        try:
            self.signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            self.signature = None

    @property
    def injects(self) -> list[str]:
        if self.signature is None:
            return []
        return [p for p in INJECTED if p in self.signature.parameters]

    def check_cases(self, cases: list[Case]) -> None:
        """Every case's input must fit the signature; say which does not, before running."""
        if self.signature is None:
            return
        params = self.signature.parameters
        var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for case in cases:
            args, kwargs = _arguments(case)
            clash = sorted(set(kwargs) & set(INJECTED))
            if clash:
                raise RunError(f"case {case.name!r}: input may not set {', '.join(clash)}")
            unknown = [k for k in kwargs if k not in params]
            if unknown and not var_kw:
                raise RunError(
                    f"case {case.name!r}: {self.ref} has no parameter "
                    f"{', '.join(map(repr, unknown))}"
                )
            try:
                self.signature.bind(*args, **kwargs, **dict.fromkeys(self.injects))
            except TypeError as exc:
                raise RunError(f"case {case.name!r}: cannot call {self.ref}: {exc}") from None

    def _wiring(self, engine: Engine) -> dict[str, Any]:
        """The injected parameters: a client factory and/or a client, on the in-process door,
        of the library each parameter asks for (see :func:`seam_of`)."""
        assert self.signature is not None  # injects is empty without one
        wiring: dict[str, Any] = {}
        for name in self.injects:
            factory = door_client_factory(
                engine, seam_of(self.signature.parameters[name], self.is_async)
            )
            wiring[name] = factory if name == FACTORY_PARAM else factory()
        return wiring

    def execute(self, spec: CellSpec) -> Execution:
        engine = spec.engine_factory(spec.scenario, spec.seed)
        origin = clock_origin(engine)

        def clock() -> float:
            return (time.monotonic() - origin) * 1000

        args, kwargs = _arguments(spec.case)
        kwargs.update(self._wiring(engine))
        started = clock()
        result = call_bounded(self.fn, args, kwargs, self.is_async, spec.limit_s, clock, started)
        return Execution(result=result, entries=engine.ledger.entries, started_ms=started)


@dataclass(frozen=True)
class Seam:
    """The clients a seam parameter takes: which HTTP library's, sync or async."""

    library: Literal["httpx", "httpx2"]
    is_async: bool


def _client_class(default: Any) -> tuple[str, bool] | None:
    """(library, is async) of a client class default (``httpx2.Client``, an SDK's subclass,
    a ``functools.partial`` of one), or None when the default is no client class."""
    default = getattr(default, "func", default)  # functools.partial(httpx2.Client, ...)
    if not inspect.isclass(default):
        return None
    for cls in inspect.getmro(default):
        library = cls.__module__.partition(".")[0]
        if library in ("httpx", "httpx2") and cls.__name__ in ("Client", "AsyncClient"):
            return library, cls.__name__ == "AsyncClient"
    return None


def seam_of(parameter: inspect.Parameter, is_async: bool) -> Seam:
    """What clients ``parameter`` (``http_client_factory`` or ``http_client``) takes, read
    from its default, else its annotation, else httpx for a target that ``is_async`` or not.

    SDKs reject a client of the other library by name (anthropic 2.x takes only httpx2), so
    the app's own declared choice is followed rather than one library imposed."""
    found = _client_class(parameter.default)
    if found is not None:
        library, client_is_async = found
        return Seam("httpx2" if library == "httpx2" else "httpx", client_is_async)
    annotation = parameter.annotation
    if annotation is parameter.empty:
        return Seam("httpx", is_async)
    text = annotation if isinstance(annotation, str) else repr(annotation)
    library: Literal["httpx", "httpx2"] = "httpx2" if re.search(r"\bhttpx2\b", text) else "httpx"
    # One client class named: follow it, so a sync target that runs an async framework
    # (``asyncio.run(agent.run(...))``) gets the async client it declares.
    names_async = "AsyncClient" in text
    names_sync = re.search(r"\bClient\b", text) is not None
    if names_async != names_sync:
        return Seam(library, names_async)
    return Seam(library, is_async)


def door_client_factory(engine: Engine, seam: Seam) -> Callable[..., Any]:
    """A factory of ``seam``'s clients on ``engine``'s in-process door: it takes the client
    options (``timeout``, ``base_url``...) and drops a ``transport``, faultkit's being the
    point. httpx2 is imported only when a target asks for it (it is optional)."""
    if seam.library == "httpx2":
        import httpx2

        from faultkit.doors.inprocess_httpx2 import (
            AsyncHttpx2FaultkitTransport,
            Httpx2FaultkitTransport,
        )

        client_cls: Any = httpx2.AsyncClient if seam.is_async else httpx2.Client
        transport_cls: Any = (
            AsyncHttpx2FaultkitTransport if seam.is_async else Httpx2FaultkitTransport
        )
    else:
        client_cls = httpx.AsyncClient if seam.is_async else httpx.Client
        transport_cls = AsyncFaultkitTransport if seam.is_async else FaultkitTransport

    def factory(**kwargs: Any) -> Any:
        kwargs.pop("transport", None)
        return client_cls(transport=transport_cls(engine), **kwargs)

    return factory


def _arguments(case: Case) -> tuple[list[Any], dict[str, Any]]:
    if case.input is None:
        return [], {}
    if isinstance(case.input, dict):
        return [], dict(case.input)
    return [case.input], {}


def call_bounded(
    fn: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    is_async: bool,
    limit_s: float,
    clock: Callable[[], float],
    started: float,
) -> Result:
    """Call ``fn(*args, **kwargs)`` and return its :class:`Result`, waiting at most
    ``limit_s`` seconds: past that the result is ``timed_out`` (the oracle's ``hang``).

    The call runs in a daemon thread, so a target that blocks (a sync SDK waiting on a stalled
    stream) cannot hold the harness up; Python cannot stop a thread, so an overrunning sync
    target is left to finish there. An ``async def`` target (``is_async``) runs in its own event
    loop in that thread and is cancelled at the limit. ``clock()`` is the ledger's clock in ms
    and ``started`` the call's start on it, so durations line up with ledger times. Every
    caller (``faultkit run``, ``faultkit.check``, ``faultkit explore``) calls targets through
    this, so a target behaves the same under all of them."""
    box: dict[str, Result] = {}

    def work() -> None:
        try:
            if is_async:
                box["result"] = asyncio.run(_limited(fn, args, kwargs, limit_s, clock, started))
            else:
                box["result"] = capture(fn, *args, clock=clock, **kwargs)
        except BaseException as exc:  # the harness must not die with the target
            box["result"] = Result(
                error=RaisedError.from_exception(exc), duration_ms=clock() - started
            )

    thread = threading.Thread(target=work, name="faultkit-target", daemon=True)
    thread.start()
    thread.join(limit_s + 1.0 if is_async else limit_s)
    if "result" in box:
        return box["result"]
    return Result(duration_ms=clock() - started, timed_out=True)


async def _limited(
    fn: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    limit_s: float,
    clock: Callable[[], float],
    started: float,
) -> Result:
    try:
        return await asyncio.wait_for(acapture(fn, *args, clock=clock, **kwargs), limit_s)
    except TimeoutError:
        return Result(duration_ms=clock() - started, timed_out=True)


def load_callable(ref: str, name: str | None = None) -> CallableTarget:
    """Import ``package.module:function`` (found from the current directory, see
    :func:`~faultkit.oracle.contract.import_object`); a mistake is a one-line RunError."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise RunError(f"target {ref!r} is not 'package.module:function' or an http(s):// URL")
    try:
        obj = import_object(ref)
    except ValueError as exc:
        raise RunError(f"target {ref!r}: {exc}") from None
    if not callable(obj):
        raise RunError(f"target {ref!r} is not callable")
    return CallableTarget(ref, obj, name)


# -- HTTP endpoints ------------------------------------------------------------------------------


class HttpTarget:
    """A service reached over HTTP, its upstream traffic going through a faultkit proxy."""

    kind = "http"
    parallel = False

    def __init__(self, url: str, proxy: str, name: str | None = None) -> None:
        self.ref = url
        self.url = url
        self.proxy = proxy.rstrip("/")
        self.name = name or url

    def check_cases(self, cases: list[Case]) -> None:
        for case in cases:
            try:
                json.dumps(case.input)
            except (TypeError, ValueError):
                raise RunError(f"case {case.name!r}: input is not JSON") from None

    def _control(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = client.request(method, f"{self.proxy}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise RunError(f"proxy {self.proxy}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise RunError(
                f"proxy {self.proxy}{path}: HTTP {response.status_code}: {response.text[:200]}"
            )
        return response.json() if response.content else None

    def execute(self, spec: CellSpec) -> Execution:
        scenario = spec.scenario.model_copy(update={"seed": spec.seed})
        with httpx.Client(timeout=10.0) as control:
            self._control(control, "POST", "/faultkit/reset")
            self._control(
                control,
                "POST",
                "/faultkit/scenario",
                content=scenario.to_yaml().encode(),
                headers={"content-type": "application/yaml"},
            )
            start = time.monotonic()
            result = self._call(spec, start)
            rows = self._control(control, "GET", "/faultkit/ledger") or []
        entries = [LedgerEntry.model_validate(row) for row in rows]
        started = min((e.arrival_ms for e in entries), default=0.0)
        return Execution(result=result, entries=entries, started_ms=started)

    def _call(self, spec: CellSpec, start: float) -> Result:
        def elapsed() -> float:
            return (time.monotonic() - start) * 1000

        try:
            with httpx.Client(timeout=spec.limit_s) as client:
                response = client.post(self.url, json=spec.case.input)
        except httpx.TimeoutException:
            return Result(duration_ms=elapsed(), timed_out=True)
        except httpx.HTTPError as exc:
            return Result(error=RaisedError.from_exception(exc), duration_ms=elapsed())
        return Result.http_answer(response.status_code, response.text, elapsed())


def load_target(ref: str, *, proxy: str | None = None, name: str | None = None) -> Target:
    """A target from its reference: a URL (needs ``proxy``) or ``module:function``."""
    if ref.startswith(("http://", "https://")):
        if not proxy:
            raise RunError(
                f"target {ref} is an HTTP endpoint: give the control URL of the faultkit proxy "
                "its upstream traffic goes through, e.g. --proxy http://127.0.0.1:8474"
            )
        return HttpTarget(ref, proxy, name)
    return load_callable(ref, name)
