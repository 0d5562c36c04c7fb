"""Hypothesis strategies for single faults: one per fault in the catalogue, bounded, shrinkable.

Every strategy builds the fault's own pydantic model, so what it yields is valid by construction
(it is exactly what a scenario file with those fields would load as). Each fault's strategy is
declared in its own module (``Fault.strategy``, with the shared bounds and building blocks of
:mod:`faultkit.faults._search`); :data:`FAULT_STRATEGIES` is read from the registry, and the
named functions below are those strategies with their bounds as arguments.

Shrinking: hypothesis shrinks integers towards their lower bound and ``sampled_from`` /
``one_of`` towards their first choice, and the catalogue is searched in the faults'
``search_order``. A failing schedule then shrinks to a 429 with ``retry-after: 1`` rather
than a 503 with an HTML body and ``retry-after-ms: 1700``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from faultkit.errors import FaultkitError
from faultkit.faults import FAULTS, Fault
from faultkit.faults._search import (
    DEFAULT_MAX_DELAY_MS,
    DEFAULT_MAX_EVENT,
    DEFAULT_MAX_RETRY_AFTER_S,
    Limits,
    event_index,
    family,
    optional,
)
from faultkit.faults.broken_sse import BrokenSSE
from faultkit.faults.http_error import DEFAULT_STATUSES, HttpError
from faultkit.faults.latency import Latency
from faultkit.faults.malformed_body import MalformedBody
from faultkit.faults.partial_tool_data import PartialToolData
from faultkit.faults.refusal import Refusal
from faultkit.faults.reset import ConnectionReset
from faultkit.faults.schema_drift import SchemaDrift
from faultkit.faults.slow_first_token import SlowFirstToken
from faultkit.faults.stall import Stall
from faultkit.faults.timeout import Timeout
from faultkit.faults.token_limit import TokenLimit
from faultkit.faults.tool_call import ToolCallFault
from faultkit.formats.detect import PROVIDER_OF, WireFormat
from faultkit.suggest import did_you_mean

SearchStrategy = st.SearchStrategy


# -- timing ---------------------------------------------------------------------------------------
def latencies(max_delay_ms: int = DEFAULT_MAX_DELAY_MS) -> SearchStrategy[Latency]:
    """The response head is late by up to ``max_delay_ms``, with jitter tried last."""
    return Latency.strategy(Limits(max_delay_ms=max_delay_ms), None)


def slow_first_tokens(max_delay_ms: int = DEFAULT_MAX_DELAY_MS) -> SearchStrategy[SlowFirstToken]:
    """The head arrives, the first token is late; optionally kept alive by heartbeats."""
    return SlowFirstToken.strategy(Limits(max_delay_ms=max_delay_ms), None)


def stalls(
    max_delay_ms: int = DEFAULT_MAX_DELAY_MS, max_event: int = DEFAULT_MAX_EVENT
) -> SearchStrategy[Stall]:
    """The stream goes silent after some events, then resumes, ends cleanly or resets."""
    return Stall.strategy(Limits(max_delay_ms=max_delay_ms, max_event=max_event), None)


def timeouts(max_delay_ms: int = DEFAULT_MAX_DELAY_MS) -> SearchStrategy[Timeout]:
    """No answer for up to ``max_delay_ms``, then the connection drops."""
    return Timeout.strategy(Limits(max_delay_ms=max_delay_ms), None)


# -- connection and HTTP --------------------------------------------------------------------------
def resets(max_event: int = DEFAULT_MAX_EVENT) -> SearchStrategy[ConnectionReset]:
    """A reset before the head, or mid-body (after some events, or at the default half)."""
    return ConnectionReset.strategy(Limits(max_event=max_event), None)


def http_errors(
    statuses: Sequence[int] | None = None,
    *,
    provider: str | None = None,
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
) -> SearchStrategy[HttpError]:
    """HTTP errors with the headers a real upstream sends with them.

    ``statuses`` defaults to the usual suspects, 429 first. A 429/503/529 mostly carries
    ``retry-after`` (whole seconds, at most ``max_retry_after_s``) or ``retry-after-ms``; other
    retryable errors sometimes do. A bound below one second (``max_retry_after_s=0.05``) keeps
    to ``retry-after-ms``, so a SUT that honours the hint still runs fast in a test.
    ``x-should-retry`` is tried unset and true (false only with the kinds below). With
    ``provider`` (``openai`` / ``anthropic``) the provider's own non-default kinds are tried too
    (quota exhausted, spend limit, slow down), without retry hints, as the provider sends them.
    A 502/503/504 sometimes comes as a gateway's HTML page instead of the provider's JSON.
    """
    chosen = tuple(statuses) if statuses is not None else DEFAULT_STATUSES
    if not chosen:
        raise FaultkitError("http_errors needs at least one status")
    bad = [s for s in chosen if not 400 <= s <= 599]
    if bad:
        raise FaultkitError(f"http_errors: statuses must be 400-599, got {bad}")
    if provider not in (None, "openai", "anthropic"):
        raise FaultkitError(f"http_errors: provider must be openai or anthropic, got {provider!r}")
    limits = Limits(max_retry_after_s=max_retry_after_s)
    return HttpError.strategy(limits, provider, statuses=chosen)


def malformed_bodies() -> SearchStrategy[MalformedBody]:
    """Truncated or invalid JSON, an empty body, or a gateway's HTML page on a 200."""
    return MalformedBody.strategy(Limits(), None)


