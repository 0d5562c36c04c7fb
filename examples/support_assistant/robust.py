"""The robust support assistant: every way the provider or the tool can fail ends in a bounded,
explicit outcome, and every answer carries the trace of how it was reached.

What it does, and why each piece is there:

* **One overall deadline** (``Settings.deadline_s``), enforced with ``asyncio.timeout``, so no
  provider or tool behaviour can keep the customer waiting longer; past it the answer is a
  ``SupportError("timeout")``.
* **An idle-token timeout** of its own (``idle_s``): the SDK's read timeout is reset by SSE
  ``: keep-alive`` comments, so a stream that only sends heartbeats would never time out.
* **Bounded retries, done by the app** (the SDK's own are off): ``attempts_per_model`` per model
  with exponential backoff, ``retry-after`` honoured (also when the connection broke after an
  error's head arrived), and no retry for what cannot heal (an exhausted quota, a 4xx). Each
  attempt carries ``x-stainless-retry-count``, as the SDK's own retries do, so the attempt
  number is visible to the provider and to faultkit.
* **Fallback to a second model** when the first one keeps failing.
* **Strict validation** of everything the model sends: every stream chunk's shape, the tool
  call's arguments (``GetOrderArgs``), the answer (``SupportAnswer``), and that a stream
  really finished.
* **Evidence check** on every fact the answer reports (status, delivery date, carrier, items,
  total and currency): the structured fields must be what the tool returned, and the model's
  own words are passed on only when the tool delivered all of those facts, consistently, and
  every number in them is one the tool sent. Otherwise the reply is rebuilt from what the tool
  did deliver, and the rest is labelled unknown (``eta: null``, "the total is unknown"), never
  passed on: a model answer can quote data the tool no longer returned.
* **Stop on tool failure**: if the order cannot be fetched, the answer is an explicit
  ``SupportError("tool_unavailable")``, not a guess. A failed tool call is retried a bounded
  number of times, honouring the tool's ``retry-after`` (and ``x-should-retry: false``); a wait
  that does not fit the deadline is not waited out, the app stops at once.
* **A DecisionTrace** (faultkit's model) with the reply, and emitted on errors too.

The seam faultkit (or a test) uses: ``http_client_factory`` builds every HTTP client the app
uses (default ``httpx.AsyncClient``); faultkit passes one that adds its transport.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from pydantic import ValidationError

from examples.support_assistant import protocol
from examples.support_assistant.models import (
    ISO_DATE,
    ErrorCode,
    GetOrderArgs,
    Order,
    OrderItem,
    Reply,
    SupportAnswer,
    SupportError,
)
from faultkit.oracle.trace import DecisionTrace, ToolOutput, ValidationResult, emit_trace

AsyncClientFactory = Callable[..., httpx.AsyncClient]
STATUSES = frozenset({"pending", "processing", "shipped", "delivered", "cancelled"})
# Retrying these can help (the model's retries decide the same way).
RETRYABLE_TOOL_STATUSES = frozenset({408, 409, 429})
NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Settings:
    """Time limits and bounds, in seconds and counts."""

    models: tuple[str, ...] = (protocol.PRIMARY_MODEL, protocol.FALLBACK_MODEL)
    attempts_per_model: int = 2
    deadline_s: float = 13.0
    idle_s: float = 4.0
    model_read_timeout_s: float = 4.0
    connect_timeout_s: float = 2.0
    tool_timeout_s: float = 1.5
    tool_attempts: int = 2
    backoff_s: float = 0.25
    retry_after_margin_s: float = 0.05
    orders_url: str = protocol.ORDERS_URL


class _Retry(Exception):
    """A failed attempt that another attempt may fix. ``retry_after_s`` is the server's ask."""

    def __init__(self, code: ErrorCode, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass
class _Heads:
    """What the last response head the model's HTTP client received said. When a connection
    breaks while the SDK reads an error's body, the SDK raises the transport error and the
    error is lost; but its head did arrive, and its ``retry-after`` still says how long to wait
    (the SDK's own retries read it from the head too)."""

    status: int | None = None
    retry_after_s: float | None = None

    async def record(self, response: httpx.Response) -> None:
        """An httpx ``response`` event hook: called with the head, before the body is read."""
        self.status = response.status_code
        self.retry_after_s = _retry_after(response)

    def failed_retry_after(self) -> float | None:
        """The retry-after of an error head, if the last head was one."""
        return self.retry_after_s if self.status is not None and self.status >= 400 else None


@dataclass
class _Log:
    """What the trace will say: the path taken, the model that answered, the tool's output."""

    path: list[str] = field(default_factory=list)
    model: str | None = None
    tried: str | None = None
    context_ids: list[str] = field(default_factory=list)
    tools: list[ToolOutput] = field(default_factory=list)
    validation: ValidationResult = field(
        default_factory=lambda: ValidationResult(valid=False, errors=["no answer yet"])
    )

    def trace(self) -> DecisionTrace:
        return DecisionTrace(
            prompt_version=protocol.PROMPT_VERSION,
            model_version=self.model or self.tried or "none",
            context_ids=self.context_ids,
            tool_outputs=self.tools,
            validation_result=self.validation,
            decision_path=self.path or ["start"],
        )


async def answer(
    question: str,
    *,
    http_client_factory: AsyncClientFactory = httpx.AsyncClient,
    settings: Settings | None = None,
) -> Reply:
    """Answer ``question`` with a validated :class:`SupportAnswer` and its trace, or raise
    :class:`SupportError` saying why not."""
    settings = settings or Settings()
    log = _Log()
    try:
        deadline = asyncio.get_running_loop().time() + settings.deadline_s
        async with asyncio.timeout_at(deadline):
            return await _answer(question, http_client_factory, settings, log, deadline)
    except TimeoutError:
        log.path.append("error:timeout")
        raise SupportError("timeout", f"no answer within {settings.deadline_s:g} s") from None
    except SupportError as exc:
        log.path.append(f"error:{exc.code}")
        raise
    finally:
        emit_trace(log.trace())


async def _answer(
    question: str, factory: AsyncClientFactory, settings: Settings, log: _Log, deadline: float
) -> Reply:
    """The conversation; ``deadline`` is the event loop time by which it must be over."""
    model_timeout = httpx.Timeout(settings.model_read_timeout_s, connect=settings.connect_timeout_s)
    heads = _Heads()
    async with (
        factory(timeout=model_timeout, event_hooks={"response": [heads.record]}) as model_http,
        factory(base_url=settings.orders_url, timeout=settings.tool_timeout_s) as orders_http,
    ):
        llm = openai.AsyncOpenAI(http_client=model_http, max_retries=0)
        messages = protocol.first_messages(question)

        call, args, model = await _ask(
            llm, heads, messages, settings.models, settings, log, _tool_call
        )
        log.context_ids.append(f"order:{args.order_id}")
        order, raw = await _fetch_order(orders_http, args.order_id, settings, log, deadline)

        messages += protocol.tool_turn(call.id, call.name, call.arguments, raw)
        order_first = (model, *(m for m in settings.models if m != model))
        proposed, model = await _ask(
            llm, heads, messages, order_first, settings, log, _final_answer
        )
        log.model = model
        checked = _check_evidence(proposed, order, args.order_id, log)
        log.validation = ValidationResult(valid=True)
        log.path.append("answer")
        return Reply(checked, log.trace())


# -- the model -------------------------------------------------------------------------------


async def _ask(
    llm: openai.AsyncOpenAI,
    heads: _Heads,
    messages: list[dict[str, Any]],
    models: tuple[str, ...],
    settings: Settings,
    log: _Log,
    accept: Callable[[protocol.Turn], Any],
) -> Any:
    """One turn, retried and falling back until ``accept`` takes it; returns what ``accept``
    returned (a tuple whose last item is the model that answered) or raises SupportError."""
    last: _Retry | None = None
    for position, model in enumerate(models):
        if position:
            log.path.append(f"fallback:{model}")
        for attempt in range(settings.attempts_per_model):
            if attempt:
                await asyncio.sleep(
                    _backoff(settings, attempt, last.retry_after_s if last else None)
                )
                log.path.append(f"retry:{model}:{last.code if last else ''}")
            else:
                log.path.append(f"ask:{model}")
            log.tried = model
            try:
                turn = await _stream_turn(llm, heads, model, messages, attempt, settings)
                return (*accept(turn), model)
            except _Retry as exc:
                last = exc
    assert last is not None
    raise SupportError(last.code, f"every model failed; last: {last.reason}")


def _backoff(settings: Settings, attempt: int, retry_after_s: float | None) -> float:
    """Exponential backoff, or the server's ``retry-after`` (plus a margin) when that is longer."""
    wait = settings.backoff_s * 2 ** (attempt - 1)
    if retry_after_s is not None:
        wait = max(wait, retry_after_s + settings.retry_after_margin_s)
    return wait


async def _stream_turn(
    llm: openai.AsyncOpenAI,
    heads: _Heads,
    model: str,
    messages: list[dict[str, Any]],
    attempt: int,
    settings: Settings,
) -> protocol.Turn:
    """Stream one turn to its end, or raise _Retry (or SupportError when retrying cannot help)."""
    turn = protocol.Turn(model=model)
    heads.status = heads.retry_after_s = None
    try:
        stream = await llm.chat.completions.create(
            **protocol.request(model, messages),
            extra_headers={"x-stainless-retry-count": str(attempt)},
        )
        try:
            chunks = stream.__aiter__()
            while True:
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), settings.idle_s)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise _Retry(
                        "provider_unavailable", f"no token for {settings.idle_s:g} s"
                    ) from None
                try:
                    turn.add(chunk)
                except (AttributeError, TypeError, ValueError):
                    # The SDK builds chunks without validating them: a drifted field (an
                    # object sent as a string) only shows here, as a broken stream.
                    raise _Retry(
                        "provider_unavailable", "the stream carried a chunk of the wrong shape"
                    ) from None
        finally:
            await stream.close()
    except openai.RateLimitError as exc:
        if _code(exc) in ("insufficient_quota", "billing_hard_limit_reached"):
            raise SupportError("quota_exhausted", "the provider account is out of quota") from None
        raise _Retry("rate_limited", "HTTP 429", _retry_after(exc.response)) from None
    except openai.APIStatusError as exc:
        if exc.status_code >= 500 or exc.status_code in (408, 409):
            raise _Retry(
                "provider_unavailable", f"HTTP {exc.status_code}", _retry_after(exc.response)
            ) from None
        raise SupportError("provider_rejected", f"HTTP {exc.status_code}") from None
    except (openai.APIConnectionError, httpx.HTTPError) as exc:
        raise _Retry(
            "provider_unavailable", f"connection: {type(exc).__name__}", heads.failed_retry_after()
        ) from None
    except json.JSONDecodeError:
        raise _Retry("provider_unavailable", "the stream carried malformed JSON") from None
    if turn.finish_reason is None:
        raise _Retry("provider_unavailable", f"the stream ended early ({turn.chunks} chunks)")
    return turn


