"""How a provider answer ends: its finish reason, its status and its usage, per wire format, in a
body or a stream.

A fault that changes *why* an answer stopped (``token_limit``, ``refusal``) must say so where
each SDK reads it, and nowhere else, so the answer stays well framed:

- Chat Completions: ``choices[i].finish_reason`` (``length``, ``content_filter``, ``stop``); in a
  stream, the chunk that carries a non-null ``finish_reason``; usage in ``usage``
  (``completion_tokens``), in a stream the ``include_usage`` chunk;
- Responses: ``status`` (``incomplete``) with ``incomplete_details.reason``
  (``max_output_tokens``, ``content_filter``); in a stream the terminal event itself becomes
  ``response.incomplete``; the cut output item's ``status`` is ``incomplete``; usage in
  ``usage.output_tokens``;
- Anthropic Messages: ``stop_reason`` (``max_tokens``, ``refusal``); in a stream the
  ``message_delta`` event's ``delta.stop_reason`` and (cumulative) ``usage.output_tokens``;
- Gemini: each candidate's ``finishReason`` (``MAX_TOKENS``, ``SAFETY``, ``STOP``); in a stream
  the chunk that carries one; usage in ``usageMetadata.candidatesTokenCount`` (every chunk
  carries the running count).

Reasons are given in faultkit's words (:data:`Reason`) and written in each format's own.
Usage stays consistent: the output token count is replaced, the total is recomputed from the
input count, and a reasoning-token detail never exceeds the new output count.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from faultkit.formats.common import event_kind, event_payloads
from faultkit.formats.detect import WireFormat
from faultkit.formats.sse import SSEEvent

Reason = Literal["length", "refusal", "content_filter", "stop"]

CHAT_REASONS: dict[str, str] = {
    "length": "length",
    "refusal": "stop",
    "content_filter": "content_filter",
    "stop": "stop",
}
ANTHROPIC_REASONS: dict[str, str] = {
    "length": "max_tokens",
    "refusal": "refusal",
    "content_filter": "refusal",
    "stop": "end_turn",
}
# Responses: reason -> incomplete_details.reason (None: the response completed).
RESPONSES_INCOMPLETE: dict[str, str | None] = {
    "length": "max_output_tokens",
    "refusal": None,
    "content_filter": "content_filter",
    "stop": None,
}
# Gemini has no refusal stop reason: a model that declines says so and stops (``STOP``); a
# filtered answer stops for ``SAFETY``.
GEMINI_REASONS: dict[str, str] = {
    "length": "MAX_TOKENS",
    "refusal": "STOP",
    "content_filter": "SAFETY",
    "stop": "STOP",
}
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
# The events after which a stream has nothing more to say, by format: Chat Completions'
# ``data: [DONE]``, Anthropic's ``message_stop``, the Responses terminal events. (A Gemini
# stream has no such event: it ends with the connection.)
FINAL_EVENTS = frozenset({"message_stop", *_TERMINAL})


def is_final_event(event: SSEEvent) -> bool:
    """True when ``event`` ends its stream: a client that hangs up after it lost nothing.
    Besides the providers' final events, an MCP server's JSON-RPC response (``result`` or
    ``error`` with an ``id``) ends the stream that answers a request."""
    if event.is_done_sentinel:
        return True
    payload = event.json()
    if isinstance(payload, dict) and "id" in payload and payload.keys() & {"result", "error"}:
        return True
    return event_kind(payload, event) in FINAL_EVENTS


_USAGE_OUT = {
    WireFormat.openai_chat: ("completion_tokens", "prompt_tokens", "completion_tokens_details"),
    WireFormat.openai_responses: ("output_tokens", "input_tokens", "output_tokens_details"),
    WireFormat.anthropic_messages: ("output_tokens", "input_tokens", None),
    WireFormat.gemini: ("candidatesTokenCount", "promptTokenCount", None),
}
# Where a format keeps its usage and its total (the others: ``usage``, ``total_tokens``).
_USAGE_HOLDER = {WireFormat.gemini: "usageMetadata"}
_TOTAL = {WireFormat.gemini: "totalTokenCount"}


@dataclass(frozen=True)
class Change:
    """One field the ending changed, for the fault's alterations."""

    path: str
    original: Any
    value: Any


