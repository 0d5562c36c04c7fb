"""The conformance matrix: every bundled scenario x every bundled cassette, through both doors.

Issue 14 asks that "the same scenario and cassette through either door give the same ledger
(timings aside) and the same verdict". This module holds what the tests need to check that:

- the cells (every file in ``scenarios/`` x every cassette in ``cassettes/`` and
  ``tests/cassettes-real/``);
- a client that sends a cassette's recorded requests with real clients (the official openai and
  anthropic SDKs for their providers, httpx for the tool and for Gemini), through either door;
- what is compared: the ledger entries without their timings, what the client got, and the
  verdict the real oracle gives for that.

Both doors get the same store settings (method + URI + body, ``repeat``, the JSON-RPC ``id``
ignored: the proxy's own defaults, :data:`~faultkit.cassettes.store.APP_MATCH_ON`), the same
cassette files in the same order, and timing scale 0, so only the door differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anthropic
import httpx
import httpx2
import openai
from anthropic.types import Message, MessageTokensCount, RawMessageStreamEvent
from anthropic.types.beta import BetaMessage, BetaRawMessageStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response as ResponsesResponse
from openai.types.responses import ResponseStreamEvent

from faultkit.cassettes.load import load_cassette
from faultkit.cassettes.model import Interaction
from faultkit.exchange import Request
from faultkit.formats.detect import detect_format
from faultkit.ledger import LedgerEntry
from faultkit.oracle import Contract, Result, Verdict, capture, judge
from faultkit.oracle.checks.exercised import scenario_rules
from faultkit.scenario import Scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
CASSETTES = sorted((REPO / "cassettes").rglob("*.yaml")) + sorted(
    (REPO / "tests" / "cassettes-real").glob("*.yaml")
)
# Door name (the proxy's upstream, the in-process transport's route) -> the real base URL.
UPSTREAMS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "orders": "http://orders.internal",
}
ROUTE_OF_HOST = {urlsplit(url).hostname: name for name, url in UPSTREAMS.items()}

# How long a client waits for data. The scenarios' own waits are not scaled by the timing
# scale (a 2.5 s latency, a 30 s tool timeout, a 60 s stall), so the client gives up first,
# as an app with its own timeout would. Long enough for a replayed answer on a busy machine.
READ_TIMEOUT_S = 1.0
TIMEOUT = httpx.Timeout(READ_TIMEOUT_S, connect=5.0, write=5.0, pool=5.0)
# The SDKs speak httpx2 (their default HTTP library); the tool client speaks httpx.
SDK_TIMEOUT = httpx2.Timeout(READ_TIMEOUT_S, connect=5.0, write=5.0, pool=5.0)

# Ledger fields left out of the comparison. Measured, not decided: when the request arrived,
# when the first byte and the end went out (ms since the door's clock origin); two runs through
# one door differ there too. And ``error``: diagnostic text, worded by each door (the in-process
# door knows a client's read timeout as such, the proxy only sees the client go); the ending
# that it explains is compared.
EXCLUDED_FIELDS = frozenset({"arrival_ms", "first_byte_ms", "end_ms", "error"})
# Left out only where the client dropped a LIVE answer unread (httpx's raise_for_status on a
# 404 before reading its body; an SDK retrying a 429): the proxy had forwarded the upstream's
# bytes into the socket, the in-process door never pulled them from the upstream. What a real
# socket took before the client left is buffering, i.e. timing. Replayed answers are compared
# whole: there the in-process door counts as sent what a socket would have taken at once.
# Detected, not listed: a live entry (no recording) the in-process door ended ``client_closed``
# while the proxy sent more bytes than the client read.
BUFFERED_FIELDS = frozenset({"ending", "bytes_sent"})


@dataclass(frozen=True)
class Clients:
    """One door's clients: what an app would hold. ``http`` speaks plain httpx to the routes
    with no SDK here: the tool, and Gemini (google-genai builds its request body from typed
    parameters, so a recorded body cannot be sent through it unchanged)."""

    openai: openai.OpenAI
    anthropic: anthropic.Anthropic
    http: dict[str, httpx.Client]
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request


@cache
def interactions(cassette: Path) -> list[Interaction]:
    return load_cassette(cassette).interactions


def route_of(url: str) -> str:
    return ROUTE_OF_HOST[urlsplit(url).hostname]


def response_types(route: str, path: str, params: dict[str, str]) -> tuple[str, Any, Any]:
    """For a provider request: the path relative to the SDK's base URL, the type its answer
    parses into, and the type of each streamed event, as the SDK's own methods use them."""
    if route == "openai":
        path = path.removeprefix("/v1")
        if path == "/responses":
            return path, ResponsesResponse, ResponseStreamEvent
        return path, ChatCompletion, ChatCompletionChunk
    if path.endswith("/count_tokens"):
        return path, MessageTokensCount, RawMessageStreamEvent
    if params.get("beta") == "true":
        return path, BetaMessage, BetaRawMessageStreamEvent
    return path, Message, RawMessageStreamEvent