def _code(exc: openai.APIStatusError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    return getattr(exc, "code", None) or body.get("code") or body.get("type")


def _retry_after(response: httpx.Response | Any) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if seconds > 0:
            return seconds
    return None


def _tool_call(turn: protocol.Turn) -> tuple[protocol.ToolCall, GetOrderArgs]:
    """Step one must be exactly one well-formed ``get_order`` call."""
    calls = turn.calls
    if turn.finish_reason != "tool_calls" or len(calls) != 1:
        raise _Retry("invalid_tool_call", "the model did not call get_order exactly once")
    call = calls[0]
    if call.name != "get_order" or not call.id:
        raise _Retry("invalid_tool_call", f"unexpected tool call {call.name!r}")
    try:
        args = GetOrderArgs.model_validate_json(call.arguments)
    except ValidationError:
        raise _Retry("invalid_tool_call", "get_order arguments are not valid") from None
    return call, args


def _final_answer(turn: protocol.Turn) -> tuple[SupportAnswer]:
    if turn.finish_reason != "stop":
        raise _Retry("invalid_output", f"the answer ended with {turn.finish_reason!r}")
    try:
        return (SupportAnswer.model_validate_json(turn.content),)
    except ValidationError as exc:
        raise _Retry(
            "invalid_output", f"answer fails SupportAnswer ({exc.error_count()})"
        ) from None


# -- the tool --------------------------------------------------------------------------------


async def _fetch_order(
    http: httpx.AsyncClient, order_id: str, settings: Settings, log: _Log, deadline: float
) -> tuple[Order, str]:
    """The order and its raw JSON; SupportError when it cannot be had (never a guess).

    A failure that may heal (a connection error, a 5xx, 408/409/429) is retried after the
    backoff, or after the tool's ``retry-after`` when it asks for longer. A retry whose wait
    and attempt would not be over by ``deadline`` is not made: waiting past the deadline only
    turns a clear answer (the tool is unavailable) into a timeout, and retrying sooner than
    asked is what the server said not to do."""
    loop = asyncio.get_running_loop()
    problem = ""
    retry_after: float | None = None
    for attempt in range(settings.tool_attempts):
        if attempt:
            wait = _backoff(settings, attempt, retry_after)
            if loop.time() + wait + settings.tool_timeout_s > deadline:
                problem += f"; a retry in {wait:.2f} s would not finish before the deadline"
                break
            await asyncio.sleep(wait)
            log.path.append("retry:get_order")
        else:
            log.path.append("tool:get_order")
        retry_after = None
        try:
            response = await http.get(f"/orders/{order_id}")
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}"
            continue
        if response.status_code == 404:
            log.tools.append(ToolOutput(tool="get_order", ok=False, error="not found"))
            raise SupportError("order_not_found", f"there is no order {order_id}")
        if response.status_code >= 500 or response.status_code in RETRYABLE_TOOL_STATUSES:
            problem = f"HTTP {response.status_code}"
            if response.headers.get("x-should-retry", "").strip().lower() == "false":
                break
            retry_after = _retry_after(response)
            continue
        try:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            order = Order.model_validate_json(response.content)
        except ValueError as exc:
            problem = f"unusable answer: {exc}"[:200]
            break
        log.tools.append(ToolOutput(tool="get_order", output=order.model_dump(exclude_none=True)))
        return order, response.text
    log.tools.append(ToolOutput(tool="get_order", ok=False, error=problem))
    raise SupportError("tool_unavailable", f"the order service failed ({problem})")


