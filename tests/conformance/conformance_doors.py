"""The two doors a conformance cell goes through, each with real clients.

- :class:`InProcessDoor`: the httpx transports (``Httpx2FaultkitTransport`` under the SDKs,
  which speak httpx2; ``FaultkitTransport`` under the plain httpx clients), a new engine per
  cell.
- :class:`ProxyDoor`: one real ``faultkit proxy`` process for many cells (started as the proxy
  tests start it, :mod:`proxy_process`); the scenario is switched through the control API
  (``POST``/``DELETE /faultkit/scenario``, then ``POST /faultkit/reset``), and each cell runs in
  a session of its own (``x-faultkit-session``), as concurrent test clients use one proxy.

In replay both load the same cassette files in the same order with the proxy's matching
settings (method + URI + body, ``repeat``, the JSON-RPC ``id`` ignored), rewound when the
scenario changes, at timing scale 0; in pass-through both forward to the same upstream. What
differs between the two runs of a cell is the door.
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
from conformance_world import SDK_TIMEOUT, TIMEOUT, Clients, Run, replay
from proxy_process import ProxyFactory

from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, CassetteStore
from faultkit.doors import FaultkitTransport, Httpx2FaultkitTransport
from faultkit.engine import Engine
from faultkit.exchange import Request
from faultkit.ledger import LedgerEntry
from faultkit.scenario import Scenario

SDK_ROUTES = ("openai", "anthropic")
SESSION_HEADER = "x-faultkit-session"  # the proxy's documented header: a context per client
# The JSON-RPC ``id`` is ignored when matching: the proxy's default (``--ignore-body-field``).
IGNORED_BODY_FIELDS = ("id",)


def sdk_clients(
    urls: dict[str, str],
    http: dict[str, httpx.Client],
    sdk_http: dict[str, httpx2.Client] | None = None,
    *,
    max_retries: int = 0,
) -> Clients:
    sdk_http = sdk_http or {}
    return Clients(
        openai=openai.OpenAI(
            base_url=urls["openai"],
            api_key="sk-conformance",
            max_retries=max_retries,
            timeout=SDK_TIMEOUT,
            http_client=sdk_http.get("openai"),
        ),
        anthropic=anthropic.Anthropic(
            base_url=urls["anthropic"],
            api_key="sk-conformance",
            max_retries=max_retries,
            timeout=SDK_TIMEOUT,
            http_client=sdk_http.get("anthropic"),
        ),
        http=http,
    )


def replay_store(cassettes: Sequence[Path]) -> CassetteStore:
    """The cassettes as the proxy loads them: its matching settings, in the same order."""
    return CassetteStore(
        cassettes,
        match_on=APP_MATCH_ON,
        playback=APP_PLAYBACK,
        ignore_body_fields=IGNORED_BODY_FIELDS,
    )


class InProcessDoor:
    """The in-process door: clients at ``urls`` (route -> the base URL an app uses), answered
    from ``store`` in replay, forwarded to those URLs in pass-through, and recorded into
    ``store`` too in record mode."""

    def __init__(
        self, urls: dict[str, str], store: CassetteStore | None = None, *, mode: str = "replay"
    ) -> None:
        self.urls = urls
        self.mode = mode
        self.store = store
        self.scenario: str | None = None

    def warm(self, requests: list[Request]) -> None:
        """Send ``requests`` once, unfaulted, from this thread alone. The SDKs build their
        response types' parsers on first use, and two threads doing that at once can parse the
        same event into different union members (seen: a Responses ``response.completed``
        event, only when both doors ran concurrently); :func:`run_cell` runs the doors in two
        threads, so the parsers are built here first."""
        self.run(None, requests, 0)

    def run(self, scenario: Scenario | None, requests: list[Request], max_retries: int) -> Run:
        """One cell with a new engine; the store is rewound when the scenario changes, as the
        proxy's is (:meth:`ProxyDoor.use`)."""
        name = scenario.name if scenario else None
        if self.store is not None and self.mode == "replay" and name != self.scenario:
            self.store.rewind()
        self.scenario = name
        engine = Engine(scenario, source=self.store, timing_scale=0)
        sdk_http = {
            route: httpx2.Client(
                transport=Httpx2FaultkitTransport(engine, route=route, mode=self.mode),
                timeout=SDK_TIMEOUT,
            )
            for route in SDK_ROUTES
        }
        http = {
            route: httpx.Client(
                transport=FaultkitTransport(engine, route=route, mode=self.mode),
                base_url=url,
                timeout=TIMEOUT,
            )
            for route, url in self.urls.items()
            if route not in SDK_ROUTES
        }
        clients = sdk_clients(self.urls, http, sdk_http, max_retries=max_retries)
        try:
            outcomes, result = replay(clients, requests)
        finally:
            for client in [*sdk_http.values(), *http.values()]:
                client.close()
        return Run(outcomes, result, list(engine.ledger.entries))