def _sdk_call(clients: Clients, request: Request) -> Any:
    """Send one recorded provider request with the official SDK, the way the SDK's own
    ``create`` does (its ``post``, with the response type it parses into), and read the whole
    answer, every streamed event included."""
    route = route_of(request.url)
    parts = urlsplit(request.url)
    body = json.loads(request.body)
    stream = bool(body.get("stream"))
    params = dict(parse_qsl(parts.query))
    options: dict[str, Any] = {"headers": clients.headers}
    if params:
        options["params"] = params
    path, cast, event = response_types(route, parts.path, params)
    sdk: Any = clients.openai if route == "openai" else clients.anthropic
    stream_cls = (openai.Stream if route == "openai" else anthropic.Stream)[event]
    answer = sdk.post(
        path, body=body, cast_to=cast, stream=stream, stream_cls=stream_cls, options=options
    )
    if stream:
        return [e.model_dump(mode="json", warnings=False) for e in answer]
    return answer.model_dump(mode="json", warnings=False)


def _http_call(clients: Clients, request: Request) -> Any:
    """Send one recorded request with httpx and read its answer whole: JSON, or a stream's
    lines (an error status is raised, as an app that checks it would)."""
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    content_type = request.header("content-type") or "application/json"
    headers = {"content-type": content_type} if request.body else {}
    headers.update(clients.headers)
    client = clients.http[route_of(request.url)]
    with client.stream(
        request.method, target, content=request.body or None, headers=headers
    ) as response:
        response.raise_for_status()
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return [line for line in response.iter_lines() if line]
        return json.loads(response.read())


def send(clients: Clients, request: Request) -> Any:
    """Send ``request`` (its URL names the real service; the clients know the door) with the
    client an app would use for that route, and read the whole answer."""
    if route_of(request.url) in clients.http:
        return _http_call(clients, request)
    return _sdk_call(clients, request)


# The replayer never waits between requests, so the gap before a re-ask is however long the
# requests in between took: tens of ms, near the default 50 ms backoff bound, and on which side
# of it depends on the machine's load. A bound far above any gap it makes (its longest: a few
# read timeouts, or the SDKs' own backoff of at most 8 s) judges every re-ask after a failure
# as hurried, through either door alike.
CONTRACT = Contract(min_backoff_ms=30_000)


@dataclass
class Run:
    """What one door did for one cell: the client's view and the oracle's."""

    outcomes: list[tuple[str, Any]]  # per request: ("answer", value) or ("error", exc type)
    result: Result
    ledger: list[LedgerEntry]

    def verdict(self, scenario: Scenario | None) -> Verdict:
        rules = scenario_rules(scenario) if scenario is not None else None
        return judge(self.ledger, self.result, CONTRACT, scenario, rules=rules)


def replay(clients: Clients, requests: list[Request]) -> tuple[list[tuple[str, Any]], Result]:
    """The SUT: send ``requests`` in order (a cassette's, recorded order); every one is sent (a
    failure does not stop the next, so each cell covers the whole cassette). It returns the
    answers, or raises the first error the client got: that is what the oracle judges."""
    outcomes: list[tuple[str, Any]] = []
    errors: list[BaseException] = []

    def app() -> list[Any]:
        for request in requests:
            try:
                outcomes.append(("answer", send(clients, request)))
            except Exception as exc:  # what the client got is the outcome under test
                outcomes.append(("error", type(exc).__qualname__))
                errors.append(exc)
        if errors:
            raise errors[0]
        return [value for _, value in outcomes]

    return outcomes, capture(app)