# -- the evidence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    """The facts of an order the answer may report, as far as the tool's data backs them; None
    is unknown. ``items`` are known only when they add up to the order's total (this shop has
    no shipping or discounts): a list cut short still parses, its sum gives it away. The total
    is known only with its currency. ``numbers`` are every number the tool sent that a reply
    may quote."""

    order_id: str
    status: str
    eta: str | None
    carrier: str | None
    items: tuple[OrderItem, ...] | None
    total: float | None
    currency: str | None
    numbers: frozenset[float]

    @property
    def complete(self) -> bool:
        """Every fact the model's reply may quote was delivered: then its words can be checked."""
        facts = (self.eta, self.carrier, self.items, self.total)
        return self.status != "unknown" and all(fact is not None for fact in facts)

    def unknown(self) -> list[str]:
        """What the answer must call unknown, in the customer's words."""
        missing = [
            ("the delivery date", self.eta),
            ("the items", self.items),
            ("the total", self.total),
        ]
        return [name for name, value in missing if value is None]


def _evidence(order: Order, order_id: str) -> _Evidence:
    status = order.status if order.status in STATUSES else "unknown"
    eta = order.eta if order.eta is not None and re.fullmatch(ISO_DATE, order.eta) else None
    carrier = (order.carrier or "").strip() or None
    currency = (order.currency or "").strip() or None
    total = order.total if order.total is not None and order.total >= 0 else None
    items = _items(order.items, total)
    numbers = {float(n) for n in re.findall(r"\d+", order.id or order_id)}
    numbers.update(float(n) for n in re.findall(r"\d+", order.tracking_number or ""))
    if eta is not None:
        numbers.update(float(part) for part in eta.split("-"))
    if total is not None and currency is not None:
        numbers.add(total)
    for item in items or ():
        numbers.update((float(item.quantity or 0), float(item.unit_price or 0)))
    return _Evidence(
        order_id=order.id or order_id,
        status=status,
        eta=eta,
        carrier=carrier,
        items=items,
        total=total if currency is not None else None,
        currency=currency if total is not None else None,
        numbers=frozenset(numbers),
    )