# -- streams --------------------------------------------------------------------------------------
def broken_sse(max_event: int = DEFAULT_MAX_EVENT) -> SearchStrategy[BrokenSSE]:
    """SSE framing broken: an event cut inside its JSON, a missing terminator, a bad line."""
    return BrokenSSE.strategy(Limits(max_event=max_event), None)


def stream_cuts(
    where: str | None = None, *, max_event: int = DEFAULT_MAX_EVENT
) -> SearchStrategy[Fault]:
    """A stream that ends early: ``where="mid_json"`` cuts inside an event's JSON (or sends a
    line that is not JSON), ``where="boundary"`` cuts cleanly between events (a reset after k
    events, or the terminator missing); None tries both, mid-JSON first."""
    mid_json = st.one_of(
        st.builds(
            lambda at_event, end: BrokenSSE(kind="cut_mid_event", at_event=at_event, end=end),
            optional(event_index(max_event)),
            st.sampled_from((None, "close", "reset")),
        ),
        event_index(max_event).map(
            lambda at_event: BrokenSSE(kind="invalid_data_line", at_event=at_event, end="close")
        ),
    )
    boundary = st.one_of(
        st.sampled_from((None, "reset")).map(
            lambda end: BrokenSSE(kind="missing_terminator", end=end)
        ),
        event_index(max_event).map(lambda n: ConnectionReset(at="mid_body", after_events=n)),
    )
    if where == "mid_json":
        return mid_json
    if where == "boundary":
        return boundary
    if where is None:
        return st.one_of(family(mid_json), family(boundary))
    raise FaultkitError(f"stream_cuts: where must be 'mid_json', 'boundary' or None, got {where!r}")


# -- meaning --------------------------------------------------------------------------------------
def tool_call_faults(max_call: int = 1) -> SearchStrategy[ToolCallFault]:
    """A tool call the app must not trust: bad arguments, unknown tool, missing or repeated id."""
    return ToolCallFault.strategy(Limits(), None, max_call=max_call)


def random_schema_drifts() -> SearchStrategy[SchemaDrift]:
    """Drift at a field the fault picks with the scenario's seed (no model or payload known).
    For drift aimed at your own output model's fields, use ``schema_drifts(model=...)``."""
    return SchemaDrift.strategy(Limits(), None)


def random_partial_tool_data(mcp: bool = False) -> SearchStrategy[PartialToolData]:
    """Part of a tool's answer missing, the fields picked with the scenario's seed. ``mcp``
    also tries flagging the result ``isError`` (MCP tools only). For faults over a recorded
    answer's own fields, use ``partial_tool_data(payload)``."""
    return PartialToolData.strategy(Limits(), None, mcp=mcp)


