"""Provider answers in real wire format, for recording the zoo's cassettes.

Why: the zoo apps' cassettes are recorded by running each app's real SDK against a scripted
upstream (:mod:`recorder`), so every request body is exactly what the SDK sends. The scripted
answers are built here, shaped on real recordings (``tests/cassettes-real``; field order,
envelope fields, ``obfuscation`` padding, ``[DONE]``, Anthropic's ``event:`` lines and ``ping``,
Responses' ``sequence_number``) and on the wire-format reference; only the content is the zoo's
own. Nothing here is imported by the apps or by faultkit.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

DATE = "Mon, 07 Dec 2026 06:12:41 GMT"
CREATED = 1796623961


@dataclass
class Canned:
    """One scripted answer: status, headers, body and, for a stream, when each event left."""

    status: int
    headers: dict[str, str]
    body: bytes
    first_byte_ms: float | None = None
    event_offsets_ms: list[float] | None = None
    reason: str = field(default="OK")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _pad(rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(letters) for _ in range(rng.randint(3, 15)))


def pieces(text: str, size: int = 7) -> list[str]:
    """``text`` in fragments of about ``size`` characters, as a model streams them."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


# -- OpenAI ----------------------------------------------------------------------------------


def _openai_headers(request_id: str, content_type: str, processing_ms: int) -> dict[str, str]:
    return {
        "date": DATE,
        "content-type": content_type,
        "access-control-expose-headers": "X-Request-ID",
        "openai-organization": "zoo-test-org",
        "openai-processing-ms": str(processing_ms),
        "openai-project": "proj_zoo",
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-remaining-tokens": "199542",
        "x-ratelimit-reset-requests": "8.64s",
        "x-ratelimit-reset-tokens": "137ms",
        "x-request-id": request_id,
        "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
        "x-content-type-options": "nosniff",
        "server": "cloudflare",
        "alt-svc": 'h3=":443"; ma=86400',
    }


