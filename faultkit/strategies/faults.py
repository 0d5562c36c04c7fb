"""Hypothesis strategies for single faults: one per fault in the catalogue, bounded, shrinkable.

Every strategy builds the fault's own pydantic model, so what it yields is valid by construction
(it is exactly what a scenario file with those fields would load as). Bounds keep a property test
fast: delays are at most ``max_delay_ms`` (2 s by default), retry-after hints at most
``max_retry_after_s`` (2 s), and event indices at most ``max_event``.

Shrinking: hypothesis shrinks integers towards their lower bound and ``sampled_from`` /
``one_of`` towards their first choice. So every integer starts at 1 (or 0 for an index), every
list of choices is ordered from the plainest case to the most elaborate, and optional
parameters try "not set" first. A failing schedule then shrinks to a 429 with ``retry-after:
1`` rather than a 503 with an HTML body and ``retry-after-ms: 1700``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from faultkit.errors import FaultkitError
from faultkit.faults import FAULTS, Fault
from faultkit.faults.broken_sse import BrokenSSE
from faultkit.faults.http_error import HttpError
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

SearchStrategy = st.SearchStrategy

DEFAULT_MAX_DELAY_MS = 2000
DEFAULT_MAX_RETRY_AFTER_S = 2
DEFAULT_MAX_EVENT = 8

# Most common first: the order hypothesis shrinks towards.
DEFAULT_STATUSES: tuple[int, ...] = (
    429,
    500,
    503,
    502,
    529,
    504,
    408,
    400,
    401,
    403,
    404,
    409,
    413,
    422,
)

# Error kinds a provider really sends for a status, beyond the one the status implies by default
# (which ``error_type=None`` already gives). Keyed by provider, then status.
_ERROR_TYPES: dict[str, dict[int, tuple[str, ...]]] = {
    "openai": {429: ("insufficient_quota",), 503: ("slow_down",)},
    "anthropic": {429: ("enforced_spend_limit_reached",), 400: ("billing_error",)},
}
# Kinds that no retry fixes: the provider sends no retry-after with them.
_NOT_RETRYABLE_KINDS = frozenset({"insufficient_quota", "enforced_spend_limit_reached"})

_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_GATEWAY_REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


@dataclass(frozen=True)
class Limits:
    """Bounds shared by the fault strategies (see the module docstring)."""

    max_delay_ms: int = DEFAULT_MAX_DELAY_MS
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S
    max_event: int = DEFAULT_MAX_EVENT

    def __post_init__(self) -> None:
        if self.max_delay_ms < 1:
            raise FaultkitError(f"max_delay_ms must be at least 1, got {self.max_delay_ms}")
        if not self.max_retry_after_s >= 0.001:
            raise FaultkitError(
                f"max_retry_after_s must be at least 0.001, got {self.max_retry_after_s}"
            )
        if self.max_event < 0:
            raise FaultkitError(f"max_event must be 0 or more, got {self.max_event}")


def _delays(max_ms: int) -> SearchStrategy[int]:
    return st.integers(1, max_ms)


def _event_index(max_event: int) -> SearchStrategy[int]:
    return st.integers(0, max_event)


@st.composite
def _whole(draw: st.DrawFn, strategy: SearchStrategy[Any]) -> Any:
    return draw(strategy)


def family(strategy: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """``strategy`` as one choice of a ``one_of``. Hypothesis flattens nested ``one_of``s into
    one list of branches, so a fault with three variants would be tried three times as often
    as a fault with one; wrapped, every fault gets an equal share of the examples."""
    return _whole(strategy)


def _optional(strategy: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """None first (shrinks to "not set"), then a value."""
    return st.one_of(st.none(), strategy)


# -- timing ---------------------------------------------------------------------------------------
def latencies(max_delay_ms: int = DEFAULT_MAX_DELAY_MS) -> SearchStrategy[Latency]:
    """The response head is late by up to ``max_delay_ms``, with jitter tried last."""
    return st.builds(
        lambda ms, jitter: Latency(latency_ms=ms, jitter_ms=jitter),
        _delays(max_delay_ms),
        st.one_of(st.just(0), st.integers(1, max(1, max_delay_ms // 4))),
    )


def slow_first_tokens(max_delay_ms: int = DEFAULT_MAX_DELAY_MS) -> SearchStrategy[SlowFirstToken]:
    """The head arrives, the first token is late; optionally kept alive by heartbeats."""
    return st.builds(
        lambda ms, beat: SlowFirstToken(delay_ms=ms, heartbeat_ms=beat),
        _delays(max_delay_ms),
        _optional(st.integers(1, 10).map(lambda n: n * 100)),
    )


def stalls(
    max_delay_ms: int = DEFAULT_MAX_DELAY_MS, max_event: int = DEFAULT_MAX_EVENT
) -> SearchStrategy[Stall]:
    """The stream goes silent after some events, then resumes, ends cleanly or resets."""
    return st.builds(
        lambda ms, after, then: Stall(stall_ms=ms, after_events=after, then=then),
        _delays(max_delay_ms),
        _event_index(max_event),
        st.sampled_from(("continue", "close", "reset")),
    )


def timeouts(max_delay_ms: int = DEFAULT_MAX_DELAY_MS) -> SearchStrategy[Timeout]:
    """No answer for up to ``max_delay_ms``, then the connection drops."""
    return _delays(max_delay_ms).map(lambda ms: Timeout(timeout_ms=ms))


# -- connection and HTTP --------------------------------------------------------------------------
def resets(max_event: int = DEFAULT_MAX_EVENT) -> SearchStrategy[ConnectionReset]:
    """A reset before the head, or mid-body (after some events, or at the default half)."""
    before = st.just(ConnectionReset(at="before_head"))
    mid = _optional(_event_index(max_event)).map(
        lambda n: ConnectionReset(at="mid_body", after_events=n)
    )
    return st.one_of(before, mid)


class _HttpErrorDraws:
    """The choices of one ``http_errors`` strategy, built once: a composite that creates
    strategies on every draw spends its time validating them."""

    def __init__(self, statuses: Sequence[int], provider: str | None, max_s: float) -> None:
        self.statuses = st.sampled_from(tuple(statuses))
        kinds = _ERROR_TYPES.get(provider or "", {})
        self.kinds = {status: st.sampled_from((None, *k)) for status, k in kinds.items()}
        self.no_retry = st.sampled_from((None, False))
        # Whole seconds need a bound of at least 1 s; below that, only retry-after-ms fits.
        seconds = "seconds" if max_s >= 1 else "ms"
        self.hints_usual = st.sampled_from(tuple(dict.fromkeys((seconds, "none", "ms"))))
        self.hints_rare = st.sampled_from(tuple(dict.fromkeys(("none", seconds))))
        self.seconds = st.integers(1, max(1, int(max_s)))
        if max_s >= 1:
            self.millis = st.integers(1, int(max_s * 10)).map(lambda n: n * 100)
        else:
            self.millis = st.integers(1, max(1, int(max_s * 1000)))
        self.should_retry = st.sampled_from((None, True))
        self.gateway = st.booleans()


@st.composite
def _http_error(draw: st.DrawFn, c: _HttpErrorDraws) -> HttpError:
    status = draw(c.statuses)
    error_type = draw(c.kinds[status]) if status in c.kinds else None
    retryable = (status in (408, 409, 429) or status >= 500) and error_type not in (
        _NOT_RETRYABLE_KINDS
    )
    params: dict[str, Any] = {"status": status}
    if error_type is not None:
        params["error_type"] = error_type
    if error_type in _NOT_RETRYABLE_KINDS:
        params["should_retry"] = draw(c.no_retry)
    if retryable:
        # Rate limits and overloads usually say when to come back; other errors usually not.
        hint = draw(c.hints_usual if status in (429, 503, 529) else c.hints_rare)
        if hint == "seconds":
            params["retry_after_s"] = draw(c.seconds)
        elif hint == "ms":
            params["retry_after_ms"] = draw(c.millis)
        # A retryable error says "retry" or nothing; "false" comes with errors no retry fixes.
        params["should_retry"] = draw(c.should_retry)
    if status in _GATEWAY_REASONS and draw(c.gateway):
        # A gateway in front of the provider answers with its own HTML page.
        params["body"] = _GATEWAY_PAGE.format(status=status, reason=_GATEWAY_REASONS[status])
        params["content_type"] = "text/html"
    return HttpError(**params)


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
    if not max_retry_after_s >= 0.001:
        raise FaultkitError(f"max_retry_after_s must be at least 0.001, got {max_retry_after_s}")
    return _http_error(_HttpErrorDraws(chosen, provider, max_retry_after_s))


def malformed_bodies() -> SearchStrategy[MalformedBody]:
    """Truncated or invalid JSON, an empty body, or a gateway's HTML page on a 200."""
    truncated = _optional(st.integers(1, 9)).map(
        lambda tenth: MalformedBody(
            kind="truncated_json", truncate_at=None if tenth is None else tenth / 10
        )
    )
    html = st.builds(
        lambda status, page: MalformedBody(kind="html_200", status=status, page=page),
        _optional(st.sampled_from((502, 503, 504))),
        st.sampled_from(("cloudflare", "nginx")),
    )
    return st.one_of(
        truncated,
        st.just(MalformedBody(kind="invalid_json")),
        st.just(MalformedBody(kind="empty_body")),
        html,
    )


