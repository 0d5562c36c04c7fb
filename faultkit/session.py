"""A faultkit session: one engine, its cassettes, and the doors and clients wired to it.

This is the object behind the pytest ``faultkit`` fixture, usable on its own from a script:

    with FaultkitSession(scenario, cassettes=["tests/cassettes/chat.yaml"]) as fk:
        client = openai.OpenAI(api_key="test", http_client=fk.client())
        fk.inject({"type": "http_error", "status": 429}, when={"nth": 1})
        ...
        fk.ledger  # what happened, request by request

Which client to hand an SDK: openai 3.x accepts ``client()`` (httpx) and ``httpx2_client()``;
anthropic 2.x accepts only httpx2 clients (and ``httpx2.Timeout``), so give it
``httpx2_client()`` / ``async_httpx2_client()``.

It holds no fault or matching logic: it builds an :class:`~faultkit.engine.Engine` over a
cassette store and hands out transports; rules added with :meth:`inject` are validated exactly
like rules in a scenario file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from faultkit.cassettes.store import TEST_MATCH_ON, TEST_PLAYBACK
from faultkit.doors.flow import MODES, RECORDING_MODES
from faultkit.doors.inprocess import AsyncFaultkitTransport, FaultkitTransport
from faultkit.engine import Engine
from faultkit.errors import FaultkitError, ScenarioError
from faultkit.faults import Fault
from faultkit.ledger import LedgerEntry
from faultkit.plan import DEFAULT_TIMING_SCALE
from faultkit.scenario import Match, Rule, Scenario, When, validation_problems


class FaultkitSession:
    """An engine over a cassette store, plus the httpx/httpx2 doors and clients that use it.

    ``cassettes``: recordings to replay (relative paths resolve against ``base_dir``); in a
    recording mode the first one is where new recordings are saved. ``mode`` is the door mode
    (replay, record, new_episodes, passthrough). ``store`` replaces the cassette store
    (anything with ``match(request)``; ``record``/``save`` for recording modes). ``route`` is
    the default route of every door handed out (else derived from each request's host).
    ``rerecord`` starts the recording cassette empty, so saving replaces it (record mode "all").
    ``ignore_body_fields``: JSON body fields left out when matching recordings (a request id,
    a timestamp), as in the cases file.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        cassettes: Iterable[str | Path] = (),
        mode: str = "replay",
        seed: int | None = None,
        timing_scale: float = DEFAULT_TIMING_SCALE,
        match_on: Sequence[str] = TEST_MATCH_ON,
        playback: str = TEST_PLAYBACK,
        ignore_body_fields: Sequence[str] = (),
        base_dir: str | Path | None = None,
        store: Any = None,
        route: str | None = None,
        rerecord: bool = False,
    ) -> None:
        if mode not in MODES:
            raise FaultkitError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
        self.mode = mode
        self.route = route
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.match_on = tuple(match_on)
        self.playback = playback
        self.ignore_body_fields = tuple(ignore_body_fields)
        self.rerecord = rerecord
        self.cassettes: list[Path] = [self._path(c) for c in cassettes]
        self._custom_store = store is not None
        if store is None and (self.cassettes or mode in RECORDING_MODES):
            store = self._build_store()
        self.engine = Engine(scenario, source=store, seed=seed, timing_scale=timing_scale)
        self._closeables: list[Any] = []
        # Where the pytest plugin expected this test's cassette (for "record it with" hints).
        self.default_cassette: Path | None = None
        # Set by the pytest plugin from `allow_unfired=True`: rules that fire on nothing are
        # then no failure (``check`` returns the not_exercised verdict instead of failing).
        self.allow_unfired = False
        self._async_closeables: list[Any] = []

    # -- cassettes ----------------------------------------------------------------------------
    def _path(self, path: str | Path) -> Path:
        path = Path(path)
        return path if path.is_absolute() else self.base_dir / path

    def _build_store(self) -> Any:
        from faultkit.cassettes import CassetteStore

        if self.mode in RECORDING_MODES:
            if not self.cassettes:
                raise FaultkitError(f"mode {self.mode!r} needs a cassette path to record into")
            return CassetteStore(
                self.cassettes[1:],
                match_on=self.match_on,
                playback=self.playback,
                ignore_body_fields=self.ignore_body_fields,
                record_to=self.cassettes[0],
                rerecord=self.rerecord,
            )
        return CassetteStore(
            self.cassettes,
            match_on=self.match_on,
            playback=self.playback,
            ignore_body_fields=self.ignore_body_fields,
        )

    @property
    def store(self) -> Any:
        return self.engine.source

    def use_cassette(self, path: str | Path) -> None:
        """Also replay from the cassette at ``path``. Call it before the first request: the
        store is rebuilt, so what was already played back can play again."""
        if self._custom_store:
            raise FaultkitError("use_cassette() is not available with a custom store")
        resolved = self._path(path)
        if not resolved.exists() and self.mode not in RECORDING_MODES:
            raise FaultkitError(f"{resolved}: cassette file not found")
        self.cassettes.append(resolved)
        self.engine.source = self._build_store()

    def save(self) -> None:
        """Write new recordings (atomic, scrubbed: the store's job). A no-op when replaying."""
        store = self.engine.source
        if self.mode not in RECORDING_MODES or store is None or not hasattr(store, "save"):
            return
        if getattr(store, "target", True) is not None:
            store.save()

    # -- faults -------------------------------------------------------------------------------
    def inject(
        self,
        fault: Fault | Mapping[str, Any],
        *,
        match: Match | Mapping[str, Any] | None = None,
        when: When | Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> str:
        """Add a rule for the rest of the session; returns its label (shown in the ledger).

        ``fault`` is a fault object or its scenario-file mapping (``{"type": "latency",
        "latency_ms": 200}``). A bad rule raises ScenarioError naming the field, as a bad rule
        in a scenario file does.
        """
        data: dict[str, Any] = {"fault": fault if isinstance(fault, BaseModel) else dict(fault)}
        if match is not None:
            data["match"] = match
        if when is not None:
            data["when"] = when
        if name is not None:
            data["name"] = name
        try:
            rule = Rule.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(validation_problems(exc, lambda _loc: "inject")) from None
        labels = {
            self.engine.scenario.rule_label(i) for i in range(len(self.engine.scenario.rules))
        }
        labels.update(r.name for r in self.engine.rules if r.name)
        if name is not None and name in labels:
            raise ScenarioError([f"inject: name: a rule named {name!r} already exists"])
        return self.engine.add_rule(rule)

    # -- doors and clients --------------------------------------------------------------------
    def transport(self, route: str | None = None) -> FaultkitTransport:
        """A sync httpx transport wired to this session (route derived from the host if None)."""
        door = FaultkitTransport(self.engine, route=route or self.route, mode=self.mode)
        self._closeables.append(door)
        return door

    def async_transport(self, route: str | None = None) -> AsyncFaultkitTransport:
        door = AsyncFaultkitTransport(self.engine, route=route or self.route, mode=self.mode)
        self._async_closeables.append(door)
        return door

    def httpx2_transport(self, route: str | None = None) -> Any:
        from faultkit.doors.inprocess_httpx2 import Httpx2FaultkitTransport

        door = Httpx2FaultkitTransport(self.engine, route=route or self.route, mode=self.mode)
        self._closeables.append(door)
        return door

    def async_httpx2_transport(self, route: str | None = None) -> Any:
        from faultkit.doors.inprocess_httpx2 import AsyncHttpx2FaultkitTransport

        door = AsyncHttpx2FaultkitTransport(self.engine, route=route or self.route, mode=self.mode)
        self._async_closeables.append(door)
        return door

    def client(self, *, route: str | None = None, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` whose every request goes through the door; kwargs go to httpx."""
        client = httpx.Client(transport=self.transport(route), **kwargs)
        self._closeables.append(client)
        return client

    def async_client(self, *, route: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` wired to the door (close it yourself, or let it be
        collected: the door holds no connection in replay)."""
        return httpx.AsyncClient(transport=self.async_transport(route), **kwargs)

    def httpx2_client(self, *, route: str | None = None, **kwargs: Any) -> Any:
        import httpx2

        client = httpx2.Client(transport=self.httpx2_transport(route), **kwargs)
        self._closeables.append(client)
        return client

    def async_httpx2_client(self, *, route: str | None = None, **kwargs: Any) -> Any:
        import httpx2

        return httpx2.AsyncClient(transport=self.async_httpx2_transport(route), **kwargs)

    # -- verdicts -----------------------------------------------------------------------------
    def check(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``target`` through this session, judge it, fail the test unless the verdict is
        controlled (or ``expect=``); returns the Verdict. See :mod:`faultkit.runner.checking`."""
        from faultkit.runner.checking import check

        __tracebackhide__ = True
        return check(self, target, *args, **kwargs)

    async def acheck(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """:meth:`check` for async tests."""
        from faultkit.runner.checking import acheck

        __tracebackhide__ = True
        return await acheck(self, target, *args, **kwargs)

    def assert_controlled(
        self, target: Any, *args: Any, plan: Scenario | None = None, **kwargs: Any
    ) -> Any:
        """:meth:`check` under a generated fault ``plan`` (``faultkit.strategies.fault_plans``):
        the engine is reset to the plan first, so one fixture serves every hypothesis example,
        and a failure prints the plan in words, as scenario YAML and with the repro command.
        See :mod:`faultkit.explore`."""
        from faultkit.explore import assert_plan_controlled

        __tracebackhide__ = True
        return assert_plan_controlled(self, target, *args, plan=plan, **kwargs)

    # -- results ------------------------------------------------------------------------------
    @property
    def ledger(self) -> list[LedgerEntry]:
        """Every request so far, in arrival order (a snapshot)."""
        return self.engine.ledger.entries

    def unmatched(self) -> list[LedgerEntry]:
        """Requests that found no recording: each one is a test failure in replay."""
        return [e for e in self.engine.ledger.entries if e.ending == "unmatched"]

    def close(self) -> None:
        """Close sync clients and doors. Async doors hold nothing unless they forwarded
        upstream; close those with ``aclose``."""
        for item in reversed(self._closeables):
            item.close()
        self._closeables.clear()

    async def aclose(self) -> None:
        for item in reversed(self._async_closeables):
            await item.aclose()
        self._async_closeables.clear()
        self.close()

    def __enter__(self) -> FaultkitSession:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.save()
        finally:
            self.close()