def _usage_chat(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_json(
    completion_id: str,
    model: str,
    *,
    content: str | None = None,
    tool_calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    usage: tuple[int, int] = (120, 30),
) -> Canned:
    """A non-streamed Chat Completions answer: text, or tool calls ``(id, name, arguments)``."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in tool_calls
        ]
    message["annotations"] = []
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": _usage_chat(*usage),
        "service_tier": "default",
        "system_fingerprint": "fp_7a1c5d2e90",
    }
    data = _dumps(body).encode()
    headers = _openai_headers(f"req_{completion_id[-12:]}", "application/json", 640)
    headers["content-length"] = str(len(data))
    return Canned(200, headers, data)


def chat_sse(
    completion_id: str,
    model: str,
    *,
    content: str | None = None,
    tool_calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    usage: tuple[int, int] = (120, 30),
    first_byte_ms: float = 180.0,
    gap_ms: float = 12.0,
) -> Canned:
    """A streamed Chat Completions answer with ``include_usage``: text deltas, or tool-call
    deltas (first fragment with id and name and empty arguments, then argument pieces)."""
    rng = random.Random(completion_id)
    base = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_7a1c5d2e90",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None,
            "obfuscation": _pad(rng),
        }

    events: list[dict[str, Any]] = []
    if tool_calls:
        for index, (call_id, name, arguments) in enumerate(tool_calls):
            head = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            delta: dict[str, Any] = {"tool_calls": [head]}
            if index == 0:
                delta = {"role": "assistant", "content": None, **delta}
            events.append(chunk(delta))
            for piece in pieces(arguments, 5):
                events.append(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
        events.append(chunk({}, "tool_calls"))
    else:
        events.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        events.extend(chunk({"content": piece}) for piece in pieces(content or ""))
        events.append(chunk({}, "stop"))
    events.append({**base, "choices": [], "usage": _usage_chat(*usage), "obfuscation": ""})
    lines = [f"data: {_dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    headers = _openai_headers(f"req_{completion_id[-12:]}", "text/event-stream; charset=utf-8", 210)
    headers["transfer-encoding"] = "chunked"
    offsets = [round(first_byte_ms + i * gap_ms, 3) for i in range(len(lines))]
    return Canned(200, headers, "".join(lines).encode(), first_byte_ms, offsets)


def responses_json(
    response_id: str,
    model: str,
    *,
    text: str | None = None,
    function_calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    usage: tuple[int, int] = (140, 35),
    schema_name: str | None = None,
) -> Canned:
    """A non-streamed Responses answer: an ``output_text`` message, or ``function_call`` items
    ``(call_id, name, arguments)``."""
    output: list[dict[str, Any]] = []
    rng = random.Random(response_id)
    for call_id, name, arguments in function_calls:
        output.append(
            {
                "id": f"fc_{rng.getrandbits(96):024x}",
                "type": "function_call",
                "status": "completed",
                "arguments": arguments,
                "call_id": call_id,
                "name": name,
            }
        )
    if text is not None:
        output.append(
            {
                "id": f"msg_{rng.getrandbits(96):024x}",
                "type": "message",
                "status": "completed",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
                ],
                "role": "assistant",
            }
        )
    fmt: dict[str, Any] = {"type": "text"}
    if schema_name:
        fmt = {"type": "json_schema", "name": schema_name, "strict": True}
    body = {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": fmt, "verbosity": "medium"},
        "tool_choice": "auto",
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": usage[0],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage[1],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": sum(usage),
        },
        "user": None,
        "metadata": {},
    }
    data = _dumps(body).encode()
    headers = _openai_headers(f"req_{response_id[-12:]}", "application/json", 910)
    headers["content-length"] = str(len(data))
    return Canned(200, headers, data)


# -- Anthropic -------------------------------------------------------------------------------


def _anthropic_headers(request_id: str, content_type: str) -> dict[str, str]:
    return {
        "date": DATE,
        "content-type": content_type,
        "anthropic-organization-id": "6f1d2c3b-zoo0-4e5f-8a9b-0c1d2e3f4a5b",
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-requests-reset": "2026-12-07T06:12:41Z",
        "anthropic-ratelimit-input-tokens-limit": "400000",
        "anthropic-ratelimit-input-tokens-remaining": "400000",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-07T06:12:41Z",
        "anthropic-ratelimit-output-tokens-limit": "80000",
        "anthropic-ratelimit-output-tokens-remaining": "80000",
        "anthropic-ratelimit-output-tokens-reset": "2026-12-07T06:12:41Z",
        "request-id": request_id,
        "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
        "via": "1.1 google",
        "cf-cache-status": "DYNAMIC",
        "x-robots-tag": "none",
        "server": "cloudflare",
    }


def _usage_anthropic(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def messages_json(
    message_id: str,
    model: str,
    *,
    text: str | None = None,
    tool_uses: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    usage: tuple[int, int] = (410, 60),
) -> Canned:
    """A non-streamed Messages answer: an optional text block, then ``tool_use`` blocks
    ``(id, name, input)``."""
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    content += [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in tool_uses]
    body = {
        "model": model,
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": "tool_use" if tool_uses else "end_turn",
        "stop_sequence": None,
        "usage": _usage_anthropic(*usage),
    }
    data = _dumps(body).encode()
    headers = _anthropic_headers(f"req_011C{message_id[-16:]}", "application/json")
    headers["content-length"] = str(len(data))
    return Canned(200, headers, data)


def messages_sse(
    message_id: str,
    model: str,
    *,
    text: str | None = None,
    tool_uses: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    usage: tuple[int, int] = (410, 60),
    first_byte_ms: float = 420.0,
    gap_ms: float = 15.0,
) -> Canned:
    """A streamed Messages answer: ``message_start``, a ``ping``, a text block in
    ``text_delta`` pieces and/or ``tool_use`` blocks in ``input_json_delta`` pieces,
    ``message_delta`` with the stop reason and cumulative usage, ``message_stop``."""
    events: list[tuple[str, dict[str, Any]]] = []
    start_usage = _usage_anthropic(usage[0], 1)
    events.append(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "model": model,
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    )
    index = 0
    if text is not None:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        events.append(("ping", {"type": "ping"}))
        for piece in pieces(text, 9):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    for call_id, name, arguments in tool_uses:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
                },
            )
        )
        if text is None and index == 0:
            events.append(("ping", {"type": "ping"}))
        for piece in ["", *pieces(_dumps(arguments), 8)]:
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "tool_use" if tool_uses else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {
                    "input_tokens": usage[0],
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": usage[1],
                },
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    lines = [f"event: {name}\ndata: {_dumps(data)}\n\n" for name, data in events]
    headers = _anthropic_headers(f"req_011C{message_id[-16:]}", "text/event-stream; charset=utf-8")
    headers["cache-control"] = "no-cache"
    headers["transfer-encoding"] = "chunked"
    offsets = [round(first_byte_ms + i * gap_ms, 3) for i in range(len(lines))]
    return Canned(200, headers, "".join(lines).encode(), first_byte_ms, offsets)


# -- tools -----------------------------------------------------------------------------------


def tool_json(payload: Any, *, status: int = 200, server: str = "uvicorn") -> Canned:
    """A JSON answer from one of the zoo's HTTP tools."""
    data = _dumps(payload).encode()
    return Canned(
        status,
        {
            "date": DATE,
            "server": server,
            "content-length": str(len(data)),
            "content-type": "application/json",
        },
        data,
        reason="OK" if status == 200 else "",
    )
