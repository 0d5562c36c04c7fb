"""Anthropic Messages: find and edit tool calls and answer text, in a body or a stream.

Body: ``content[i]`` blocks; a tool call is a ``tool_use`` block whose ``input`` is a JSON
*object* (not a string as in OpenAI), the answer is the ``text`` blocks.

Stream: ``content_block_start`` opens block ``index`` (a ``tool_use`` with ``id``, ``name`` and
an empty ``input``), ``content_block_delta`` events carry ``input_json_delta.partial_json``
fragments (or ``text_delta.text``), ``content_block_stop`` closes it. Edits keep the events and
their ``event:`` lines (the SDK drops events without them) and re-spread new text over the
recorded fragment sizes.
"""

from __future__ import annotations

import copy
import json
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

_DELTA_FIELD = {"input_json_delta": "partial_json", "text_delta": "text"}


def _is_tool_use(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_use"


def input_value(arguments: str) -> Any:
    """The ``input`` to write for argument text: the parsed object when it is one, else the
    text itself as a string, which is not a valid ``input`` (F13) and is the point of the
    fault: a body cannot carry half an object, so a broken one becomes a string."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value if isinstance(value, dict) else arguments


def _edit_block(block: dict[str, Any], edit: CallEdit, *, set_input: bool) -> None:
    if set_input and edit.arguments is not None:
        block["input"] = input_value(edit.arguments)
    edit.edit_name(block)
    edit.edit_id(block)


# -- body -----------------------------------------------------------------------------------------
def tool_calls(doc: Any) -> list[ToolCall]:
    """Every ``tool_use`` block, in order; ``arguments`` is its ``input`` serialized."""
    out: list[ToolCall] = []
    for i, block in enumerate(list_at(doc, "content")):
        if _is_tool_use(block):
            out.append(
                ToolCall(
                    position=len(out),
                    key=i,
                    id=block.get("id"),
                    name=block.get("name"),
                    arguments=json_text(block.get("input", {})),
                    where=f"content[{i}]",
                )
            )
    return out


def edit_tool_call(doc: Any, key: Any, edit: CallEdit) -> Any:
    """A copy of ``doc`` with ``tool_use`` block ``key`` edited. New arguments that are not a
    JSON object are written as a string ``input`` (see :func:`input_value`)."""
    new = copy.deepcopy(doc)
    _edit_block(new["content"][key], edit, set_input=True)
    return new


def duplicate_tool_call(doc: Any, key: Any) -> Any:
    new = copy.deepcopy(doc)
    new["content"].insert(key + 1, copy.deepcopy(new["content"][key]))
    return new


def output_texts(doc: Any) -> list[TextSlot]:
    """Each ``text`` block."""
    return [
        TextSlot(i, block["text"], f"content[{i}].text")
        for i, block in enumerate(list_at(doc, "content"))
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ]


def set_output_text(doc: Any, key: Any, text: str) -> Any:
    new = copy.deepcopy(doc)
    new["content"][key]["text"] = text
    return new


# -- stream ---------------------------------------------------------------------------------------
def _stream_blocks(payloads: list[Any], events: list[SSEEvent]) -> dict[int, dict[str, Any]]:
    """block index -> its ``content_block`` from ``content_block_start``."""
    blocks: dict[int, dict[str, Any]] = {}
    for payload, event in zip(payloads, events, strict=True):
        # The event line names the kind even when the data is not JSON (a broken stream).
        if event_kind(payload, event) == "content_block_start" and isinstance(payload, dict):
            index, block = payload.get("index"), payload.get("content_block")
            if isinstance(index, int) and isinstance(block, dict):
                blocks[index] = block
    return blocks


def _deltas(payloads: list[Any], events: list[SSEEvent], index: int, delta_type: str) -> list[int]:
    out: list[int] = []
    field = _DELTA_FIELD[delta_type]
    for ei, (payload, event) in enumerate(zip(payloads, events, strict=True)):
        if event_kind(payload, event) != "content_block_delta" or not isinstance(payload, dict):
            continue
        if payload.get("index") != index:
            continue
        delta = payload.get("delta")
        matches = isinstance(delta, dict) and delta.get("type") == delta_type
        if matches and isinstance(delta.get(field), str):
            out.append(ei)
    return out


def stream_tool_calls(events: list[SSEEvent]) -> list[ToolCall]:
    """Every ``tool_use`` block in a stream, its input assembled from ``partial_json``. An
    input with no fragments (or only empty ones) reads as ``""``, as on the wire; the SDK
    treats that as ``{}``."""
    payloads = event_payloads(events)
    out: list[ToolCall] = []
    for index, block in sorted(_stream_blocks(payloads, events).items()):
        if not _is_tool_use(block):
            continue
        parts = [
            payloads[ei]["delta"]["partial_json"]
            for ei in _deltas(payloads, events, index, "input_json_delta")
        ]
        out.append(
            ToolCall(
                position=len(out),
                key=index,
                id=block.get("id"),
                name=block.get("name"),
                arguments="".join(parts),
                where=f"stream.content[{index}]",
            )
        )
    return out


def _set_stream_text(
    events: list[SSEEvent], payloads: list[Any], index: int, delta_type: str, text: str
) -> set[int]:
    """Re-spread ``text`` over block ``index``'s deltas of ``delta_type`` (edited in
    ``payloads``); returns the indexes of the events changed."""
    field = _DELTA_FIELD[delta_type]
    slots = _deltas(payloads, events, index, delta_type)
    touched: set[int] = set()
    if not slots:
        return touched
    pieces = respread([len(payloads[ei]["delta"][field]) for ei in slots], text)
    for ei, piece in zip(slots, pieces, strict=True):
        if payloads[ei]["delta"][field] != piece:
            payloads[ei]["delta"][field] = piece
            touched.add(ei)
    return touched


def edit_stream_tool_call(events: list[SSEEvent], key: Any, edit: CallEdit) -> StreamEdit:
    """``events`` with ``tool_use`` block ``key`` edited: id/name on its start event, the new
    argument text over its ``partial_json`` fragments. A block streamed with no fragment at all
    gets one, inserted right after its start event."""
    payloads = event_payloads(events)
    touched: set[int] = set()
    start_at: int | None = None
    for ei, (payload, event) in enumerate(zip(payloads, events, strict=True)):
        if event_kind(payload, event) == "content_block_start" and payload.get("index") == key:
            block = payload.get("content_block")
            if isinstance(block, dict):
                _edit_block(block, edit, set_input=False)
                touched.add(ei)
                start_at = ei
    inserts: dict[int, list[SSEEvent]] = {}
    if edit.arguments is not None:
        if _deltas(payloads, events, key, "input_json_delta"):
            touched |= _set_stream_text(events, payloads, key, "input_json_delta", edit.arguments)
        elif start_at is not None:
            inserts[start_at] = [fragment_event(key, edit.arguments)]
    new = edited_events(events, payloads, touched)
    return new, inserts


def fragment_event(index: int, partial_json: str) -> SSEEvent:
    """A ``content_block_delta`` event carrying ``partial_json`` for block ``index``."""
    payload = {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial_json},
    }
    return SSEEvent(event="content_block_delta", data=dumps(payload))


def duplicate_stream_tool_call(events: list[SSEEvent], key: Any) -> StreamEdit:
    """A second, complete ``tool_use`` block with the same id, name and input, as the next
    block index, inserted after the last ``content_block_stop`` (before ``message_delta``)."""
    payloads = event_payloads(events)
    blocks = _stream_blocks(payloads, events)
    call = next((c for c in stream_tool_calls(events) if c.key == key), None)
    if call is None:
        return events, {}
    new_index = max(blocks) + 1
    stops = [
        ei
        for ei, (p, e) in enumerate(zip(payloads, events, strict=True))
        if event_kind(p, e) == "content_block_stop"
    ]
    after = stops[-1] if stops else len(events) - 1
    start = {
        "type": "content_block_start",
        "index": new_index,
        "content_block": {**blocks[key], "input": {}},
    }
    stop = {"type": "content_block_stop", "index": new_index}
    inserted = [
        SSEEvent(event="content_block_start", data=dumps(start)),
        fragment_event(new_index, call.arguments),
        SSEEvent(event="content_block_stop", data=dumps(stop)),
    ]
    return events, {after: inserted}


def stream_output_texts(events: list[SSEEvent]) -> list[TextSlot]:
    """Each streamed ``text`` block, assembled from its ``text_delta`` events."""
    payloads = event_payloads(events)
    out: list[TextSlot] = []
    for index, block in sorted(_stream_blocks(payloads, events).items()):
        if block.get("type") != "text":
            continue
        parts = [block.get("text") or ""] + [
            payloads[ei]["delta"]["text"] for ei in _deltas(payloads, events, index, "text_delta")
        ]
        out.append(TextSlot(index, "".join(parts), f"stream.content[{index}].text"))
    return out


def set_stream_output_text(events: list[SSEEvent], key: Any, text: str) -> list[SSEEvent]:
    """``events`` whose text block ``key`` now reads ``text``, re-spread over its recorded
    deltas (text that the start event carried moves into them)."""
    payloads = event_payloads(events)
    has_deltas = bool(_deltas(payloads, events, key, "text_delta"))
    touched = _set_stream_text(events, payloads, key, "text_delta", text)
    for ei, (payload, event) in enumerate(zip(payloads, events, strict=True)):
        if event_kind(payload, event) == "content_block_start" and payload.get("index") == key:
            block = payload.get("content_block")
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                start_text = "" if has_deltas else text
                if block["text"] != start_text:
                    block["text"] = start_text
                    touched.add(ei)
    return edited_events(events, payloads, touched)