class ProxyDoor:
    """One real proxy process; ``upstreams`` maps each door's name to its real URL."""

    def __init__(self, factory: ProxyFactory, upstreams: dict[str, str], *args: str) -> None:
        named = [a for n, u in upstreams.items() for a in ("--upstream", f"{n}={u}")]
        self.process = factory(*named, "--timing-scale", "0", *args)
        self.routes = list(upstreams)
        self.control = httpx.Client(base_url=self.process.control, timeout=10)
        self.scenario: str | None = ""  # "" = not set yet; None = no scenario
        self._clients: dict[int, Clients] = {}
        self._cells = 0

    def use(self, scenario_file: Path | None) -> None:
        """Make ``scenario_file`` the active scenario (None: clear it), as a user switches it
        at runtime, and start it from a reset (counters, ledgers, cassettes rewound)."""
        name = scenario_file.name if scenario_file else None
        if self.scenario == name:
            return
        if scenario_file is None:
            reply = self.control.delete("/faultkit/scenario")
        else:
            reply = self.control.post(
                "/faultkit/scenario",
                content=scenario_file.read_bytes(),
                headers={"content-type": "application/yaml"},
            )
        reply.raise_for_status()
        self.control.post("/faultkit/reset").raise_for_status()
        self.scenario = name

    def clients(self, max_retries: int) -> Clients:
        """The clients an app holds for its whole life, built once per retry setting
        (building one costs a TLS context, ~30 ms, even for a plain-HTTP door)."""
        if max_retries not in self._clients:
            urls = {route: self.process.door(route) for route in self.routes}
            http = {
                route: httpx.Client(base_url=url, timeout=TIMEOUT)
                for route, url in urls.items()
                if route not in SDK_ROUTES
            }
            self._clients[max_retries] = sdk_clients(urls, http, max_retries=max_retries)
        return self._clients[max_retries]

    def run(self, scenario_file: Path | None, requests: list[Request], max_retries: int) -> Run:
        """One cell, in a session of its own (``x-faultkit-session``): fresh counters and
        ledger under the active scenario. A reset per cell would do the same, but costs a full
        garbage collection in the proxy (~0.1 s); the cassettes are rewound once per scenario
        instead, in both doors, so the two stores play the same recordings in step."""
        self.use(scenario_file)
        self._cells += 1
        session = f"cell-{self._cells}"
        clients = replace(self.clients(max_retries), headers={SESSION_HEADER: session})
        outcomes, result = replay(clients, requests)
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
    scenario_file: Path | None,
    requests: list[Request],
    *,
    max_retries: int = 0,
) -> tuple[Run, Run]:
    """One cell through both doors at once (they share nothing: an engine of its own each),
    so a cell whose client waits out its read timeout costs that wait once, not twice."""
    scenario = Scenario.load(scenario_file) if scenario_file else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        local = pool.submit(inprocess.run, scenario, requests, max_retries)
        remote = proxy.run(scenario_file, requests, max_retries)
        return local.result(), remote
