"""The two doors a conformance cell goes through, each with real clients.

- :class:`InProcessDoor`: the httpx transports (``Httpx2FaultkitTransport`` under the SDKs,
  which speak httpx2; ``FaultkitTransport`` under the plain httpx client), a new engine per
  cell over one cassette store rewound per cell.
- :class:`ProxyDoor`: one real ``faultkit proxy`` process for the whole matrix (started as the
  proxy tests start it, :mod:`proxy_process`); the scenario is switched through the control
  API (``POST /faultkit/scenario``) and every cell starts from ``POST /faultkit/reset``
  (counters, ledgers, cassettes rewound), as a user's test session would drive it.

Both load the same cassette files in the same order with the proxy's matching settings and
timing scale 0, so what differs between the two runs of a cell is the door.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import anthropic
import httpx
import httpx2
import openai
from conformance_world import (
    SDK_TIMEOUT,
    TIMEOUT,
    UPSTREAMS,
    Clients,
    Run,
    replay,
)
from proxy_process import ProxyFactory

from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, CassetteStore
from faultkit.doors import FaultkitTransport, Httpx2FaultkitTransport
from faultkit.engine import Engine
from faultkit.ledger import LedgerEntry
from faultkit.scenario import Scenario

SDK_ROUTES = ("openai", "anthropic")
SESSION_HEADER = "x-faultkit-session"  # the proxy's documented header: a context per client
# The JSON-RPC ``id`` is ignored when matching: the proxy's default (``--ignore-body-field``).
IGNORED_BODY_FIELDS = ("id",)


def sdk_clients(
    openai_url: str,
    anthropic_url: str,
    http: dict[str, httpx.Client],
    sdk_http: dict[str, httpx2.Client] | None = None,
    *,
    max_retries: int = 0,
) -> Clients:
    sdk_http = sdk_http or {}
    return Clients(
        openai=openai.OpenAI(
            base_url=openai_url,
            api_key="sk-conformance",
            max_retries=max_retries,
            timeout=SDK_TIMEOUT,
            http_client=sdk_http.get("openai"),
        ),
        anthropic=anthropic.Anthropic(
            base_url=anthropic_url,
            api_key="sk-conformance",
            max_retries=max_retries,
            timeout=SDK_TIMEOUT,
            http_client=sdk_http.get("anthropic"),
        ),
        http=http,
    )


class InProcessDoor:
    """The in-process door over one cassette store, rewound for every cell."""

    def __init__(self, cassettes: Sequence[Path]) -> None:
        self.store = CassetteStore(
            cassettes,
            match_on=APP_MATCH_ON,
            playback=APP_PLAYBACK,
            ignore_body_fields=IGNORED_BODY_FIELDS,
        )
        self.scenario: str | None = None

    def run(self, scenario: Scenario, cassette: Path, *, max_retries: int = 0) -> Run:
        """One cell with a new engine; the store is rewound when the scenario changes, as the
        proxy's is (:meth:`ProxyDoor.use`)."""
        if scenario.name != self.scenario:
            self.store.rewind()
            self.scenario = scenario.name
        engine = Engine(scenario, source=self.store, timing_scale=0)
        sdk_http = {
            route: httpx2.Client(
                transport=Httpx2FaultkitTransport(engine, route=route), timeout=SDK_TIMEOUT
            )
            for route in SDK_ROUTES
        }
        http = {
            route: httpx.Client(
                transport=FaultkitTransport(engine, route=route),
                base_url=UPSTREAMS[route],
                timeout=TIMEOUT,
            )
            for route in UPSTREAMS
            if route not in SDK_ROUTES
        }
        clients = sdk_clients(
            UPSTREAMS["openai"], UPSTREAMS["anthropic"], http, sdk_http, max_retries=max_retries
        )
        try:
            outcomes, result = replay(clients, cassette)
        finally:
            for client in [*sdk_http.values(), *http.values()]:
                client.close()
        return Run(outcomes, result, list(engine.ledger.entries))


class ProxyDoor:
    """One real proxy process serving every upstream from the same cassettes."""

    def __init__(self, factory: ProxyFactory, cassettes: Sequence[Path]) -> None:
        args = [arg for path in cassettes for arg in ("--cassettes", str(path))]
        upstreams = [a for n, u in UPSTREAMS.items() for a in ("--upstream", f"{n}={u}")]
        self.process = factory(*args, *upstreams, "--timing-scale", "0")
        self.control = httpx.Client(base_url=self.process.control, timeout=10)
        self.scenario: str | None = None
        self._clients: dict[int, Clients] = {}
        self._cells = 0

    def use(self, scenario_file: Path) -> None:
        """Make ``scenario_file`` the active scenario, as a user switches it at runtime, and
        start it from a reset (counters, ledgers, cassettes rewound)."""
        if self.scenario == scenario_file.name:
            return
        reply = self.control.post(
            "/faultkit/scenario",
            content=scenario_file.read_bytes(),
            headers={"content-type": "application/yaml"},
        )
        reply.raise_for_status()
        self.control.post("/faultkit/reset").raise_for_status()
        self.scenario = scenario_file.name

    def clients(self, max_retries: int) -> Clients:
        """The clients an app holds for its whole life, built once per retry setting
        (building one costs a TLS context, ~30 ms, even for a plain-HTTP door)."""
        if max_retries not in self._clients:
            door = self.process.door
            http = {
                route: httpx.Client(base_url=door(route), timeout=TIMEOUT)
                for route in UPSTREAMS
                if route not in SDK_ROUTES
            }
            self._clients[max_retries] = sdk_clients(
                door("openai"), door("anthropic"), http, max_retries=max_retries
            )
        return self._clients[max_retries]

    def run(self, scenario_file: Path, cassette: Path, *, max_retries: int = 0) -> Run:
        """One cell, in a session of its own (``x-faultkit-session``): fresh counters and
        ledger under the active scenario. A reset per cell would do the same, but costs a full
        garbage collection in the proxy (~0.1 s); the cassettes are rewound once per scenario
        instead, in both doors, so the two stores play the same recordings in step."""
        self.use(scenario_file)
        self._cells += 1
        session = f"cell-{self._cells}"
        clients = replace(self.clients(max_retries), headers={SESSION_HEADER: session})
        outcomes, result = replay(clients, cassette)
        rows = self.control.get("/faultkit/ledger", params={"session": session})
        rows.raise_for_status()
        return Run(outcomes, result, [LedgerEntry.model_validate(row) for row in rows.json()])

    def close(self) -> None:
        for clients in self._clients.values():
            clients.openai.close()
            clients.anthropic.close()
            for client in clients.http.values():
                client.close()
        self.control.close()


def run_cell(
    inprocess: InProcessDoor,
    proxy: ProxyDoor,
    scenario_file: Path,
    cassette: Path,
    *,
    max_retries: int = 0,
) -> tuple[Run, Run]:
    """One cell through both doors at once (they share nothing: an engine of its own each),
    so a cell whose client waits out its read timeout costs that wait once, not twice."""
    scenario = Scenario.load(scenario_file)
    with ThreadPoolExecutor(max_workers=1) as pool:
        local = pool.submit(inprocess.run, scenario, cassette, max_retries=max_retries)
        remote = proxy.run(scenario_file, cassette, max_retries=max_retries)
        return local.result(), remote
