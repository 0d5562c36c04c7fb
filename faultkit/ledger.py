"""The ledger: one entry per request through any door, the evidence every verdict rests on.

An entry says which route and logical call a request belonged to and which attempt it was, which
recording answered it, which faults were applied with their parameters and the values they
removed or altered, when it arrived, when the first byte and the end went out, and how it ended.
Doors fill in timings; the engine fills in everything else. Thread-safe, because the in-process
door serves sync clients from many threads and the proxy serves many connections.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from faultkit.faults import FAILURE_FAULTS, TIMING_FAULTS, USABLE_FAULTS
from faultkit.faults.base import Alteration
from faultkit.formats.detect import PROVIDER_FORMATS, WireFormat
from faultkit.formats.usage import TokenUsage
from faultkit.scrub import scrub_text, scrub_url

Ending = Literal["completed", "reset", "timeout", "client_closed", "unmatched", "error", "pending"]


class AppliedFault(BaseModel):
    rule: str
    type: str
    params: dict[str, Any]
    alterations: list[Alteration] = Field(default_factory=list)


class SkippedFault(BaseModel):
    rule: str
    type: str
    reason: str


@dataclass(slots=True)
class LedgerEntry:
    """One exchange. A plain dataclass, read and written by pydantic (:meth:`model_validate`,
    :meth:`model_dump`, and as a field of pydantic models): the proxy opens one per request
    and updates it as the answer goes out, and a validated model's ``__init__`` and
    ``__setattr__`` cost more per request than the rest of the ledger (callgrind). Its first
    eight fields may be passed by position (:meth:`Ledger.open` does: matching a dozen
    keywords against thirty parameters was a seventieth of a proxied request's CPU)."""

    id: int
    route: str
    method: str
    url: str
    format: str
    model: str | None = None
    tool: str | None = None
    body_hash: str = ""
    logical_call: int = field(kw_only=True)
    attempt: int = field(kw_only=True)
    recording: str | None = None
    faults: list[AppliedFault] = field(default_factory=list)
    skipped: list[SkippedFault] = field(default_factory=list)
    status: int | None = None
    retry_after_ms: float | None = None
    # What an error answer said about retrying: ``x-should-retry`` (head) and the provider's
    # ``error.code`` / ``error.type`` (body, e.g. insufficient_quota), recorded or injected alike.
    should_retry: bool | None = None
    error_code: str | None = None
    # What the answer reported it cost (provider answers; None when it said nothing, as a
    # Chat stream without include_usage), and the tools it asked to call next, by name: what
    # budget_exceeded adds up and a contract's tools map is derived from.
    usage: TokenUsage | None = None
    tool_calls: list[str] = field(default_factory=list)
    # The request's Idempotency-Key (or X-Idempotency-Key), scrubbed: with it a tool can
    # tell a repeated request from a new one (duplicate_side_effect).
    idempotency_key: str | None = None
    # An MCP tools/call's name and arguments, hashed without its JSON-RPC id (which a retry
    # changes): how a repeated call is found when its body is not byte-identical.
    call_key: str | None = None
    arrival_ms: float = field(kw_only=True)
    first_byte_ms: float | None = None
    end_ms: float | None = None
    bytes_sent: int = 0
    ending: Ending = "pending"
    error: str | None = None

    @classmethod
    def model_validate(cls, data: Any) -> LedgerEntry:
        """An entry from its JSON form (``GET /faultkit/ledger``), validated."""
        return _ENTRY.validate_python(data)

    def model_dump(self, *, mode: Literal["json", "python"] = "python") -> dict[str, Any]:
        return _ENTRY.dump_python(self, mode=mode)


_ENTRY = TypeAdapter(LedgerEntry)

# -- what an exchange delivered: the one definition the ledger and the oracle share ------------

# Which faults leave no usable answer (FAILURE_FAULTS) and which only change timing
# (TIMING_FAULTS) is declared by each fault module (its ``category``).
FAILED_ENDINGS = frozenset({"reset", "timeout", "client_closed", "error", "unmatched"})
_MCP = WireFormat.mcp.value


def mcp_is_error(entry: LedgerEntry) -> bool:
    """A fault made an MCP tool result an error (``result.isError: true``)."""
    # Only what a fault actually did counts: `is_error: true` on a plain JSON tool sets nothing.
    for fault in entry.faults:
        for alt in fault.alterations:
            if alt.path.replace("]", "").endswith("isError") and alt.value is True:
                return True
    return entry.format == _MCP and entry.error == "isError"


def failure_reason(entry: LedgerEntry) -> str | None:
    """Why ``entry`` did not deliver a usable answer, or None when it did."""
    if entry.status is not None and entry.status >= 400:
        return f"HTTP {entry.status}"
    if entry.ending in FAILED_ENDINGS:
        return f"ended by {entry.ending}" + (f" ({entry.error})" if entry.error else "")
    for fault in entry.faults:
        if fault.type in FAILURE_FAULTS:
            return f"{fault.type} fault"
        if cut_short(fault):
            return f"{fault.type} fault cut the answer short"
    if mcp_is_error(entry):
        return "MCP tool result isError"
    return None


def cut_short(fault: AppliedFault) -> bool:
    """Whether a timing fault also took the rest of the answer away (a stall that ends in a
    close or a reset): the client got a cut answer even if the exchange ended "completed"."""
    return fault.type in TIMING_FAULTS and any(a.action == "removed" for a in fault.alterations)


def degradation(entry: LedgerEntry) -> str | None:
    """Why ``entry``'s answer could not be trusted: a failure, or a fault that changed its
    meaning (schema drift, partial tool data, a broken tool call, an answer cut at the token
    limit, a refusal or an empty answer). Asking again after either is a retry; a fallback
    after either is a controlled reaction. Every fault but a timing one counts, so a new
    meaning fault is known here without a list to keep up, except one whose answer a client
    may act on (``USABLE_FAULTS``: a repeated tool call is run, and its result sent back is
    the next step)."""
    reason = failure_reason(entry)
    if reason is not None:
        return reason
    for fault in entry.faults:
        if fault.type not in TIMING_FAULTS and fault.type not in USABLE_FAULTS:
            return f"{fault.type} fault"
    return None


def _retry_source(entry: LedgerEntry) -> bool:
    """Can a request arriving now be a retry of ``entry``? Only once it has ended (while it is
    being answered an identical request is another user's) and if its answer was unusable."""
    return entry.ending != "pending" and degradation(entry) is not None


# -- what a provider request asked: the conversation a re-ask extends ---------------------------

# (role or item type, its text, everything else about the turn as canonical JSON)
Turn = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Conversation:
    """A provider request's conversation: its instructions (system and developer prompts,
    Anthropic ``system``, Responses ``instructions``) apart from its turns, so a re-ask that
    tightens the instructions still shows the same turns."""

    system: str
    turns: tuple[Turn, ...]


def conversation_of(fmt: str, body: bytes) -> Conversation | None:
    """The conversation of a provider request body in ``fmt``, or None when it has none."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    system: list[str] = []
    if fmt == "anthropic_messages":
        system.append(_text(data.get("system")))
        items = data.get("messages")
    elif fmt == "openai_responses":
        system.append(_text(data.get("instructions")))
        items = data.get("input")
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
    elif fmt == "gemini":  # ``contents`` of ``{role, parts}``; ``systemInstruction.parts``
        instruction = data.get("systemInstruction")
        if isinstance(instruction, dict):
            system.append(_text(instruction.get("parts")))
        items = data.get("contents")
        if isinstance(items, list):
            items = [
                {"content": i.get("parts"), **{k: v for k, v in i.items() if k != "parts"}}
                if isinstance(i, dict)
                else i
                for i in items
            ]
    else:
        items = data.get("messages")
    if not isinstance(items, list):
        return None
    turns: list[Turn] = []
    for item in items:
        if not isinstance(item, dict):
            turns.append(("", _canonical(item), ""))
        elif item.get("role") in ("system", "developer"):
            system.append(_text(item.get("content")))
        else:
            role = item.get("role") or item.get("type") or ""
            rest = {k: v for k, v in item.items() if k not in _TURN_KEYS}
            turns.append((str(role), _text(item.get("content")), _canonical(rest)))
    return Conversation("\n".join(s for s in system if s), tuple(turns))


_TURN_KEYS = frozenset({"role", "type", "content", "cache_control"})


def _text(content: Any) -> str:
    """A turn's content as one string: its text when it is text (a string, or parts that all
    carry ``text``), else canonical JSON. Cache markers are left out: apps move them to the
    newest turn, and a moved marker does not change what was asked."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and isinstance(p.get("text"), str) for p in content
    ):
        return "".join(p["text"] for p in content)
    if isinstance(content, list):
        content = [
            {k: v for k, v in p.items() if k != "cache_control"} if isinstance(p, dict) else p
            for p in content
        ]
    return _canonical(content)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def reasks(previous: Conversation, new: Conversation) -> bool:
    """Does ``new`` ask ``previous``'s question again? It does when it extends it (the earlier
    turns unchanged, with the bad answer and/or a correction appended), or repeats it with the
    same earlier turns and a tightened instruction: a changed system prompt, or a last turn
    rewritten around the same request (one contains the other, or most of it is the same)."""
    old, turns = previous.turns, new.turns
    if not old:
        return False
    if len(turns) > len(old):
        return turns[: len(old)] == old
    if len(turns) != len(old) or turns[:-1] != old[:-1]:
        return False
    return turns[-1] == old[-1] or _rewritten(old[-1], turns[-1])