def requests_of(cassette: Path) -> list[Request]:
    return [interaction.request for interaction in interactions(cassette)]


def facts(entry: LedgerEntry, left_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A ledger entry's fields but :data:`EXCLUDED_FIELDS` and ``left_out``."""
    data = entry.model_dump(mode="json")
    return {k: v for k, v in data.items() if k not in EXCLUDED_FIELDS | left_out}


def buffered(local: LedgerEntry, remote: LedgerEntry) -> bool:
    """The client left a live answer the proxy had already forwarded further than it was
    read (see :data:`BUFFERED_FIELDS`)."""
    return (
        local.recording is None
        and local.ending == "client_closed"
        and remote.bytes_sent > local.bytes_sent
    )


def verdict_facts(verdict: Verdict) -> dict[str, Any]:
    """What the oracle decided: the verdict and each finding's kind and ledger entries.
    Summaries and ``timings_ms`` carry measured gaps and durations, so they are left out."""
    return {
        "kind": verdict.kind,
        "expected": verdict.expected,
        "findings": [(f.kind, f.entry_ids) for f in verdict.findings],
    }


def differences(
    local: Run,
    remote: Run,
    scenario: Scenario | None,
    labels: tuple[str, str] = ("in-process", "in the proxy"),
    *,
    left_out: frozenset[str] = frozenset(),
    verdicts: bool = True,
) -> list[str]:
    """Every way ``remote``'s run differs from ``local``'s (by default the proxy's from the
    in-process door's), one line each: what the client got, each ledger entry's facts (but
    ``left_out``), the verdict (unless ``verdicts`` is False)."""
    ours, theirs = labels
    lines: list[str] = []
    if local.outcomes != remote.outcomes:
        lines.append(
            f"client got {_shown(local.outcomes)} {ours}, {_shown(remote.outcomes)} {theirs}"
        )
    if len(local.ledger) != len(remote.ledger):
        lines.append(
            f"ledger has {len(local.ledger)} entries {ours}, {len(remote.ledger)} {theirs}"
        )
    for mine, yours in zip(local.ledger, remote.ledger, strict=False):
        skipped = left_out | (BUFFERED_FIELDS if buffered(mine, yours) else frozenset())
        a, b = facts(mine, skipped), facts(yours, skipped)
        for name in sorted(a.keys() | b.keys()):
            if a.get(name) != b.get(name):
                lines.append(
                    f"entry #{mine.id} {name}: {_short(a.get(name))} {ours}, "
                    f"{_short(b.get(name))} {theirs}"
                )
    if not verdicts:
        return lines
    left, right = verdict_facts(local.verdict(scenario)), verdict_facts(remote.verdict(scenario))
    if left != right:
        lines.append(f"verdict {left} {ours}, {right} {theirs}")
    return lines


def _shown(outcomes: list[tuple[str, Any]]) -> str:
    return "[" + ", ".join(v if k == "error" else "answer" for k, v in outcomes) + "]"


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# -- which cells run by default ---------------------------------------------------------------

WAIT_PARAMS = ("latency_ms", "delay_ms", "stall_ms", "timeout_ms")


def waits_out_client(scenario: Scenario) -> bool:
    """Whether the scenario holds answers back longer than the client's read timeout: each
    exchange it fires on then costs the client that timeout (the waits are not scaled)."""
    for rule in scenario.rules:
        params = rule.fault.params()
        if any((params.get(name) or 0) >= READ_TIMEOUT_S * 1000 for name in WAIT_PARAMS):
            return True
    return False


def shape(cassette: Path) -> set[tuple[str, str, bool, int]]:
    """What a cassette exercises: per interaction, its route, wire format, whether the answer
    streams, and its status class."""
    found = set()
    for interaction in interactions(cassette):
        response = interaction.response
        fmt = detect_format(interaction.request, response.content_type).value
        found.add(
            (route_of(interaction.request.url), fmt, response.is_sse, response.head.status // 100)
        )
    return found


def representative(cassettes: list[Path]) -> list[Path]:
    """The fewest cassettes (greedy, in order) that together show every shape any of them
    shows: the default set for a scenario that makes the client wait out its timeout."""
    seen: set[tuple[str, str, bool, int]] = set()
    chosen = []
    for cassette in cassettes:
        new = shape(cassette) - seen
        if new:
            chosen.append(cassette)
            seen |= new
    return chosen
