"""OpenAI Responses API: find and edit tool calls and answer text, in a body or a stream.

Body: ``output[i]`` items; a tool call is a ``function_call`` item (``call_id``, ``name``,
``arguments`` as a JSON string; ``custom_tool_call`` carries ``input``), the answer is the
``output_text`` parts of ``message`` items.

Stream: the same item is told several times: ``response.output_item.added`` (empty), argument or
text ``.delta`` events, a ``.done`` event with the full value, ``response.output_item.done``
and the terminal ``response.completed`` / ``.incomplete`` / ``.failed`` snapshot. An edit
changes every telling consistently, because clients (the SDK's ``responses.stream()`` helper,
frameworks) read whichever one suits them; an inconsistent stream would be a different fault.
Inserted events keep ``sequence_number`` monotonic by renumbering the events after them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from faultkit.formats.common import (
    CallEdit,
    StreamEdit,
    TextSlot,
    ToolCall,
    dumps,
    edited_events,
    event_kind,
    event_payloads,
    json_text,
    list_at,
    respread,
)
from faultkit.formats.sse import SSEEvent

_CALL_TYPES = {"function_call": "arguments", "custom_tool_call": "input"}
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_ARG_DELTAS = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")
_ARG_DONES = ("response.function_call_arguments.done", "response.custom_tool_call_input.done")


def _is_call(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") in _CALL_TYPES


def _edit_item(item: dict[str, Any], edit: CallEdit, *, arguments: bool) -> None:
    args_key = _CALL_TYPES[item["type"]]
    if arguments and edit.arguments is not None and args_key in item:
        item[args_key] = edit.arguments
    edit.edit_name(item)
    edit.edit_id(item, "call_id")


# -- body -----------------------------------------------------------------------------------------
def tool_calls(doc: Any) -> list[ToolCall]:
    """Every ``function_call`` / ``custom_tool_call`` output item, in order."""
    out: list[ToolCall] = []
    for i, item in enumerate(list_at(doc, "output")):
        if _is_call(item):
            out.append(
                ToolCall(
                    position=len(out),
                    key=i,
                    id=item.get("call_id"),
                    name=item.get("name"),
                    arguments=json_text(item.get(_CALL_TYPES[item["type"]], "")),
                    where=f"output[{i}]",
                )
            )
    return out


def edit_tool_call(doc: Any, key: Any, edit: CallEdit) -> Any:
    new = copy.deepcopy(doc)
    _edit_item(new["output"][key], edit, arguments=True)
    return new


def duplicate_tool_call(doc: Any, key: Any) -> Any:
    """The call repeated right after itself: same ``call_id``, item ``id`` suffixed ``_dup``
    (item ids are the server's bookkeeping; the call id is what a client answers to)."""
    new = copy.deepcopy(doc)
    twin = copy.deepcopy(new["output"][key])
    if isinstance(twin.get("id"), str):
        twin["id"] += "_dup"
    new["output"].insert(key + 1, twin)
    return new


def output_texts(doc: Any) -> list[TextSlot]:
    """Each ``output_text`` part of each ``message`` output item."""
    out: list[TextSlot] = []
    for i, item in enumerate(list_at(doc, "output")):
        if not (isinstance(item, dict) and item.get("type") == "message"):
            continue
        for j, part in enumerate(item.get("content") or []):
            is_text = isinstance(part, dict) and part.get("type") == "output_text"
            if is_text and isinstance(part.get("text"), str):
                out.append(TextSlot((i, j), part["text"], f"output[{i}].content[{j}].text"))
    return out


def set_output_text(doc: Any, key: Any, text: str) -> Any:
    i, j = key
    new = copy.deepcopy(doc)
    new["output"][i]["content"][j]["text"] = text
    return new


# -- stream ---------------------------------------------------------------------------------------
def _stream_items(payloads: list[Any], events: list[SSEEvent]) -> dict[int, dict[str, Any]]:
    """output_index -> the most complete snapshot of that output item seen in the stream."""
    items: dict[int, dict[str, Any]] = {}
    for payload, event in zip(payloads, events, strict=True):
        kind = event_kind(payload, event)
        if kind in ("response.output_item.added", "response.output_item.done"):
            index = payload.get("output_index")
            if isinstance(index, int) and isinstance(payload.get("item"), dict):
                items[index] = payload["item"]
    return items


def stream_tool_calls(events: list[SSEEvent]) -> list[ToolCall]:
    """Every function call in a Responses stream, with its arguments assembled from the
    deltas (or taken from the ``.done`` event when no deltas were sent)."""
    payloads = event_payloads(events)
    items = _stream_items(payloads, events)
    out: list[ToolCall] = []
    for index in sorted(items):
        item = items[index]
        if not _is_call(item):
            continue
        deltas: list[str] = []
        done: str | None = None
        for payload, event in zip(payloads, events, strict=True):
            if not isinstance(payload, dict) or payload.get("output_index") != index:
                continue
            kind = event_kind(payload, event)
            if kind in _ARG_DELTAS and isinstance(payload.get("delta"), str):
                deltas.append(payload["delta"])
            elif kind in _ARG_DONES:
                value = payload.get("arguments", payload.get("input"))
                done = value if isinstance(value, str) else done
        arguments = "".join(deltas) if deltas else (done or "")
        out.append(
            ToolCall(
                position=len(out),
                key=index,
                id=item.get("call_id"),
                name=item.get("name"),
                arguments=arguments,
                where=f"stream.output[{index}]",
            )
        )
    return out


def _edit_stream_item(
    events: list[SSEEvent],
    index: int,
    item_fn: Callable[[dict[str, Any], bool], None],
    is_delta: Callable[[dict[str, Any], str | None], bool],
    new_text: str | None,
    done_fn: Callable[[dict[str, Any]], None],
) -> list[SSEEvent]:
    """Edit every telling of output item ``index``: ``item_fn(item, is_final)`` on each item
    snapshot, ``new_text`` re-spread over the ``delta`` fields of the events ``is_delta``
    accepts, and ``done_fn`` on the item's other events (``.done`` and part events)."""
    payloads = event_payloads(events)
    touched: set[int] = set()
    delta_events: list[int] = []
    for ei, (payload, event) in enumerate(zip(payloads, events, strict=True)):
        if not isinstance(payload, dict):
            continue
        kind = event_kind(payload, event)
        if kind in ("response.output_item.added", "response.output_item.done"):
            if payload.get("output_index") == index and isinstance(payload.get("item"), dict):
                item_fn(payload["item"], kind == "response.output_item.done")
                touched.add(ei)
        elif kind in _TERMINAL:
            output = list_at(payload.get("response"), "output")
            if 0 <= index < len(output) and isinstance(output[index], dict):
                item_fn(output[index], True)
                touched.add(ei)
        elif payload.get("output_index") == index:
            if is_delta(payload, kind):
                if isinstance(payload.get("delta"), str):
                    delta_events.append(ei)
            else:
                before = dumps(payload)
                done_fn(payload)
                if dumps(payload) != before:
                    touched.add(ei)
    if new_text is not None and delta_events:
        pieces = respread([len(payloads[ei]["delta"]) for ei in delta_events], new_text)
        for ei, piece in zip(delta_events, pieces, strict=True):
            payloads[ei]["delta"] = piece
            touched.add(ei)
    return edited_events(events, payloads, touched)


def edit_stream_tool_call(events: list[SSEEvent], key: Any, edit: CallEdit) -> StreamEdit:
    """``events`` with output item ``key`` (a function call) edited in every telling."""

    def item_fn(item: dict[str, Any], final: bool) -> None:
        if _is_call(item):
            # The added snapshot carries arguments "" by design; only final ones get the text.
            _edit_item(item, edit, arguments=final)

    def done_fn(payload: dict[str, Any]) -> None:
        if payload.get("type") in _ARG_DONES:
            field = "arguments" if "arguments" in payload else "input"
            if edit.arguments is not None and field in payload:
                payload[field] = edit.arguments
            edit.edit_name(payload)

    new = _edit_stream_item(
        events, key, item_fn, lambda _, kind: kind in _ARG_DELTAS, edit.arguments, done_fn
    )
    return new, {}


def duplicate_stream_tool_call(events: list[SSEEvent], key: Any) -> StreamEdit:
    """A second, complete function call item with the same ``call_id`` (item id suffixed
    ``_dup``, next free ``output_index``), inserted after the last output event and added to
    the terminal snapshot; later ``sequence_number`` values are shifted to stay monotonic."""
    payloads = event_payloads(events)
    items = _stream_items(payloads, events)
    call = next((c for c in stream_tool_calls(events) if c.key == key), None)
    if call is None:
        return events, {}
    twin = copy.deepcopy(items[key])
    args_key = _CALL_TYPES[twin["type"]]
    twin[args_key] = call.arguments
    if "status" in twin:
        twin["status"] = "completed"
    if isinstance(twin.get("id"), str):
        twin["id"] += "_dup"
    new_index = max(items) + 1
    terminal = next(
        (
            i
            for i, (p, e) in enumerate(zip(payloads, events, strict=True))
            if event_kind(p, e) in _TERMINAL
        ),
        None,
    )
    after = (terminal - 1) if terminal is not None else len(events) - 1
    seq = _last_seq(payloads[: after + 1])
    added = {**twin, args_key: ""}
    if "status" in added:
        added["status"] = "in_progress"
    kind = "function_call" if twin["type"] == "function_call" else "custom_tool_call"
    delta_type = (
        "response.function_call_arguments"
        if kind == "function_call"
        else "response.custom_tool_call_input"
    )
    item_id = twin.get("id")
    new_payloads = [
        {"type": "response.output_item.added", "item": added, "output_index": new_index},
        {
            "type": f"{delta_type}.delta",
            "delta": call.arguments,
            "item_id": item_id,
            "output_index": new_index,
        },
        {
            "type": f"{delta_type}.done",
            args_key: call.arguments,
            "item_id": item_id,
            "output_index": new_index,
        },
        {"type": "response.output_item.done", "item": twin, "output_index": new_index},
    ]
    numbered = seq is not None
    inserted: list[SSEEvent] = []
    for n, payload in enumerate(new_payloads, start=1):
        if numbered:
            payload["sequence_number"] = seq + n
        inserted.append(SSEEvent(event=payload["type"], data=dumps(payload)))
    shift = len(new_payloads) if numbered else 0
    out: list[SSEEvent] = []
    for i, (event, payload) in enumerate(zip(events, payloads, strict=True)):
        changed = False
        if i > after and isinstance(payload, dict):
            if shift and isinstance(payload.get("sequence_number"), int):
                payload["sequence_number"] += shift
                changed = True
            if event_kind(payload, event) in _TERMINAL:
                output = list_at(payload.get("response"), "output")
                if isinstance(payload.get("response"), dict) and "output" in payload["response"]:
                    output.append(copy.deepcopy(twin))
                    changed = True
        out.append(event.with_json(payload) if changed else event)
    return out, {after: inserted}


def _last_seq(payloads: list[Any]) -> int | None:
    for payload in reversed(payloads):
        if isinstance(payload, dict) and isinstance(payload.get("sequence_number"), int):
            return payload["sequence_number"]
    return None


def stream_output_texts(events: list[SSEEvent]) -> list[TextSlot]:
    """Each streamed ``output_text`` part, from its deltas (or its ``.done`` text)."""
    parts: dict[tuple[int, int], list[str]] = {}
    done: dict[tuple[int, int], str] = {}
    for event in events:
        payload = event.json()
        if not isinstance(payload, dict):
            continue
        kind = event_kind(payload, event)
        key = (payload.get("output_index"), payload.get("content_index"))
        if kind == "response.output_text.delta" and isinstance(payload.get("delta"), str):
            parts.setdefault(key, []).append(payload["delta"])
        elif kind == "response.output_text.done" and isinstance(payload.get("text"), str):
            done[key] = payload["text"]
            parts.setdefault(key, [])
    return [
        TextSlot(
            key,
            "".join(pieces) if pieces else done.get(key, ""),
            f"stream.output[{key[0]}].content[{key[1]}].text",
        )
        for key, pieces in parts.items()
    ]


def set_stream_output_text(events: list[SSEEvent], key: Any, text: str) -> list[SSEEvent]:
    """``events`` whose ``output_text`` part ``key`` now reads ``text`` in its deltas, its
    ``.done`` event, the part and item snapshots and the terminal response."""
    index, content_index = key

    def item_fn(item: dict[str, Any], final: bool) -> None:
        content = item.get("content")
        if final and isinstance(content, list) and 0 <= content_index < len(content):
            part = content[content_index]
            if isinstance(part, dict) and part.get("type") == "output_text":
                part["text"] = text

    def done_fn(payload: dict[str, Any]) -> None:
        if payload.get("content_index") != content_index:
            return
        if payload.get("type") == "response.output_text.done":
            payload["text"] = text
        elif payload.get("type") == "response.content_part.done":
            part = payload.get("part")
            if isinstance(part, dict) and part.get("type") == "output_text":
                part["text"] = text

    def is_delta(payload: dict[str, Any], kind: str | None) -> bool:
        return (
            kind == "response.output_text.delta"
            and payload.get("content_index", content_index) == content_index
        )

    return _edit_stream_item(events, index, item_fn, is_delta, text, done_fn)


def with_output(
    events: list[SSEEvent], told: list[dict[str, Any]], output: list[Any]
) -> list[SSEEvent]:
    """``events`` answering with another output: every output-item event (one that has an
    ``output_index``) gives way to ``told`` (event payloads, sent where the first of them was,
    or just before the terminal event), the terminal event's ``response.output`` becomes
    ``output``, and ``sequence_number`` is renumbered so it stays monotonic. The envelope
    events (``response.created``, ``.in_progress``) and the usage stay as recorded. For a
    fault that rewrites the whole answer (a refusal, a repeated tool call)."""
    payloads = event_payloads(events)
    out: list[dict[str, Any] | tuple[SSEEvent, Any]] = []
    inserted = False
    for event, payload in zip(events, payloads, strict=True):
        if isinstance(payload, dict) and "output_index" in payload:
            if not inserted:
                out.extend(told)
                inserted = True
            continue
        if event_kind(payload, event) in _TERMINAL and isinstance(payload, dict):
            if not inserted:
                out.extend(told)
                inserted = True
            response = payload.get("response")
            if isinstance(response, dict):
                response["output"] = output
        out.append((event, payload))
    new: list[SSEEvent] = []
    for seq, entry in enumerate(out):
        event, payload = entry if isinstance(entry, tuple) else (None, entry)
        if event is None or (isinstance(payload, dict) and "sequence_number" in payload):
            payload["sequence_number"] = seq
        if event is None:
            new.append(SSEEvent(event=payload["type"]).with_json(payload))
        else:
            new.append(event.with_json(payload) if isinstance(payload, dict) else event)
    return new