# How alike a rewritten last turn must be to its original (difflib's ratio), and how much of
# each is compared: enough for a prompt, bounded so a huge context stays cheap.
SIMILAR_RATIO = 0.6
SIMILAR_CHARS = 4000


def _rewritten(old: Turn, new: Turn) -> bool:
    if old[0] != new[0]:
        return False
    a, b = old[1].strip(), new[1].strip()
    if len(a) >= 8 and len(b) >= 8 and (a in b or b in a):
        return True
    matcher = difflib.SequenceMatcher(None, a[:SIMILAR_CHARS], b[:SIMILAR_CHARS])
    # quick_ratio bounds ratio from above and costs a fraction of it.
    return matcher.quick_ratio() >= SIMILAR_RATIO and matcher.ratio() >= SIMILAR_RATIO


# -- the ledger ----------------------------------------------------------------------------------

# What an entry keeps of a URL: the evidence needs the host, the path and the start of the
# query (the oracle reads the path's segments and the query's values as given inputs); a
# request can carry up to 64 KiB of URL, and 100,000 of those were gigabytes.
MAX_URL_CHARS = 2048


def compact_url(url: str) -> str:
    """``url`` whole up to ``MAX_URL_CHARS``; longer ones cut there, saying how much went.
    The request's hash (retry matching) is taken from the whole URL before this."""
    if len(url) <= MAX_URL_CHARS:
        return url
    return f"{url[:MAX_URL_CHARS]}...[{len(url) - MAX_URL_CHARS} more chars]"