# -- reading --------------------------------------------------------------------------------------
def output_tokens(fmt: WireFormat, doc: Any = None, events: list[SSEEvent] | None = None) -> int:
    """The recorded output token count (0 when the answer carries no usage)."""
    out_key = _USAGE_OUT[fmt][0]
    holder_key = _USAGE_HOLDER.get(fmt, "usage")
    usages = [doc.get(holder_key)] if isinstance(doc, dict) else []
    for payload in event_payloads(events or []):
        if not isinstance(payload, dict):
            continue
        usages.append(payload.get(holder_key))
        for holder in ("message", "response"):
            if isinstance(payload.get(holder), dict):
                usages.append(payload[holder].get("usage"))
    counts = [u[out_key] for u in usages if isinstance(u, dict) and isinstance(u.get(out_key), int)]
    return max(counts, default=0)


# -- usage ----------------------------------------------------------------------------------------
def _set_usage(usage: Any, fmt: WireFormat, tokens: int, where: str, changes: list[Change]) -> bool:
    if not isinstance(usage, dict) or not isinstance(usage.get(_USAGE_OUT[fmt][0]), int):
        return False
    out_key, in_key, details_key = _USAGE_OUT[fmt]
    changes.append(Change(f"{where}.{out_key}", usage[out_key], tokens))
    usage[out_key] = tokens
    total_key = _TOTAL.get(fmt, "total_tokens")
    if isinstance(usage.get(total_key), int) and isinstance(usage.get(in_key), int):
        thoughts = usage.get("thoughtsTokenCount")  # Gemini counts reasoning apart
        usage[total_key] = usage[in_key] + tokens + (thoughts if isinstance(thoughts, int) else 0)
    details = usage.get(details_key) if details_key else None
    if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
        details["reasoning_tokens"] = min(details["reasoning_tokens"], tokens)
    return True


# -- bodies ---------------------------------------------------------------------------------------
def end_body(
    doc: Any, fmt: WireFormat, reason: Reason, tokens: int | None, item: int | None = None
) -> tuple[Any, list[Change]]:
    """A copy of ``doc`` ending for ``reason``, with ``tokens`` output tokens (None: usage as
    recorded). ``item``: the Responses output item that was cut (its status turns incomplete)."""
    new = copy.deepcopy(doc)
    changes: list[Change] = []
    if not isinstance(new, dict):
        return new, changes
    if fmt == WireFormat.openai_chat:
        for ci, choice in enumerate(new.get("choices") or []):
            if isinstance(choice, dict):
                value = CHAT_REASONS[reason]
                changes.append(
                    Change(f"choices[{ci}].finish_reason", choice.get("finish_reason"), value)
                )
                choice["finish_reason"] = value
    elif fmt == WireFormat.anthropic_messages:
        value = ANTHROPIC_REASONS[reason]
        changes.append(Change("stop_reason", new.get("stop_reason"), value))
        new["stop_reason"] = value
    elif fmt == WireFormat.openai_responses:
        changes.extend(_end_response(new, reason, item, "response"))
    elif fmt == WireFormat.gemini:
        changes.extend(_end_candidates(new, reason, "candidates", all_candidates=True))
    if tokens is not None:
        holder = _USAGE_HOLDER.get(fmt, "usage")
        _set_usage(new.get(holder), fmt, tokens, holder, changes)
    return new, [c for c in changes if c.original != c.value]


def _end_candidates(
    payload: dict[str, Any], reason: Reason, where: str, *, all_candidates: bool
) -> list[Change]:
    """Gemini: the ``finishReason`` of each candidate (in a stream chunk, only of those that
    carry one: the chunk that ends the candidate)."""
    changes: list[Change] = []
    value = GEMINI_REASONS[reason]
    for ci, candidate in enumerate(payload.get("candidates") or []):
        if not isinstance(candidate, dict):
            continue
        if all_candidates or candidate.get("finishReason") is not None:
            changes.append(
                Change(f"{where}[{ci}].finishReason", candidate.get("finishReason"), value)
            )
            candidate["finishReason"] = value
    return changes


