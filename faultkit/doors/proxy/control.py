"""The ``/faultkit/...`` control endpoints: scenarios, HTTP faults, ledger, reset, doors.

They sit beside the Toxiproxy-compatible API on the control port (when that API is available
they are mounted into it as extra routes; otherwise the proxy serves them alone). Like
Toxiproxy's API, they refuse browsers (a ``User-Agent`` starting with ``Mozilla/``): a web page
must not be able to reconfigure a fault proxy on a developer's machine. Before any route, the
HTTP layer refuses foreign ``Host`` and ``Origin`` headers and non-JSON bodies
(:mod:`faultkit.doors.toxiproxy.guard`).

===========================================  ===================================================
``GET  /faultkit/doors``                     doors: name, address, upstream, env, export line
``GET  /faultkit/scenario``                  the active scenario (JSON), or ``null``
``POST /faultkit/scenario[?activate=0]``     load a scenario (YAML or JSON body); active unless
                                             ``activate=0`` (then only selectable by header)
``DELETE /faultkit/scenario``                clear the active scenario (requests without
                                             headers then pass through unfaulted, as at start
                                             without ``--scenario``); loaded ones stay
                                             selectable by header
``GET  /faultkit/faults``                    HTTP faults added at runtime, by name
``POST /faultkit/faults``                    add one: ``{"name", "upstream"?, "fault", ...}``
                                             (a rule: ``match``/``when`` allowed)
``DELETE /faultkit/faults/{name}``           remove it
``GET  /faultkit/ledger[?session=&scenario=&route=]``   ledger entries, arrival order; the
                                             ``x-faultkit-ledger-dropped`` header counts the
                                             oldest entries dropped (``--ledger-size``)
``POST /faultkit/reset``                     forget counters, ledgers and runtime faults;
                                             rewind the cassettes
===========================================  ===================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import TypeAdapter, ValidationError

from faultkit.errors import FaultkitError
from faultkit.scenario import Rule, Scenario, inline_problems

from .host import ControlHost

_RULE = TypeAdapter(Rule)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [*([("content-type", self.content_type)] if self.body else []), *self.extra]


def _json(status: int, value: Any) -> Reply:
    return Reply(status, json.dumps(value).encode())


def _error(status: int, message: str) -> Reply:
    return _json(status, {"error": message, "status": status})


def browser_refused(user_agent: str | None) -> Reply | None:
    if user_agent and user_agent.startswith("Mozilla/"):
        return Reply(403, b"User agent not allowed\n", "text/plain; charset=utf-8")
    return None


def rule_from(data: Any, default_name: str | None = None) -> tuple[str, Rule]:
    """A named runtime rule from a JSON object: a rule (``fault`` + ``match``/``when``) or a
    bare fault, with ``name`` and optionally ``upstream`` (restricts ``match.route``)."""
    if not isinstance(data, dict):
        raise FaultkitError("expected a JSON object with name and fault")
    data = dict(data)
    name = data.pop("name", None) or default_name
    upstream = data.pop("upstream", None)
    if not isinstance(name, str) or not name:
        raise FaultkitError("missing required field: name")
    if "fault" not in data:
        data = {"fault": data}
    try:
        rule = _RULE.validate_python({**data, "name": name})
    except ValidationError as exc:
        raise FaultkitError(inline_problems(exc)) from None
    if upstream is not None:
        rule = rule.model_copy(
            update={"match": rule.match.model_copy(update={"route": str(upstream)})}
        )
    return name, rule


class FaultkitRoutes:
    """Answers ``/faultkit/...`` requests; ``None`` for any other path."""

    def __init__(self, proxy: ControlHost) -> None:
        self.proxy = proxy

    def __call__(
        self, method: str, target: str, headers: Callable[[str], str | None], body: bytes
    ) -> Reply | None:
        parts = urlsplit(target)
        path = parts.path
        if not path.startswith("/faultkit/"):
            return None
        refused = browser_refused(headers("user-agent"))
        if refused is not None:
            return refused
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            return self._route(method.upper(), path, query, body)
        except FaultkitError as exc:
            return _error(400, str(exc))

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        proxy = self.proxy
        state = proxy.state
        if path == "/faultkit/doors":
            if method != "GET":
                return Reply(405)
            return _json(200, proxy.describe())
        if path == "/faultkit/ledger":
            if method != "GET":
                return Reply(405)
            rows = state.ledger_json(
                session=query.get("session"),
                scenario=query.get("scenario"),
                route=query.get("route"),
            )
            # The ledger is bounded (--ledger-size); how many of the oldest entries went.
            dropped = str(state.ledger_dropped())
            return replace(_json(200, rows), extra=(("x-faultkit-ledger-dropped", dropped),))
        if path == "/faultkit/reset":
            if method != "POST":
                return Reply(405)
            proxy.reset()
            return Reply(204)
        if path == "/faultkit/scenario":
            if method == "GET":
                active = state.active
                return _json(200, active.model_dump(mode="json") if active else None)
            if method == "DELETE":
                cleared = state.active
                state.load_scenario(None)
                return _json(200, {"cleared": cleared.name if cleared else None})
            if method != "POST":
                return Reply(405)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return _error(400, "scenario body is not UTF-8")
            scenario = Scenario.from_yaml(text, "<POST /faultkit/scenario>")
            if query.get("activate", "1") in ("0", "false", "no"):
                state.add_scenario(scenario)
            else:
                state.load_scenario(scenario)
            return _json(
                200,
                {
                    "name": scenario.name,
                    "rules": len(scenario.rules),
                    "active": state.active is scenario,
                },
            )
        if path == "/faultkit/faults":
            if method == "GET":
                return _json(
                    200,
                    {n: r.model_dump(mode="json") for n, r in state.runtime_rules.items()},
                )
            if method != "POST":
                return Reply(405)
            try:
                data = json.loads(body or b"null")
            except ValueError as exc:
                return _error(400, f"bad request body: {exc}")
            name, rule = rule_from(data)
            state.set_runtime_rule(name, rule)
            return _json(200, {"name": name, **rule.model_dump(mode="json")})
        if path.startswith("/faultkit/faults/"):
            name = path.removeprefix("/faultkit/faults/")
            if method != "DELETE":
                return Reply(405)
            if not state.remove_runtime_rule(name):
                return _error(404, "fault not found")
            return Reply(204)
        return Reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