def token_limits() -> SearchStrategy[TokenLimit]:
    """The answer cut at the token limit: half of its last part kept first (shrinks there),
    then less or more; the usage's token count left to the default (the recorded count
    scaled)."""
    return TokenLimit.strategy(Limits(), None)


def refusals() -> SearchStrategy[Refusal]:
    """The model declines: a refusal first, then the content filter, then an empty answer."""
    return Refusal.strategy(Limits(), None)


# -- the catalogue --------------------------------------------------------------------------------
# One entry per registered fault, in the faults' search_order (simplest first: one_of over these
# shrinks towards the top). Each takes the bounds and the route the fault will hit (None: any
# route).
FAULT_STRATEGIES: dict[str, Callable[[Limits, str | None], SearchStrategy[Fault]]] = {
    name: cls.strategy for name, cls in FAULTS.items()
}

FaultChoice = str | SearchStrategy[Fault]


class NoFaultForRoute(FaultkitError):
    """None of the faults asked for can act on a route (see :func:`applies_on`)."""


def provider_formats(route: str | None) -> frozenset[WireFormat] | None:
    """The wire formats a route named after a provider speaks (``openai``, ``anthropic``, as
    the doors name them); None when the route's format is not known from its name."""
    formats = frozenset(fmt for fmt, provider in PROVIDER_OF.items() if provider == route)
    return formats or None


def applies_on(name: str, route: str | None) -> bool:
    """Whether fault type ``name`` can act on ``route``, as far as the route's name tells (a
    partial_tool_data fault never applies to the openai route; on a route of unknown format
    every fault may)."""
    spoken = provider_formats(route)
    formats = FAULTS[name].formats if name in FAULTS else None
    return spoken is None or formats is None or bool(spoken & formats)


def fault_specs(
    faults: Sequence[FaultChoice] | None = None,
    limits: Limits | None = None,
    *,
    route: str | None = None,
) -> SearchStrategy[Fault]:
    """One fault, from ``faults``: fault type names (``"http_error"``) and/or strategies of
    faults (``http_errors(statuses=[429])``, ``schema_drifts(Answer)``), tried in the order
    given. None means every registered fault, in the simplicity order of
    :data:`FAULT_STRATEGIES`. Named faults that cannot apply on ``route`` (see
    :func:`applies_on`) are left out, so no example is spent on a fault the engine would skip."""
    limits = limits or Limits()
    if faults is None:
        names = [n for n in FAULT_STRATEGIES if n in FAULTS and applies_on(n, route)]
        return st.one_of([family(FAULT_STRATEGIES[name](limits, route)) for name in names])
    if isinstance(faults, str | SearchStrategy):
        faults = [faults]
    chosen: list[SearchStrategy[Fault]] = []
    for item in faults:
        if isinstance(item, SearchStrategy):
            chosen.append(family(item))
        elif isinstance(item, str) and item in FAULT_STRATEGIES:
            if applies_on(item, route):
                chosen.append(family(FAULT_STRATEGIES[item](limits, route)))
        else:
            known = ", ".join(FAULT_STRATEGIES)
            hint = did_you_mean(item, FAULT_STRATEGIES)
            raise FaultkitError(
                f"no strategy for fault {item!r}; {hint}use one of: {known} (or pass a strategy)"
            )
    if not chosen and route is not None and faults:
        raise NoFaultForRoute(f"none of the faults given can act on route {route!r}")
    if not chosen:
        raise FaultkitError("faults must name at least one fault (or be None for all)")
    return st.one_of(chosen)


__all__ = [
    "DEFAULT_MAX_DELAY_MS",
    "DEFAULT_MAX_EVENT",
    "DEFAULT_MAX_RETRY_AFTER_S",
    "FAULT_STRATEGIES",
    "Limits",
    "NoFaultForRoute",
    "applies_on",
    "broken_sse",
    "family",
    "fault_specs",
    "http_errors",
    "latencies",
    "malformed_bodies",
    "provider_formats",
    "random_partial_tool_data",
    "random_schema_drifts",
    "refusals",
    "resets",
    "slow_first_tokens",
    "stalls",
    "stream_cuts",
    "timeouts",
    "token_limits",
    "tool_call_faults",
]
