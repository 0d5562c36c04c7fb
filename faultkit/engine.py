"""The engine: request in, plan out, ledger entry written. Pure and seeded.

Doors call it in two steps so that no I/O ever happens inside:

1. ``select(request, route, now_ms)`` counts the call for every matching rule, decides which
   faults fire (randomness from an RNG derived from scenario seed, rule and call index), and
   opens a ledger entry. It says whether a source response is needed at all (an injected 429
   needs none).
2. ``plan(selection, response)`` takes the source response (the door fetched it upstream, or
   passes None to replay from the cassette store), applies the faults in rule order and returns
   the plan the door executes. For a live upstream answer (pass-through or record mode) with
   faults firing, ``live(selection, head)`` is step 2 instead: a lazy plan the door feeds the
   body to as it arrives, so stream faults act on the real timing (:mod:`faultkit.live`).

The same seed and the same requests give byte-identical plans; that is what makes a failing
chaos run reproducible with one command.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from faultkit.cassettes.store import TOOL_RESULT_FIELDS
from faultkit.config import RouteAliases, project_routes, project_scrub_patterns
from faultkit.errors import UnmatchedRequest
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.faults import MEANING_FAULTS
from faultkit.faults.base import Alteration, Fault, FaultContext
from faultkit.faults.injection import planted_calls
from faultkit.formats.detect import (
    PROVIDER_FORMATS,
    WireFormat,
    detect_format,
    idempotency_key,
    request_model,
    request_tool,
)
from faultkit.formats.errors import error_code, should_retry_header
from faultkit.formats.mcp import call_key as mcp_call_key
from faultkit.formats.usage import USAGE_FORMATS, AnswerReader, read_answer
from faultkit.ledger import AppliedFault, Ledger, LedgerEntry, SkippedFault, conversation_of
from faultkit.live import LivePlan
from faultkit.otel.hook import fault_applied
from faultkit.plan import DEFAULT_TIMING_SCALE, Plan
from faultkit.scenario import Rule, Scenario
from faultkit.scrub import scrub_at

PLAN_CACHE_SIZE = 1024  # recordings whose replay plan is kept


class Recording(Protocol):
    """What a cassette store returns for a matched request."""

    @property
    def response(self) -> Response: ...

    @property
    def source(self) -> str: ...


class Source(Protocol):
    """Where replayed responses come from (a cassette store)."""

    def match(self, request: Request) -> Recording: ...


def retry_after_ms(head: ResponseHead) -> float | None:
    """The delay a response asks the client to wait before retrying, in ms, read the way the
    OpenAI and Anthropic SDKs read it: ``retry-after-ms`` first, then ``retry-after`` seconds.
    (An HTTP-date ``retry-after`` would need the wall clock; the engine has none, so it is None.)"""
    for name, scale in (("retry-after-ms", 1.0), ("retry-after", 1000.0)):
        value = head.header(name)
        if value is None:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if number > 0:
            return number * scale
    return None


class HeadView(Protocol):
    """A response head as the ledger reads it: a :class:`ResponseHead`, or the proxy's raw
    upstream head, which answers these without building one."""

    @property
    def status(self) -> int: ...

    def header(self, name: str) -> str | None: ...


def note_head(entry: LedgerEntry, head: HeadView) -> None:
    """The facts a response head gives the ledger, for every head: planned here, or live in
    a door (:func:`faultkit.doors.flow.note_response_head`), so the doors cannot drift apart."""
    entry.status = head.status
    entry.retry_after_ms = retry_after_ms(head)  # type: ignore[arg-type]  # reads only .header()
    if head.status >= 400:
        entry.should_retry = should_retry_header(head.header("x-should-retry"))


def note_answer(entry: LedgerEntry, reader: AnswerReader) -> None:
    """The facts a provider answer gives the ledger once it has passed: its token usage and
    the tools it asked for. The engine calls this for every answer it plans; a door that
    streams a live answer feeds each event to an :class:`AnswerReader` (``AnswerReader(
    entry.format)``) and calls this at the end, so every door records the same facts."""
    entry.usage = reader.usage
    entry.tool_calls = reader.tool_calls()


def _plan_answer(plan: Plan, fmt: str) -> AnswerReader:
    if plan.is_sse:
        return read_answer(fmt, events=plan.events())
    return read_answer(fmt, plan.body_bytes())


@dataclass(frozen=True)
class _Synthetic:
    """A recording faultkit makes up: for a request that only a fault made the app send."""

    response: Response
    source: str


def derive_rng(seed: int, *parts: object) -> random.Random:
    """An RNG determined only by ``seed`` and ``parts``, identical across processes."""
    key = ":".join([str(seed), *map(str, parts)]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


@dataclass
class Firing:
    label: str
    fault: Fault
    call_index: int


@dataclass(slots=True)
class Selection:
    request: Request
    route: str
    entry: LedgerEntry
    firings: list[Firing] = field(default_factory=list)
    wall_s: float | None = None  # Unix time of arrival, when the door gave it

    @property
    def needs_source(self) -> bool:
        """False when the first firing fault answers on its own, so nothing is fetched."""
        return not self.firings or self.firings[0].fault.needs_source


def _scrubbed(alterations: list[Alteration]) -> list[Alteration]:
    """Alterations as the ledger keeps them: a removed ``api_key`` is evidence of *what* a
    fault did, never a copy of the key (the ledger is served over HTTP and put in reports).
    A secret a SUT echoes is then not found by ``unknown_as_known``; that is the price."""
    out = []
    for alt in alterations:
        original = scrub_at(alt.path, alt.original)
        value = scrub_at(alt.path, alt.value)
        if original is not alt.original or value is not alt.value:
            alt = alt.model_copy(update={"original": original, "value": value})
        out.append(alt)
    return out


class Engine:
    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        source: Source | None = None,
        seed: int | None = None,
        timing_scale: float = DEFAULT_TIMING_SCALE,
        routes: RouteAliases | None = None,
    ) -> None:
        """``routes``: the route aliases rules may name (``route: weather``); by default the
        ``[routes]`` table of the project in the working directory, read once per process,
        so every door (proxy, pytest, ``faultkit run``) resolves a scenario the same way."""
        self.scenario = scenario or Scenario(name="inline")
        self.routes: RouteAliases = project_routes() if routes is None else routes
        project_scrub_patterns()  # the project's own secrets, before anything is recorded
        self.seed = self.scenario.seed if seed is None else seed
        self.source = source
        self.timing_scale = timing_scale
        self.ledger = Ledger()
        self._rules: list[Rule] = list(self.scenario.rules)
        self._labels: list[str] = [self.scenario.rule_label(i) for i in range(len(self._rules))]
        self._counts: list[int] = [0] * len(self._rules)
        self._first_ms: float | None = None
        self._lock = threading.Lock()
        self._plans: dict[int, tuple[Response, Plan]] = {}
        self._answers: dict[int, tuple[Plan, AnswerReader]] = {}
        # (route, logical call) -> the entry and the recording that last answered it, so a
        # re-ask the cassette never saw can be answered as the model answered the call before.
        self._answered: dict[tuple[str, int], tuple[LedgerEntry, Recording]] = {}
        # route -> the latest provider exchange whose answer a usable-answer fault changed,
        # its recording and its request body: what a continued conversation is answered by.
        self._changed: dict[str, tuple[LedgerEntry, Recording, bytes]] = {}

    # -- rules ----------------------------------------------------------------------------
    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    def add_rule(self, rule: Rule) -> str:
        """Add a rule at runtime (inline injection from a test); returns its label."""
        with self._lock:
            self._rules.append(rule)
            label = rule.name or f"inline-{len(self._rules)}"
            self._labels.append(label)
            self._counts.append(0)
            return label

    def continue_from(self, old: Engine) -> None:
        """Carry on where ``old`` (the same context with other rules) left off: its ledger,
        clock origin and answers, and the call counts of the rules that keep their label. The
        proxy rebuilds engines when a toxic is added or removed; a scenario's ``nth``/``every``
        counting must not start again because of it, as a Toxiproxy user would not expect."""
        with old._lock:
            counts = dict(zip(old._labels, old._counts, strict=True))
            first_ms, answered = old._first_ms, dict(old._answered)
            changed = dict(old._changed)
        with self._lock:
            self.ledger = old.ledger
            self._first_ms = first_ms
            self._answered = answered
            self._changed = changed
            self._counts = [counts.get(label, 0) for label in self._labels]

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()
            self._labels.clear()
            self._counts.clear()

    # -- step 1 ---------------------------------------------------------------------------
    def select(
        self, request: Request, route: str, now_ms: float, wall_s: float | None = None
    ) -> Selection:
        fmt = detect_format(request)
        entry = self.ledger.open(
            route=route,
            method=request.method,
            url=request.url,
            fmt=fmt._value_,  # ``.value`` is a descriptor: three times the cost, per request
            model=request_model(request),
            tool=request_tool(request, fmt),
            body=request.body,
            retry_count=request.header_index.get("x-stainless-retry-count"),
            arrival_ms=now_ms,
            idempotency_key=idempotency_key(request),
        )
        if fmt == WireFormat.mcp:
            entry.call_key = mcp_call_key(request.json_body)
        firings: list[Firing] = []
        if not self._rules and self._first_ms is not None:
            # Nothing to count (pass-through, replay without a scenario): no lock to take.
            return Selection(request, route, entry, firings, wall_s)
        with self._lock:
            if self._first_ms is None:
                self._first_ms = now_ms
            elapsed = now_ms - self._first_ms
            for i, rule in enumerate(self._rules):
                if not rule.match.matches(request, route, self.routes):
                    continue
                self._counts[i] += 1
                call = self._counts[i]
                if not rule.when.selects(call, elapsed):
                    continue
                if rule.when.probability < 1.0:
                    draw = derive_rng(self.seed, self._labels[i], call, "when").random()
                    if draw >= rule.when.probability:
                        continue
                firings.append(Firing(self._labels[i], rule.fault, call))
        return Selection(request, route, entry, firings, wall_s)

    # -- step 2 ---------------------------------------------------------------------------
    def plan(self, selection: Selection, response: Response | None = None) -> Plan:
        """The plan for ``selection``. With ``response`` None, replay from the source (or, when
        the first fault needs no source, start from an empty plan it will replace)."""
        request = selection.request
        entry = selection.entry
        recorded = False
        if response is None and selection.needs_source:
            if self.source is None:
                raise UnmatchedRequest(request.method, request.url, [], "no cassette loaded")
            try:
                recording = self.source.match(request)
                entry.recording = recording.source
            except UnmatchedRequest as exc:
                earlier = self._reask_answer(entry)
                how = "re-ask of"
                if earlier is None:
                    earlier = self._continued_answer(entry, request)
                    how = "continues the conversation a fault changed in"
                if earlier is None:
                    earlier = self._planted_call_answer(entry)
                    how = "runs the tool call a fault planted in"
                if earlier is None:
                    earlier = self._tolerant_answer(entry, request)
                    how = "matched leaving out tool results a fault changed, in"
                if earlier is None:
                    entry.ending = "unmatched"
                    entry.error = str(exc)
                    raise
                recording = earlier[1]
                entry.recording = f"{recording.source} ({how} #{earlier[0].id})"
            self._remember_answer(entry, recording)
            response = recording.response
            recorded = True
        if recorded:
            plan = self._recorded_plan(response)  # type: ignore[arg-type]
        else:
            plan = (
                Plan.from_response(response, self.timing_scale)
                if response is not None
                else Plan(actions=())
            )
        content_type = response.content_type if response is not None else None
        fmt = detect_format(request, content_type)
        entry.format = fmt._value_
        for firing in self._applicable(selection, fmt):
            new_plan, alterations = firing.fault.apply(plan, self._context(selection, firing, fmt))
            changed = bool(alterations) or new_plan != plan
            if self.fault_result(selection, firing, changed, alterations):
                plan = new_plan
                if recorded and firing.fault.answer_usable:
                    self._changed[entry.route] = (entry, recording, request.body)
        if plan.head is not None:
            if response is None:
                # A fault made the whole response: its content type says what format it speaks.
                entry.format = detect_format(request, plan.head.header("content-type")).value
            note_head(entry, plan.head)
            if plan.head.status < 400 and entry.format in USAGE_FORMATS:
                keep = recorded and not entry.faults  # the recording's own plan, cacheable
                note_answer(entry, self._answer_of(plan, entry.format, keep))
            if plan.head.status >= 400:
                # The body is whole here (an error is never streamed): what it says decides
                # whether a retry can help (an exhausted quota cannot).
                entry.error_code = error_code(plan.body_bytes())
        return plan

    def _answer_of(self, plan: Plan, fmt: str, keep: bool) -> AnswerReader:
        """The answer facts of ``plan``; with ``keep``, read once per recorded plan (a
        replayed recording that no fault changed is the common case under load, as in
        :meth:`_recorded_plan`)."""
        cached = self._answers.get(id(plan))
        if cached is not None and cached[0] is plan:
            return cached[1]
        reader = _plan_answer(plan, fmt)
        if not keep:
            return reader
        if len(self._answers) >= PLAN_CACHE_SIZE:
            self._answers.clear()
        self._answers[id(plan)] = (plan, reader)
        return reader

    def live(self, selection: Selection, head: ResponseHead) -> LivePlan:
        """The faults of ``selection`` over a live upstream answer whose ``head`` just arrived:
        a :class:`~faultkit.live.LivePlan` the door feeds the body to as it arrives, so the
        faults act on the stream with its real timing (step 2 for a live source, where
        :meth:`plan` is step 2 for a whole response)."""
        fmt = detect_format(selection.request, Response(head=head).content_type)
        selection.entry.format = fmt.value
        sse = Response(head=head).is_sse
        stages = [
            (firing, firing.fault.transform(self._context(selection, firing, fmt, live_sse=sse)))
            for firing in self._applicable(selection, fmt)
        ]
        return LivePlan(self, selection, head, stages)

    # What a live answer tells the ledger as it passes (called by its LivePlan), the same
    # facts :meth:`plan` writes for a planned one.
    def head_facts(self, entry: LedgerEntry, head: ResponseHead) -> None:
        note_head(entry, head)

    def answer_facts(self, entry: LedgerEntry, reader: AnswerReader) -> None:
        note_answer(entry, reader)

    def _applicable(self, selection: Selection, fmt: WireFormat) -> list[Firing]:
        """The firings whose fault understands ``fmt``; the others are skipped, in the ledger."""
        out = []
        for firing in selection.firings:
            fault = firing.fault
            if fault.applies_to(fmt):
                out.append(firing)
            else:
                reason = f"not for {fmt.value}"
                selection.entry.skipped.append(
                    SkippedFault(rule=firing.label, type=fault.type, reason=reason)
                )
        return out

    def _context(
        self, selection: Selection, firing: Firing, fmt: WireFormat, live_sse: bool = False
    ) -> FaultContext:
        return FaultContext(
            request=selection.request,
            format=fmt,
            rng=derive_rng(self.seed, firing.label, firing.call_index, "fault"),
            call_index=firing.call_index,
            attempt=selection.entry.attempt,
            now_s=selection.wall_s,
            live_sse=live_sse,
        )

    def fault_result(
        self, selection: Selection, firing: Firing, changed: bool, alterations: list[Alteration]
    ) -> bool:
        """Write what one fault did into the ledger (and OpenTelemetry); whether it applied.
        A fault that found nothing to act on (no tool call, no JSON output, no events) is a
        "nothing to alter" skip, rather than a claim in the ledger that it was injected."""
        entry = selection.entry
        fault = firing.fault
        if not alterations and not changed:
            entry.skipped.append(
                SkippedFault(rule=firing.label, type=fault.type, reason="nothing to alter")
            )
            return False
        applied = AppliedFault(
            rule=firing.label,
            type=fault.type,
            params=fault.params(),
            alterations=_scrubbed(alterations),
        )
        entry.faults.append(applied)
        fault_applied(entry, applied, self.scenario.name, self.seed, selection.request)  # otel
        return True

    def _latest_before(
        self, entry: LedgerEntry, which: Callable[[LedgerEntry], bool]
    ) -> LedgerEntry | None:
        """The newest entry before ``entry`` that ``which`` accepts (the fallbacks of an
        unmatched request look for the fault that caused it)."""
        return next(
            (e for e in reversed(self.ledger.entries) if e.id < entry.id and which(e)), None
        )

    def _tolerant_answer(
        self, entry: LedgerEntry, request: Request
    ) -> tuple[LedgerEntry, Recording] | None:
        """The recording a provider request matches with the tool results left out, when a
        meaning fault changed a tool's answer earlier in this run: the app sends that answer
        on to its model (a lying tool's numbers, a planted instruction, the fields a partial
        answer lost), so the next request is one no cassette holds, and failing it would end
        every tool-data scenario on such an app as a harness error. Only the tool results are
        left out (:data:`~faultkit.cassettes.store.TOOL_RESULT_FIELDS`); the ledger names the
        exchange whose change the request carries."""
        match_ignoring = getattr(self.source, "match_ignoring", None)
        if match_ignoring is None or entry.format not in PROVIDER_FORMATS:
            return None
        changed = self._latest_before(
            entry,
            lambda e: (
                e.format not in PROVIDER_FORMATS and any(f.type in MEANING_FAULTS for f in e.faults)
            ),
        )
        if changed is None:
            return None
        recording = match_ignoring(request, TOOL_RESULT_FIELDS)
        return None if recording is None else (changed, recording)

    def _planted_call_answer(self, entry: LedgerEntry) -> tuple[LedgerEntry, Recording] | None:
        """An empty success for a tool request no recording holds, sent after a fault planted
        a tool call in a model's answer (``injection`` with ``payload: tool_call``). The app
        ran a call its recorded model never made, so no cassette can answer it; failing it as
        unmatched would make the cell a harness error and hide what matters, that the app ran
        it (``unauthorized_action``). The ledger names the planted call's exchange."""
        if entry.format in PROVIDER_FORMATS:
            return None
        planted = self._latest_before(entry, lambda e: bool(planted_calls(e)))
        if planted is None:
            return None
        headers = (("content-type", "application/json"), ("x-faultkit-synthetic", "planted-call"))
        head = ResponseHead(status=200, headers=headers)
        return planted, _Synthetic(Response(head=head, body=b"{}"), "faultkit (no recording)")

    def _continued_answer(
        self, entry: LedgerEntry, request: Request
    ) -> tuple[LedgerEntry, Recording] | None:
        """The earlier exchange and its recording, when ``request`` continues the
        conversation of the latest provider answer on its route that a usable-answer fault
        changed (``Fault.answer_usable``): after a repeated tool call the app sends the call
        and its result back, a request no cassette holds, since the recorded model never
        made that call. Matching tolerates what the fault itself changed: the model, as the
        fault has it, answers the continued conversation as it answered the one it changed
        (and the fault acts on that answer again). The ledger names the recording and the
        exchange it continues."""
        earlier = self._changed.get(entry.route)
        if earlier is None or earlier[0].id >= entry.id:
            return None
        try:
            if self.ledger.get(earlier[0].id) is not earlier[0]:
                return None  # the ledger was reset since: another run's conversation
        except IndexError:
            return None
        before = conversation_of(earlier[0].format, earlier[2])
        now = conversation_of(entry.format, request.body)
        if before is None or now is None or len(now.turns) <= len(before.turns):
            return None
        if now.turns[: len(before.turns)] != before.turns:
            return None
        return earlier[0], earlier[1]

    def _remember_answer(self, entry: LedgerEntry, recording: Recording) -> None:
        if len(self._answered) >= PLAN_CACHE_SIZE:
            self._answered.clear()
        self._answered[(entry.route, entry.logical_call)] = (entry, recording)

    def _reask_answer(self, entry: LedgerEntry) -> tuple[LedgerEntry, Recording] | None:
        """The earlier attempt and its recording, when ``entry`` is a later attempt of a
        logical call a recording answered: a framework's re-ask after an invalid answer (the
        conversation plus the bad answer and the validation error) is a request no cassette
        recorded the ordinary way holds, and without this every drift or broken tool call on
        such an app would end as a harness error rather than test its recovery. The model is
        taken to answer the re-ask as it answered the call; the ledger names the recording and
        the attempt it repeats. A first attempt with no recording stays unmatched, and so does
        an identical copy (the store's playback rules those)."""
        if entry.attempt <= 1:
            return None
        earlier = self._answered.get((entry.route, entry.logical_call))
        if earlier is None or earlier[0].id >= entry.id:
            return None
        if earlier[0].body_hash == entry.body_hash:
            return None  # the same request again: playback decides (``once`` refuses it)
        try:
            if self.ledger.get(earlier[0].id) is not earlier[0]:
                return None  # the ledger was reset since: another run's call
        except IndexError:
            return None
        return earlier

    def _recorded_plan(self, response: Response) -> Plan:
        """``Plan.from_response`` of a recording, built once per recording: plans are
        immutable, and replaying the same recording again is the common case (a proxy under
        load). Keyed by identity, holding the response so its id cannot be reused."""
        cached = self._plans.get(id(response))
        if cached is not None and cached[0] is response:
            return cached[1]
        plan = Plan.from_response(response, self.timing_scale)
        if len(self._plans) >= PLAN_CACHE_SIZE:
            self._plans.clear()
        self._plans[id(response)] = (response, plan)
        return plan

    def handle(
        self, request: Request, route: str, now_ms: float, response: Response | None = None
    ) -> tuple[Selection, Plan]:
        """Both steps at once, for doors that replay (or already hold the upstream response)."""
        selection = self.select(request, route, now_ms)
        return selection, self.plan(selection, response)
