"""The proxy's fault state: scenarios, runtime rules, and one engine per request context.

The engine is pure and counts calls per rule; the proxy needs several of them because requests
may choose their own scenario, faults and session by header (:mod:`.headers`). Each distinct
choice gets its own engine, so concurrent tests never advance each other's counters, and its
own ledger, so an SDK's retries are attempts of one logical call. Rules added at runtime (HTTP
faults added as toxics through the control API) apply to every context, as a Toxiproxy toxic
applies to every connection of its proxy.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from faultkit import catalogue
from faultkit.config import RouteAliases
from faultkit.engine import Engine, Source
from faultkit.errors import FaultkitError
from faultkit.ledger import ByteBudget, Ledger
from faultkit.plan import DEFAULT_TIMING_SCALE
from faultkit.scenario import NAME_PATTERN, Rule, Scenario

from .headers import NO_SCENARIO, ContextKey, HeaderError, header_rules

# A scenario name (never a path; a name ending in .yaml would be looked up as a file).
_SCENARIO_NAME = re.compile(NAME_PATTERN.removesuffix("$") + r"(?<!\.yaml)(?<!\.yml)$")
LEDGER_SIZE = 100_000  # entries kept per context; the oldest go first
# Bytes all contexts' ledgers share (estimated: ~1 KB a plain entry, ~2 KB a faulted one, plus
# its URL up to 2 KiB): enough for the last ~10,000 exchanges under load, and a proxy serving
# for hours keeps a steady RSS.
LEDGER_BYTES = 16 * 1024 * 1024
# Contexts (distinct x-faultkit-session/-scenario/-fault choices) kept; past it the oldest
# created goes, with its counters and ledger.
MAX_CONTEXTS = 1024
MAX_UNKNOWN_NAMES = 256  # x-faultkit-scenario names found nowhere, remembered until reset


class FaultState:
    """Engines by context key, all sharing one cassette source and one clock."""

    def __init__(
        self,
        scenario: Scenario | None,
        *,
        source: Source | None,
        timing_scale: float = DEFAULT_TIMING_SCALE,
        seed: int | None = None,
        scenario_lookup: Callable[[str], Scenario] = catalogue.load,
        ledger_size: int | None = LEDGER_SIZE,
        ledger_bytes: int | None = LEDGER_BYTES,
        routes: RouteAliases | None = None,
    ) -> None:
        self.source = source
        self.ledger_bytes = ledger_bytes
        self._budget = ByteBudget(ledger_bytes)
        # None: the working directory's [routes], as every engine reads them by default.
        self.routes = routes
        self.ledger_size = ledger_size
        self.timing_scale = timing_scale
        self.seed = seed
        self._lookup = scenario_lookup
        self._lock = threading.Lock()
        self._active: Scenario | None = scenario
        self._known: dict[str, Scenario] = {}
        self._unknown: dict[str, str] = {}  # names not found, with the message
        if scenario is not None:
            self._known[scenario.name] = scenario
        self._runtime: dict[str, Rule] = {}
        self._engines: dict[ContextKey, Engine] = {}

    # -- scenarios ---------------------------------------------------------------------------
    @property
    def active(self) -> Scenario | None:
        return self._active

    def add_scenario(self, scenario: Scenario) -> None:
        """Make ``scenario`` selectable by name (``x-faultkit-scenario``). Contexts that use
        the name start afresh, unless it is re-sent unchanged: every pytest-xdist worker
        registers the scenario its tests run, and must not reset another worker's counters."""
        with self._lock:
            unchanged = self._known.get(scenario.name) == scenario
            self._known[scenario.name] = scenario
            self._unknown.pop(scenario.name, None)
            if unchanged:
                return
            for key in [k for k in self._engines if k.scenario == scenario.name]:
                self._forget(key)

    def load_scenario(self, scenario: Scenario | None) -> None:
        """Make ``scenario`` the active one: requests without headers use it from now on,
        with fresh counters and an empty ledger for the default context."""
        with self._lock:
            self._active = scenario
            if scenario is not None:
                self._known[scenario.name] = scenario
                self._unknown.pop(scenario.name, None)
            self._forget(ContextKey())

    def _scenario(self, name: str | None) -> Scenario | None:
        if name is None:
            return self._active
        if name == NO_SCENARIO:
            return None
        found = self._known.get(name)
        if found is not None:
            return found
        problem = self._unknown.get(name)
        if problem is None and not _SCENARIO_NAME.fullmatch(name):
            # A name, never a path: a header must not make the proxy read a file it names
            # (its error would tell whether the file exists, and what keys it has).
            problem = (
                f"x-faultkit-scenario: {name[:80]!r} is not a scenario name (letters, digits, "
                ". _ -, as loaded, in ./scenarios or the catalogue); paths are not accepted here"
            )
        if problem is None:
            try:
                found = self._lookup(name)
            except FaultkitError as exc:
                # Remembered: a miss searches (and parses) the whole catalogue, ~80 ms, and a
                # client repeating a wrong name would pay it on every request.
                problem = self._unknown[name] = f"x-faultkit-scenario: {exc}"
                if len(self._unknown) > MAX_UNKNOWN_NAMES:
                    del self._unknown[next(iter(self._unknown))]
        if problem is not None:
            raise HeaderError(problem)
        self._known[name] = found
        return found

    # -- runtime rules (toxics) ------------------------------------------------------------
    def set_runtime_rule(self, name: str, rule: Rule) -> None:
        with self._lock:
            self._runtime[name] = rule.model_copy(update={"name": rule.name or name})
            self._rebuild()

    def remove_runtime_rule(self, name: str) -> bool:
        with self._lock:
            found = self._runtime.pop(name, None) is not None
            if found:
                self._rebuild()
            return found

    @property
    def runtime_rules(self) -> dict[str, Rule]:
        return dict(self._runtime)

    def _rebuild(self) -> None:
        """Rebuild every engine with the new runtime rules, keeping its ledger and counters."""
        for key, old in list(self._engines.items()):
            new = self._build(key)
            new.continue_from(old)
            self._engines[key] = new

    # -- engines -----------------------------------------------------------------------------
    def _build(self, key: ContextKey) -> Engine:
        base = self._scenario(key.scenario)
        rules = [*(base.rules if base else []), *self._runtime.values(), *header_rules(key.faults)]
        # Names must be unique within a scenario; a runtime rule may repeat a scenario's name.
        seen: set[str] = set()
        unique: list[Rule] = []
        for i, rule in enumerate(rules):
            name = rule.name or f"rule-{i + 1}"
            while name in seen:
                name += "'"
            seen.add(name)
            unique.append(rule if rule.name == name else rule.model_copy(update={"name": name}))
        scenario = Scenario(
            name=base.name if base else "inline",
            seed=base.seed if base else 0,
            rules=unique,
            **({"expect": base.expect} if base else {}),
        )
        engine = Engine(
            scenario,
            source=self.source,
            seed=self.seed,
            timing_scale=self.timing_scale,
            routes=self.routes,
        )
        # Bounded: a proxy under load would otherwise keep every exchange it ever answered.
        engine.ledger = Ledger(max_entries=self.ledger_size, budget=self._budget)
        return engine

    def _forget(self, key: ContextKey) -> None:
        """Drop a context, giving its ledger's bytes back to the shared budget."""
        engine = self._engines.pop(key, None)
        if engine is not None:
            engine.ledger.reset()

    def engine_for(self, key: ContextKey) -> Engine:
        """The engine of ``key``, created on first use. Raises :class:`HeaderError` when the
        key names an unknown scenario or an invalid fault."""
        engine = self._engines.get(key)
        if engine is not None:
            return engine
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                engine = self._engines[key] = self._build(key)
                if len(self._engines) > MAX_CONTEXTS:
                    self._forget(next(k for k in self._engines if k != ContextKey()))
            return engine

    def contexts(self) -> list[tuple[ContextKey, Engine]]:
        with self._lock:
            return list(self._engines.items())

    # -- ledger ------------------------------------------------------------------------------
    def ledger_json(
        self,
        *,
        session: str | None = None,
        scenario: str | None = None,
        route: str | None = None,
    ) -> list[dict[str, Any]]:
        """Entries of every context, in arrival order, each with its ``context``."""
        rows: list[dict[str, Any]] = []
        for key, engine in self.contexts():
            if session is not None and key.session != session:
                continue
            if scenario is not None and (key.scenario or self._active_name()) != scenario:
                continue
            for entry in engine.ledger.to_json():
                if route is not None and entry["route"] != route:
                    continue
                entry["context"] = key.describe()
                rows.append(entry)
        rows.sort(key=lambda e: (e["arrival_ms"], e["id"]))
        return rows

    def ledger_dropped(self) -> int:
        """Entries dropped by every context's bounded ledger (``ledger_size``), oldest first."""
        return sum(engine.ledger.dropped for _, engine in self.contexts())

    def _active_name(self) -> str | None:
        return self._active.name if self._active else None

    def reset(self) -> None:
        """Forget every context (counters and ledgers) and every runtime rule."""
        with self._lock:
            for engine in self._engines.values():
                engine.ledger.reset()
            self._engines.clear()
            self._runtime.clear()
            self._unknown.clear()
            self._budget = ByteBudget(self.ledger_bytes)