# Bytes an entry takes beyond its strings: the dataclass, its index entries and the hash,
# measured with tracemalloc (about 1 KB for a plain entry with a short URL); a fault adds its
# model, its parameters and each alteration's values.
ENTRY_BYTES = 900
FAULT_BYTES = 700
ALTERATION_BYTES = 400


def _entry_bytes(entry: LedgerEntry) -> int:
    size = ENTRY_BYTES + len(entry.url) + len(entry.error or "")
    for fault in entry.faults:
        size += FAULT_BYTES + 16 * len(fault.params)
        for alt in fault.alterations:
            size += ALTERATION_BYTES + len(str(alt.original)) + len(str(alt.value))
    return size


class ByteBudget:
    """Bytes the ledgers of one process share (the proxy's contexts, one ledger each): a
    ledger over the shared limit drops its own oldest entries, keeping its newest, so the
    total stays within ``limit`` plus one entry per ledger. Estimates, not exact counts; what
    they bound is growth."""

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 byte (or None for no limit)")
        self.limit = limit
        self.used = 0


# Unusable answers per route kept for matching re-asks against; more conversations waiting to
# be asked again than this on one route are matched among the most recent only.
REASK_WINDOW = 8
_UNPARSED: Any = object()


@dataclass(slots=True)
class _Tail:
    """The latest attempt of a provider call, ended unusable, with its body (a reference, not a
    copy) and, once a re-ask was matched against it, its parsed conversation."""

    entry: LedgerEntry
    body: bytes
    conversation: Conversation | None = _UNPARSED

    def parsed(self) -> Conversation | None:
        if self.conversation is _UNPARSED:
            self.conversation = conversation_of(self.entry.format, self.body)
        return self.conversation