def _end_response(
    response: dict[str, Any], reason: Reason, item: int | None, where: str
) -> list[Change]:
    """Status, incomplete details and the cut item's status of one Responses snapshot."""
    incomplete = RESPONSES_INCOMPLETE[reason]
    status = "incomplete" if incomplete else "completed"
    changes = [Change(f"{where}.status", response.get("status"), status)]
    response["status"] = status
    response["incomplete_details"] = {"reason": incomplete} if incomplete else None
    output = response.get("output")
    target = (
        output[item]
        if isinstance(output, list) and item is not None and 0 <= item < len(output)
        else None
    )
    if incomplete and isinstance(target, dict) and "status" in target:
        target["status"] = "incomplete"
    return changes


# -- streams --------------------------------------------------------------------------------------
def end_stream(
    events: list[SSEEvent],
    fmt: WireFormat,
    reason: Reason,
    tokens: int | None,
    item: int | None = None,
) -> tuple[list[SSEEvent], list[Change]]:
    """``events`` ending for ``reason`` (see :func:`end_body`), each edited event re-encoded
    and the others kept byte for byte."""
    payloads = event_payloads(events)
    changes: list[Change] = []
    out = list(events)
    for ei, (payload, event) in enumerate(zip(payloads, events, strict=True)):
        if not isinstance(payload, dict):
            continue
        before = len(changes)
        name = event.event
        kind = event_kind(payload, event)
        if fmt == WireFormat.openai_chat:
            for ci, choice in enumerate(payload.get("choices") or []):
                if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                    value = CHAT_REASONS[reason]
                    path = f"stream.events[{ei}].choices[{ci}].finish_reason"
                    changes.append(Change(path, choice["finish_reason"], value))
                    choice["finish_reason"] = value
            if tokens is not None:
                _set_usage(payload.get("usage"), fmt, tokens, f"stream.events[{ei}].usage", changes)
        elif fmt == WireFormat.anthropic_messages and kind == "message_delta":
            delta = payload.get("delta")
            if isinstance(delta, dict):
                value = ANTHROPIC_REASONS[reason]
                path = f"stream.events[{ei}].delta.stop_reason"
                changes.append(Change(path, delta.get("stop_reason"), value))
                delta["stop_reason"] = value
            if tokens is not None:
                _set_usage(payload.get("usage"), fmt, tokens, f"stream.events[{ei}].usage", changes)
        elif fmt == WireFormat.gemini:
            where = f"stream.events[{ei}]"
            ended = _end_candidates(payload, reason, f"{where}.candidates", all_candidates=False)
            changes.extend(ended)
            if ended and tokens is not None:
                usage = payload.get("usageMetadata")
                _set_usage(usage, fmt, tokens, f"{where}.usageMetadata", changes)
        elif fmt == WireFormat.openai_responses and kind in _TERMINAL:
            response = payload.get("response")
            if isinstance(response, dict):
                where = f"stream.events[{ei}].response"
                changes.extend(_end_response(response, reason, item, where))
                new_kind = "response.incomplete" if RESPONSES_INCOMPLETE[reason] else kind
                if new_kind != kind:
                    changes.append(Change(f"stream.events[{ei}].type", kind, new_kind))
                    payload["type"] = new_kind
                    name = new_kind if event.event else None
                if tokens is not None:
                    _set_usage(response.get("usage"), fmt, tokens, f"{where}.usage", changes)
        elif fmt == WireFormat.openai_responses and kind == "response.output_item.done":
            snapshot = payload.get("item")
            if (
                RESPONSES_INCOMPLETE[reason]
                and payload.get("output_index") == item
                and isinstance(snapshot, dict)
                and "status" in snapshot
            ):
                snapshot["status"] = "incomplete"
                changes.append(
                    Change(f"stream.events[{ei}].item.status", "completed", "incomplete")
                )
        if len(changes) > before:
            out[ei] = event.model_copy(update={"event": name}).with_json(payload)
    return out, [c for c in changes if c.original != c.value]