# -- streams --------------------------------------------------------------------------------------
def broken_sse(max_event: int = DEFAULT_MAX_EVENT) -> SearchStrategy[BrokenSSE]:
    """SSE framing broken: an event cut inside its JSON, a missing terminator, a bad line."""
    at = _optional(_event_index(max_event))
    cut = st.builds(
        lambda at_event, end: BrokenSSE(kind="cut_mid_event", at_event=at_event, end=end),
        at,
        st.sampled_from((None, "close", "reset")),
    )
    terminator = st.sampled_from((None, "reset")).map(
        lambda end: BrokenSSE(kind="missing_terminator", end=end)
    )
    bad_line = st.builds(
        lambda at_event, line, end: BrokenSSE(
            kind="invalid_data_line", at_event=at_event, line=line, end=end
        ),
        at,
        st.sampled_from((None, "data:", "retry: 3000")),
        st.sampled_from((None, "close")),
    )
    return st.one_of(cut, terminator, bad_line)


def stream_cuts(
    where: str | None = None, *, max_event: int = DEFAULT_MAX_EVENT
) -> SearchStrategy[Fault]:
    """A stream that ends early: ``where="mid_json"`` cuts inside an event's JSON (or sends a
    line that is not JSON), ``where="boundary"`` cuts cleanly between events (a reset after k
    events, or the terminator missing); None tries both, mid-JSON first."""
    mid_json = st.one_of(
        st.builds(
            lambda at_event, end: BrokenSSE(kind="cut_mid_event", at_event=at_event, end=end),
            _optional(_event_index(max_event)),
            st.sampled_from((None, "close", "reset")),
        ),
        _event_index(max_event).map(
            lambda at_event: BrokenSSE(kind="invalid_data_line", at_event=at_event, end="close")
        ),
    )
    boundary = st.one_of(
        st.sampled_from((None, "reset")).map(
            lambda end: BrokenSSE(kind="missing_terminator", end=end)
        ),
        _event_index(max_event).map(lambda n: ConnectionReset(at="mid_body", after_events=n)),
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
    call = st.integers(0, max_call)
    arguments = st.builds(
        lambda form, n: ToolCallFault(kind="invalid_arguments", form=form, call=n),
        st.sampled_from(("truncated", "empty", "double_encoded")),
        call,
    )
    unknown = call.map(lambda n: ToolCallFault(kind="unknown_tool", call=n))
    missing = st.builds(
        lambda form, n: ToolCallFault(kind="missing_id", id_form=form, call=n),
        st.sampled_from(("empty", "absent")),
        call,
    )
    duplicate = call.map(lambda n: ToolCallFault(kind="duplicate_id", call=n))
    return st.one_of(arguments, unknown, missing, duplicate)


def random_schema_drifts() -> SearchStrategy[SchemaDrift]:
    """Drift at a field the fault picks with the scenario's seed (no model or payload known).
    For drift aimed at your own output model's fields, use ``schema_drifts(model=...)``."""
    return st.builds(
        lambda op, target: SchemaDrift(op=op, target=target),
        st.sampled_from(("drop", "retype", "rename", "nest", "add")),
        st.sampled_from(("output", "tool_arguments", "body")),
    )


def random_partial_tool_data(mcp: bool = False) -> SearchStrategy[PartialToolData]:
    """Part of a tool's answer missing, the fields picked with the scenario's seed. ``mcp``
    also tries flagging the result ``isError`` (MCP tools only). For faults over a recorded
    answer's own fields, use ``partial_tool_data(payload)``."""
    return st.builds(
        lambda op, fraction, is_error: PartialToolData(op=op, fraction=fraction, is_error=is_error),
        st.sampled_from(("drop_fields", "null_values", "cut_lists")),
        _optional(st.sampled_from((0.5, 1.0, 0.25))),
        st.booleans() if mcp else st.just(False),
    )


def token_limits() -> SearchStrategy[TokenLimit]:
    """The answer cut at the token limit: half of its last part kept first (shrinks there),
    then less or more; the usage's token count left to the default (the recorded count
    scaled)."""
    return st.sampled_from((0.5, 0.1, 0.25, 0.75, 0.9)).map(lambda keep: TokenLimit(keep=keep))


def refusals() -> SearchStrategy[Refusal]:
    """The model declines: a refusal first, then the content filter, then an empty answer."""
    return st.sampled_from(("refusal", "content_filter", "empty_answer")).map(
        lambda kind: Refusal(kind=kind)
    )


# -- the catalogue --------------------------------------------------------------------------------
# One entry per registered fault, simplest first: one_of over these shrinks towards the top.
# Each takes the bounds and the route the fault will hit (None: any route).
FAULT_STRATEGIES: dict[str, Callable[[Limits, str | None], SearchStrategy[Fault]]] = {
    "http_error": lambda lim, route: http_errors(
        provider=route if route in ("openai", "anthropic") else None,
        max_retry_after_s=lim.max_retry_after_s,
    ),
    "timeout": lambda lim, route: timeouts(lim.max_delay_ms),
    "reset": lambda lim, route: resets(lim.max_event),
    "latency": lambda lim, route: latencies(lim.max_delay_ms),
    "slow_first_token": lambda lim, route: slow_first_tokens(lim.max_delay_ms),
    "stall": lambda lim, route: stalls(lim.max_delay_ms, lim.max_event),
    "malformed_body": lambda lim, route: malformed_bodies(),
    "broken_sse": lambda lim, route: broken_sse(lim.max_event),
    "tool_call": lambda lim, route: tool_call_faults(),
    "schema_drift": lambda lim, route: random_schema_drifts(),
    "partial_tool_data": lambda lim, route: random_partial_tool_data(),
    "token_limit": lambda lim, route: token_limits(),
    "refusal": lambda lim, route: refusals(),
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
            raise FaultkitError(
                f"no strategy for fault {item!r}; use one of: {known} (or pass a strategy)"
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