class Ledger:
    """Append-only list of entries, with logical-call and attempt bookkeeping per route.

    A logical call is one request as the app meant it; its attempts are what the app (or its
    SDK, or its framework) sent to get it answered. What is observable decides, not one SDK's
    header; a request is the next attempt of an earlier one on the same route when:

    * it is the identical request (method, URL, body) and the earlier copy ended unusable:
      failed (an error status, a reset, a timeout) or degraded by a fault that changed its
      meaning (:func:`degradation`), whatever ``x-stainless-retry-count`` says. An app that
      retries in its own loop with ``max_retries=0`` sends ``0`` every time;
    * it carries ``x-stainless-retry-count: N`` with N > 0 (the SDK says it is a retry);
    * it is a re-ask of a provider call (same model) whose answer was unusable: the same
      conversation extended with the bad answer and/or a correction, or repeated with a
      tightened instruction (:func:`reasks`), as pydantic-ai and instructor do.

    Only the latest attempt of a logical call can be retried, so an agent loop that moved on
    after a re-ask succeeded starts new calls. The identical request after a success, or while
    the earlier copy is still being answered, is a new logical call: under load many users send
    identical requests, and none of them is a retry. A normal agent step (the previous answer
    healthy, a tool result appended) is a new logical call too, and so is the step after an
    unusable answer whose tool calls the app ran anyway (a tool request came after it).

    The cost per request stays a hash and a few dict operations: a provider request's body is
    held (not copied) until it is answered, kept only if the answer was unusable, and parsed
    only to match a re-ask while such an answer on that route is waiting to be asked again.

    ``max_entries`` and ``budget`` bound a long-running ledger (a proxy under load) in entries
    and in bytes (see :class:`ByteBudget`): past either the oldest entries are dropped as new
    ones arrive, and :attr:`dropped` counts them. Ids keep counting, so an id always names the
    same exchange. None (the default) keeps every entry. An entry keeps at most
    ``MAX_URL_CHARS`` of its URL (:func:`compact_url`).
    """

    def __init__(self, max_entries: int | None = None, *, budget: ByteBudget | None = None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError("max_entries must be at least 1 (or None for no limit)")
        self.max_entries = max_entries
        self.budget = budget
        self._lock = threading.Lock()
        self._entries: deque[LedgerEntry] = deque()
        self._sizes: deque[int] = deque()  # each entry's estimated bytes, with a budget
        self._bytes = 0
        self._dropped = 0
        # (route, request hash) -> the latest entry for that exact request
        self._by_digest: dict[tuple[str, str], LedgerEntry] = {}
        # (route, logical call) -> its latest attempt
        self._latest: dict[tuple[str, int], LedgerEntry] = {}
        # provider requests being answered: id -> body, kept in case the answer is unusable
        self._asked: dict[int, bytes] = {}
        # route -> logical call -> its latest attempt, ended unusable: what a re-ask may repeat
        self._unusable: dict[str, dict[int, _Tail]] = {}
        self._logical: dict[str, int] = {}
        # id of the latest tool (non-provider) request: the app acted on every answer before it
        self._last_tool_id = 0

    def open(
        self,
        *,
        route: str,
        method: str,
        url: str,
        fmt: str,
        model: str | None,
        body: bytes,
        tool: str | None = None,
        retry_count: str | None,
        arrival_ms: float,
        idempotency_key: str | None = None,
    ) -> LedgerEntry:
        digest = hashlib.blake2b(method.encode() + url.encode() + body, digest_size=12).hexdigest()
        sdk_retry = int(retry_count) if retry_count is not None and retry_count.isdigit() else 0
        with self._lock:
            origin = self._by_digest.get((route, digest))
            if (
                origin is not None
                and not sdk_retry
                and not (
                    self._latest.get((route, origin.logical_call)) is origin
                    and _retry_source(origin)
                )
            ):
                origin = None
            if fmt not in PROVIDER_FORMATS:
                if self._unusable:
                    self._acted_on()
                self._last_tool_id = self._dropped + len(self._entries) + 1
            unusable = self._unusable.get(route)
            if origin is None and unusable and fmt in PROVIDER_FORMATS:
                origin = self._reasked(route, unusable, fmt, model, body)
            if origin is not None:
                logical = origin.logical_call
                attempt = max(origin.attempt + 1, sdk_retry + 1)
                if unusable:
                    unusable.pop(logical, None)  # asked again: the call has moved on
            else:
                logical = self._logical.get(route, 0) + 1
                self._logical[route] = logical
                attempt = 1
            entry = LedgerEntry(  # id, route, method, url, format, model, tool, body_hash
                self._dropped + len(self._entries) + 1,
                route,
                method,
                # Shown by GET /faultkit/ledger and in every report: scrubbed, then bounded.
                compact_url(scrub_url(url)),
                fmt,
                model,
                tool,
                digest,
                idempotency_key=scrub_text(idempotency_key) if idempotency_key else None,
                logical_call=logical,
                attempt=attempt,
                arrival_ms=arrival_ms,
            )
            self._entries.append(entry)
            self._by_digest[(route, digest)] = entry
            self._latest[(route, logical)] = entry
            if fmt in PROVIDER_FORMATS:
                self._asked[entry.id] = body
            if self.budget is not None:
                self._charge(entry, None, _entry_bytes(entry))
            if self.max_entries is not None and len(self._entries) > self.max_entries:
                self._drop_oldest()
            return entry

    def _charge(self, entry: LedgerEntry, index: int | None, size: int) -> None:
        """Count a new entry's ``size`` in bytes (``index`` None), or re-count the entry at
        ``index`` once it ended (with its faults and error); then drop the oldest entries
        while the shared budget is over its limit."""
        budget = self.budget
        assert budget is not None
        if index is None:
            self._sizes.append(size)
            delta = size
        else:
            delta = size - self._sizes[index]
            self._sizes[index] = size
        self._bytes += delta
        budget.used += delta
        if budget.limit is not None:
            while budget.used > budget.limit and len(self._entries) > 1:
                self._drop_oldest()

    def _acted_on(self) -> None:
        """A tool request is arriving: the app ran the tool calls of the answers it had, so an
        unusable answer that asked for tool calls was acted on, not rejected, and the request
        that carries their results is the next step, not a re-ask of it. An answer still being
        finished when the tool request arrives is held to the same rule when it ends
        (:meth:`_remember_unusable`): which comes first depends on a door's timing, and the
        ledger must not. (A schema drift in an
        answer's envelope leaves its tool call usable; a broken tool call is never run, so its
        re-ask comes with no tool request before it.)"""
        for unusable in self._unusable.values():
            for logical in [k for k, tail in unusable.items() if tail.entry.tool_calls]:
                del unusable[logical]

    def _reasked(
        self,
        route: str,
        unusable: dict[int, _Tail],
        fmt: str,
        model: str | None,
        body: bytes,
    ) -> LedgerEntry | None:
        """The unusable answer this request asks for again (the newest first), or None."""
        asked: Conversation | None = _UNPARSED
        for tail in reversed(list(unusable.values())):
            entry = tail.entry
            if entry.model != model or entry.format != fmt:
                continue
            if asked is _UNPARSED:
                asked = conversation_of(fmt, body)
                if asked is None:
                    return None
            previous = tail.parsed()
            if previous is not None and reasks(previous, asked):
                return entry
        return None

    def _drop_oldest(self) -> None:
        old = self._entries.popleft()
        self._dropped += 1
        if self._sizes:
            size = self._sizes.popleft()
            self._bytes -= size
            if self.budget is not None:
                self.budget.used -= size
        key = (old.route, old.body_hash)
        if self._by_digest.get(key) is old:
            del self._by_digest[key]
        call = (old.route, old.logical_call)
        if self._latest.get(call) is old:
            del self._latest[call]
            unusable = self._unusable.get(old.route)
            if unusable is not None:
                unusable.pop(old.logical_call, None)
        self._asked.pop(old.id, None)

    def _index(self, entry_id: int) -> int:
        """Position of ``entry_id`` in the deque; IndexError when dropped or unknown."""
        index = entry_id - 1 - self._dropped
        if index < 0 or index >= len(self._entries):
            raise IndexError(f"ledger entry {entry_id} is not (or no longer) in the ledger")
        return index

    def finish(
        self,
        entry_id: int,
        *,
        ending: Ending,
        end_ms: float,
        first_byte_ms: float | None = None,
        bytes_sent: int | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            index = entry_id - 1 - self._dropped
            if index < 0 or index >= len(self._entries):
                return  # dropped (bounded ledger) or forgotten (reset) while answered
            entry = self._entries[index]
            entry.ending = ending
            entry.end_ms = end_ms
            if first_byte_ms is not None:
                entry.first_byte_ms = first_byte_ms
            if bytes_sent is not None:
                entry.bytes_sent = bytes_sent
            if error is not None:
                entry.error = scrub_text(error)  # an upstream's message may quote a key
            body = self._asked.pop(entry_id, None)
            if body is not None and degradation(entry) is not None:
                self._remember_unusable(entry, body)
            if self.budget is not None and (entry.faults or entry.error):
                # Only faults and an error make an entry bigger than when it was opened.
                self._charge(entry, index, _entry_bytes(entry))

    def _remember_unusable(self, entry: LedgerEntry, body: bytes) -> None:
        """Keep a provider call's unusable answer, should the app ask it again."""
        if self._latest.get((entry.route, entry.logical_call)) is not entry:
            return  # a later attempt is already under way
        if entry.tool_calls and self._last_tool_id > entry.id:
            return  # a tool request came while it was being answered: acted on (_acted_on)
        unusable = self._unusable.setdefault(entry.route, {})
        unusable[entry.logical_call] = _Tail(entry, body)
        if len(unusable) > REASK_WINDOW:
            del unusable[next(iter(unusable))]

    @property
    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._entries)

    def get(self, entry_id: int) -> LedgerEntry:
        with self._lock:
            return self._entries[self._index(entry_id)]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def dropped(self) -> int:
        """Entries dropped to stay within ``max_entries`` (the oldest first)."""
        return self._dropped

    def faults_applied(self) -> list[tuple[LedgerEntry, AppliedFault]]:
        return [(e, f) for e in self.entries for f in e.faults]

    def to_json(self) -> list[dict[str, Any]]:
        return [e.model_dump(mode="json") for e in self.entries]

    def reset(self) -> None:
        """Forget every entry (and give their bytes back to the budget)."""
        with self._lock:
            if self.budget is not None:
                self.budget.used -= self._bytes
            self._bytes = 0
            self._sizes.clear()
            self._entries.clear()
            self._dropped = 0
            self._by_digest.clear()
            self._latest.clear()
            self._asked.clear()
            self._unusable.clear()
            self._last_tool_id = 0
            self._logical.clear()
