"""``faultkit.check``: the verdict of ``faultkit run``, inside one pytest test.

    @pytest.mark.faultkit(cassette="cassettes/support.yaml", playback="repeat")
    @pytest.mark.faultkit_scenarios("scenarios/")
    def test_assistant_fails_in_a_controlled_way(faultkit):
        faultkit.check(assistant.answer, "Where is my order 1234?", contract=CONTRACT)

It calls the target the way the runner does (the same seam: an ``http_client_factory`` or
``http_client`` parameter gets clients wired to the session's door, unless the caller passes
its own), stops waiting at the deadline, judges the session's ledger and the result against the
contract and the session's scenario, and fails the test with the verdict and its evidence unless
the verdict is controlled and allowed. ``expect="crash"`` asserts that exact verdict instead
(for a test that pins down a known-bad behaviour). The verdict is returned either way.

The rules in force are the scenario's and those added with ``faultkit.inject``: when none of
them applied a fault the verdict is ``not_exercised``, which fails the test too, unless the
test's marker says ``allow_unfired=True``.

Use :func:`acheck` (``await``) from an async test; :func:`check` runs an ``async def`` target
in its own event loop and cannot be called while one is running.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shlex
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from faultkit.doors.flow import clock_origin
from faultkit.oracle.assertions import assert_controlled, assert_verdict
from faultkit.oracle.checks.exercised import engine_rules
from faultkit.oracle.contract import Contract
from faultkit.oracle.judge import judge
from faultkit.oracle.result import Result, acapture
from faultkit.oracle.verdict import Verdict
from faultkit.runner.cells import limit_s, placeholder_keys
from faultkit.runner.target import FACTORY_PARAM, INJECTED, Seam, call_bounded, seam_of

if TYPE_CHECKING:
    # Annotations only: the session's check() and acheck() call into this module.
    from faultkit.session import FaultkitSession


def wire_clients(
    session: FaultkitSession, fn: Callable[..., Any], kwargs: dict[str, Any], is_async: bool
) -> dict[str, Any]:
    """``kwargs`` plus HTTP clients wired to ``session``'s door, for the seam parameters ``fn``
    has (``http_client_factory``, ``http_client``) and the caller did not fill.

    Each parameter gets the clients it declares, read by :func:`seam_of` exactly as under
    ``faultkit run``: httpx or httpx2, sync or async (a sync target whose seam defaults to
    ``httpx.AsyncClient`` gets async clients); failing a declaration, httpx clients that are
    async when ``is_async``. The factory takes client options (``timeout``, ``base_url``...);
    a ``transport`` option is dropped, since faultkit's is the point. A callable whose
    signature cannot be read gets ``kwargs`` unchanged. ``kwargs`` itself is not modified."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    wired = dict(kwargs)
    for name in INJECTED:
        if name in params and name not in wired:
            factory = session_client_factory(session, seam_of(params[name], is_async))
            wired[name] = factory if name == FACTORY_PARAM else factory()
    return wired


def session_client_factory(session: FaultkitSession, seam: Seam) -> Callable[..., Any]:
    """A factory of ``seam``'s clients on ``session``'s door (its route and cassettes)."""
    make = {
        ("httpx", False): session.client,
        ("httpx", True): session.async_client,
        ("httpx2", False): session.httpx2_client,
        ("httpx2", True): session.async_httpx2_client,
    }[(seam.library, seam.is_async)]

    def factory(**options: Any) -> Any:
        options.pop("transport", None)
        return make(**options)

    return factory


def replay_keys(session: FaultkitSession) -> AbstractContextManager[None]:
    """The SDKs' placeholder API keys while a target runs on a replaying session, as under
    ``faultkit run``: replay never sends a key anywhere, but an SDK refuses to start without
    one. Recording and pass-through sessions reach real services: the user's own keys."""
    return placeholder_keys() if session.mode == "replay" else nullcontext()


def wait_limit_s(session: FaultkitSession, contract: Contract) -> float:
    """How long to wait for a target run on ``session``, in seconds: the stricter deadline of
    ``contract`` and the session's scenario plus a grace period (see
    :func:`faultkit.runner.cells.limit_s`), the same wait ``faultkit run`` allows a cell."""
    return limit_s(contract, session.engine.scenario)[1]


def _repro(session: FaultkitSession) -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    nodeid = current.rsplit(" (", 1)[0]
    if not nodeid:
        return ""
    return shlex.join(["pytest", nodeid, "--faultkit-seed", str(session.engine.seed)])


def _verdict(
    session: FaultkitSession, result: Result, contract: Contract, expect: str | None
) -> Verdict:
    engine = session.engine
    verdict = judge(engine.ledger, result, contract, engine.scenario, rules=engine_rules(engine))
    verdict = verdict.model_copy(update={"repro": _repro(session)})
    __tracebackhide__ = True
    if expect is None:
        if verdict.kind == "not_exercised" and session.allow_unfired:
            return verdict
        return assert_controlled(verdict)
    return assert_verdict(verdict, expect)


def check(
    session: FaultkitSession,
    fn: Callable[..., Any],
    *args: Any,
    contract: Contract | None = None,
    expect: str | None = None,
    **kwargs: Any,
) -> Verdict:
    """Run ``fn(*args, **kwargs)`` through ``session``, judge it, and assert (see module doc)."""
    __tracebackhide__ = True
    contract = contract or Contract()
    is_async = inspect.iscoroutinefunction(fn)
    if is_async:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise TypeError(
                "check() cannot run an async target inside a running event loop; "
                "use `await faultkit.acheck(...)`"
            )
    origin = clock_origin(session.engine)

    def clock() -> float:
        return (time.monotonic() - origin) * 1000

    wired = wire_clients(session, fn, kwargs, is_async)
    limit = wait_limit_s(session, contract)
    with replay_keys(session):
        result = call_bounded(fn, list(args), wired, is_async, limit, clock, clock())
    return _verdict(session, result, contract, expect)


async def acheck(
    session: FaultkitSession,
    fn: Callable[..., Any],
    *args: Any,
    contract: Contract | None = None,
    expect: str | None = None,
    **kwargs: Any,
) -> Verdict:
    """:func:`check` for async tests: awaits ``fn`` (cancelled at the deadline)."""
    __tracebackhide__ = True
    contract = contract or Contract()
    origin = clock_origin(session.engine)

    def clock() -> float:
        return (time.monotonic() - origin) * 1000

    wired = wire_clients(session, fn, kwargs, inspect.iscoroutinefunction(fn))
    started = clock()
    try:
        with replay_keys(session):
            result = await asyncio.wait_for(
                acapture(fn, *args, clock=clock, **wired), wait_limit_s(session, contract)
            )
    except TimeoutError:
        result = Result(duration_ms=clock() - started, timed_out=True)
    return _verdict(session, result, contract, expect)
