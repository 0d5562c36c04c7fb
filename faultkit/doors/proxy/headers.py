"""Per-request fault selection by header, in the manner of Envoy's ``x-envoy-fault-*``.

Concurrent tests (pytest-xdist workers, Locust users) share one proxy. Rather than change the
proxy's global state between tests, a client states on each request what it wants:

``x-faultkit-scenario: NAME``
    Use scenario NAME for this request instead of the proxy's active one: a scenario loaded
    with ``--scenario`` or through ``POST /faultkit/scenario``, else one found by name in
    ``./scenarios`` or the bundled catalogue. ``none`` means no scenario (replay clean).
``x-faultkit-fault: SPEC``
    Add a fault to this request, after the scenario's. SPEC is a JSON object that is a fault
    (``{"type": "http_error", "status": 429}``) or a whole rule with ``fault`` and optionally
    ``match``/``when`` (``{"fault": {...}, "when": {"calls": "1-2"}}``); a JSON list of such
    objects; or the short form ``type=http_error;status=429;retry_after_s=1`` whose values are
    read as JSON when they parse (numbers, true/false, null) and as text otherwise. The header
    may be repeated.
``x-faultkit-session: ID``
    Isolate call counting and the ledger under ID, so ``when: {nth: 2}`` counts only this
    client's calls. Requests without it share the state of their (scenario, fault) choice.

Requests that carry the same three values share one engine: its rule counters and its ledger
(so an SDK's retries, which repeat the headers, are counted as attempts of one logical call).
The headers are removed before a request is matched, forwarded or recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from faultkit.errors import FaultkitError
from faultkit.exchange import Headers
from faultkit.faults import FAULTS
from faultkit.scenario import Rule, inline_problems
from faultkit.suggest import did_you_mean

SCENARIO_HEADER = "x-faultkit-scenario"
FAULT_HEADER = "x-faultkit-fault"
SESSION_HEADER = "x-faultkit-session"
CONTROL_HEADERS = (SCENARIO_HEADER, FAULT_HEADER, SESSION_HEADER)
NO_SCENARIO = "none"

_RULE = TypeAdapter(Rule)


class HeaderError(FaultkitError):
    """An ``x-faultkit-*`` header cannot be understood; answered with a 400."""


@dataclass(frozen=True)
class ContextKey:
    """Which fault state a request belongs to. All None/empty: the proxy's default state."""

    scenario: str | None = None
    session: str | None = None
    faults: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "session": self.session, "fault": list(self.faults)}


def split_control_headers(headers: Headers) -> tuple[ContextKey, Headers]:
    """The request's context key, and its headers without the ``x-faultkit-*`` ones."""
    scenario = session = None
    faults: list[str] = []
    rest: list[tuple[str, str]] = []
    for name, value in headers:
        lname = name.lower()
        if lname == SCENARIO_HEADER:
            scenario = value.strip() or None
        elif lname == SESSION_HEADER:
            session = value.strip() or None
        elif lname == FAULT_HEADER:
            if value.strip():
                faults.append(value.strip())
        else:
            rest.append((name, value))
    return ContextKey(scenario, session, tuple(faults)), tuple(rest)


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _short_form(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise HeaderError(
                f"{FAULT_HEADER}: {part.strip()!r} is not key=value "
                "(write type=http_error;status=429 or a JSON object)"
            )
        fields[key.strip()] = _scalar(value.strip())
    return fields


def _rule(item: Any, index: int) -> Rule:
    if not isinstance(item, dict):
        raise HeaderError(f"{FAULT_HEADER}: expected a JSON object, got {type(item).__name__}")
    data = dict(item) if "fault" in item else {"fault": item}
    data.setdefault("name", f"{FAULT_HEADER}#{index}")
    fault = data.get("fault")
    if isinstance(fault, dict) and fault.get("type") not in FAULTS:
        known = ", ".join(sorted(FAULTS))
        raise HeaderError(
            f"{FAULT_HEADER}: unknown fault type {fault.get('type')!r}; "
            f"{did_you_mean(fault.get('type'), FAULTS)}known: {known}"
        )
    try:
        return _RULE.validate_python(data)
    except ValidationError as exc:
        raise HeaderError(f"{FAULT_HEADER}: {inline_problems(exc)}") from None


def header_rules(values: tuple[str, ...]) -> list[Rule]:
    """The rules that ``x-faultkit-fault`` values describe, named ``x-faultkit-fault#N``."""
    items: list[Any] = []
    for value in values:
        if value.startswith(("{", "[")):
            try:
                parsed = json.loads(value)
            except ValueError as exc:
                raise HeaderError(f"{FAULT_HEADER}: invalid JSON: {exc}") from None
            items.extend(parsed if isinstance(parsed, list) else [parsed])
        else:
            items.append(_short_form(value))
    return [_rule(item, i + 1) for i, item in enumerate(items)]