def _items(items: list[OrderItem] | None, total: float | None) -> tuple[OrderItem, ...] | None:
    """The items, when each is whole and together they add up to the total; else None."""
    if not items or total is None:
        return None
    amount = 0.0
    for item in items:
        if not item.name or not item.quantity or item.quantity < 1 or item.unit_price is None:
            return None
        amount += item.quantity * item.unit_price
    return tuple(items) if abs(amount - total) < 0.005 else None


def _check_evidence(
    proposed: SupportAnswer, order: Order, order_id: str, log: _Log
) -> SupportAnswer:
    """Keep the model's answer only if every fact in it is the tool's; otherwise say what the
    tool did deliver and label the rest unknown.

    The structured fields are compared with the tool's. The reply is free text, so it is kept
    only when the tool delivered every fact it may quote (a fact the tool left out cannot be
    checked, and a replayed or confused model states it anyway) and every number in it is one
    the tool sent."""
    evidence = _evidence(order, order_id)
    backed = (
        evidence.complete
        and proposed.order_id == evidence.order_id
        and proposed.status == evidence.status
        and proposed.eta == evidence.eta
        and _numbers_backed(proposed.reply, evidence)
    )
    if backed:
        return proposed
    log.path.append("relabel_unknown")
    return SupportAnswer(
        order_id=evidence.order_id,
        status=evidence.status,  # type: ignore[arg-type]
        eta=evidence.eta,
        reply=_reply_from(evidence),
    )


