"""faultkit's HTTP faults as extra Toxiproxy toxic types.

Each door is registered in the Toxiproxy-compatible API as a proxy named after its upstream
(a TCP front whose upstream is the door), so an unchanged Toxiproxy client can add faultkit's
HTTP/LLM faults next to the TCP toxics::

    proxy = Toxiproxy().get_proxy("openai")
    proxy.add_toxic(name="rl", type="http_error", attributes={"status": 429, "retry_after_s": 1})

A fault type is a toxic type under its own name, unless Toxiproxy already has a TCP toxic of
that name (``latency``, ``timeout``): those, and every other fault, are also reachable as
``http_<type>`` (``http_latency``). The attributes are the fault's fields (the scenario YAML
names); two optional object attributes, ``match`` and ``when``, narrow it like a scenario rule;
``toxicity`` becomes ``when.probability``. The fault applies to every request of that door
(whichever port the client used), like a scenario rule with ``match: {route: <door>}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from faultkit.faults import FAULTS
from faultkit.scenario import Rule, inline_problems

from .host import BridgeHost

_RULE = TypeAdapter(Rule)
PREFIX = "http_"


def toxic_types(tcp_types: Iterable[str]) -> dict[str, str]:
    """Toxic type name -> fault type: ``http_<type>`` for every fault, the bare name too when
    no TCP toxic has it."""
    tcp = set(tcp_types)
    names = {f"{PREFIX}{t}": t for t in FAULTS}
    for fault_type in FAULTS:
        if fault_type not in tcp and fault_type not in names:
            names.setdefault(fault_type, fault_type)
    return names


def rule_key(proxy_name: str, toxic_name: str) -> str:
    """Runtime rule name of a toxic (toxic names are unique per proxy only)."""
    return f"{proxy_name}/{toxic_name}"


class HttpFaultBridge:
    """The ``bridge=`` of the Toxiproxy-compatible server: toxics -> runtime rules."""

    def __init__(self, proxy: BridgeHost, tcp_types: Iterable[str]) -> None:
        self.proxy = proxy
        self.types = toxic_types(tcp_types)

    def toxic_types(self) -> Iterable[str]:
        return self.types.keys()

    def _rule(self, proxy_name: str, toxic: dict[str, Any]) -> tuple[Rule, dict[str, Any]]:
        doors = [d.route for d in self.proxy.doors]
        if proxy_name not in doors:
            raise ValueError(
                f"HTTP fault toxics apply to faultkit doors; {proxy_name!r} is not one "
                f"(doors: {', '.join(doors)})"
            )
        attributes = dict(toxic.get("attributes") or {})
        match = attributes.pop("match", None) or {}
        when = attributes.pop("when", None) or {}
        if not isinstance(match, dict) or not isinstance(when, dict):
            raise ValueError("attributes match and when must be objects")
        toxicity = float(toxic.get("toxicity", 1.0))
        if toxicity < 1.0:
            when = {**when, "probability": max(0.0, toxicity)}
        fault = {**attributes, "type": self.types[toxic["type"]]}
        try:
            rule = _RULE.validate_python(
                {
                    "name": rule_key(proxy_name, toxic["name"]),
                    "match": {**match, "route": proxy_name},
                    "when": when,
                    "fault": fault,
                }
            )
        except ValidationError as exc:
            raise ValueError(f"invalid {toxic['type']} toxic: {inline_problems(exc)}") from None
        listed = rule.fault.params()
        listed.pop("type", None)
        if match:
            listed["match"] = match
        if toxic_when := {k: v for k, v in when.items() if k != "probability"}:
            listed["when"] = toxic_when
        return rule, listed

    def add_toxic(self, proxy_name: str, toxic: dict[str, Any]) -> dict[str, Any]:
        rule, listed = self._rule(proxy_name, toxic)
        self.proxy.state.set_runtime_rule(rule.name or toxic["name"], rule)
        return listed

    def update_toxic(self, proxy_name: str, toxic: dict[str, Any]) -> dict[str, Any]:
        return self.add_toxic(proxy_name, toxic)

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        self.proxy.state.remove_runtime_rule(rule_key(proxy_name, toxic_name))