def _numbers_backed(text: str, evidence: _Evidence) -> bool:
    """Every number in ``text`` is one the tool sent (``138.00`` is ``138.0``)."""
    return all(float(token) in evidence.numbers for token in NUMBER.findall(text))


def _reply_from(evidence: _Evidence) -> str:
    """A reply that states only what the tool delivered and names what is unknown."""
    status = evidence.status
    if status == "unknown":
        parts = [f"I could not confirm the status of order {evidence.order_id}"]
    else:
        parts = [f"Your order {evidence.order_id} is {status}"]
        if evidence.carrier and status in ("shipped", "delivered"):
            parts[0] += f" with {evidence.carrier}"
    parts[0] += "."
    if evidence.items is not None:
        listed = " and ".join(f"{i.quantity} x {i.name}" for i in evidence.items)
        parts.append(f"It holds {listed}.")
    if evidence.total is not None:
        parts.append(f"Its total is {evidence.total:.2f} {evidence.currency}.")
    if evidence.eta is not None:
        parts.append(f"It should arrive by {evidence.eta}.")
    unknown = evidence.unknown()
    if unknown:
        said = unknown[0] if len(unknown) == 1 else ", ".join(unknown[:-1]) + " and " + unknown[-1]
        verb = "are" if len(unknown) > 1 or unknown == ["the items"] else "is"
        parts.append(f"{said[0].upper()}{said[1:]} {verb} unknown right now.")
    return " ".join(parts)
