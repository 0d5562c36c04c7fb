"""Provider-neutral shapes and plan plumbing shared by the meaning-level format helpers.

Each provider module (``openai_chat``, ``openai_responses``, ``anthropic_messages``) exposes the
same functions over a parsed JSON body and over a list of SSE events, in terms of the values
defined here: a :class:`ToolCall` as the client would assemble it, a :class:`CallEdit` saying what
to change in one, and a :class:`TextSlot` for a piece of final answer text. Faults pick the
module by wire format and never look at provider field names themselves.

The plan helpers read and write a JSON body or the event list of a plan, keeping the recorded
timing (``Wait`` actions) in place, so a meaning-level edit does not change the pacing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from faultkit.exchange import without_headers
from faultkit.formats.codecs import UndecodableBody, decode_body, split_codings
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Action, Close, Plan, Reset, SendEvent

NOT_JSON: Any = object()
"""Returned by :func:`read_json_body` when the body is empty, not JSON or not decodable."""


# -- provider-neutral shapes --------------------------------------------------------------------
@dataclass(frozen=True)
class ToolCall:
    """One tool call as the client would assemble it.

    ``arguments`` is the JSON text the client parses (OpenAI sends a string; for an Anthropic
    body the ``input`` object is shown serialized). ``key`` is opaque: pass it back to the same
    module's edit functions. ``where`` is a readable path for the ledger.
    """

    position: int
    key: Any
    id: str | None
    name: str | None
    arguments: str
    where: str


@dataclass(frozen=True)
class CallEdit:
    """What to change in one tool call; ``None`` keeps a field as it is.

    ``id=""`` sends an empty id; ``drop_id=True`` removes the id field altogether.
    """

    arguments: str | None = None
    name: str | None = None
    id: str | None = None
    drop_id: bool = False

    def edit_name(self, holder: dict[str, Any]) -> bool:
        """The new name, in the object that holds the call's ``name`` (only where it has one);
        whether it was written."""
        if self.name is not None and "name" in holder:
            holder["name"] = self.name
            return True
        return False

    def edit_id(self, call: dict[str, Any], field: str = "id") -> bool:
        """The id change on a call whose id is ``field``: removed with ``drop_id``, else
        replaced, where the call has one (a call recorded without an id never gains one);
        whether anything changed."""
        if field not in call or (self.id is None and not self.drop_id):
            return False
        if self.drop_id:
            del call[field]
        else:
            call[field] = self.id
        return True


@dataclass(frozen=True)
class TextSlot:
    """One piece of final answer text (a message content, an ``output_text`` part, a text
    block). ``key`` is opaque, for the module's ``set_*`` functions."""

    key: Any
    text: str
    where: str


StreamEdit = tuple[list[SSEEvent], dict[int, list[SSEEvent]]]
"""A stream edit: the events (same length, edited in place) and events to insert after the
event at each index. See :func:`replace_events`."""


# -- fragments ------------------------------------------------------------------------------------
def respread(lengths: list[int], text: str) -> list[str]:
    """Split ``text`` over fragments that had ``lengths``: each keeps its recorded size while
    text lasts, the last takes the remainder. A shorter text leaves the later fragments empty,
    which every provider accepts (an empty delta is normal), so the event count and pacing stay
    as recorded."""
    if not lengths:
        return []
    out: list[str] = []
    pos = 0
    for length in lengths[:-1]:
        out.append(text[pos : pos + length])
        pos = min(len(text), pos + length)
    out.append(text[pos:])
    return out


# -- JSON inside answer text ----------------------------------------------------------------------
@dataclass(frozen=True)
class JsonText:
    """A JSON object or array found in answer text, with what surrounds it (whitespace, a
    Markdown code fence), so an edited value can be written back the same way."""

    prefix: str
    value: Any
    suffix: str
    indent: int | None
    spaced: bool = False


def parse_json_text(text: str) -> JsonText | None:
    """The structured output in ``text``: a JSON object or array, optionally inside a
    ```json fence. None for prose, scalars or anything that does not parse."""
    stripped = text.strip()
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    prefix, suffix, inner = lead, trail, stripped
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) > 6:
        first_newline = stripped.find("\n")
        if first_newline < 0:
            return None
        body = stripped[first_newline + 1 : -3]
        prefix = lead + stripped[: first_newline + 1]
        suffix = ("\n" if body.endswith("\n") else "") + "```" + trail
        inner = body.strip()
    if not inner or inner[0] not in "{[":
        return None
    try:
        value = json.loads(inner)
    except ValueError:
        return None
    if not isinstance(value, dict | list):
        return None
    indent = _indent_of(inner)
    spaced = indent is None and ('": ' in inner or ", " in inner)
    return JsonText(prefix=prefix, value=value, suffix=suffix, indent=indent, spaced=spaced)


def _indent_of(inner: str) -> int | None:
    """The indent width of pretty-printed JSON (None when it is on one line)."""
    lines = inner.split("\n")
    if len(lines) < 2:
        return None
    width = len(lines[1]) - len(lines[1].lstrip(" "))
    return width or 2


def render_json_text(original: JsonText, value: Any) -> str:
    """``value`` written back in the place and layout of ``original``."""
    if original.indent is not None:
        separators = (",", ": ")
    else:
        separators = (", ", ": ") if original.spaced else (",", ":")
    dumped = json.dumps(value, ensure_ascii=False, indent=original.indent, separators=separators)
    return f"{original.prefix}{dumped}{original.suffix}"


def dumps(value: Any) -> str:
    """Compact JSON, the way providers write bodies."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_text(value: Any) -> str:
    """Tool-call arguments as the client reads them: a string as sent, any other JSON value
    (an Anthropic ``input`` object) serialized compactly."""
    return value if isinstance(value, str) else dumps(value)


def list_at(doc: Any, key: str) -> list[Any]:
    """``doc[key]`` when ``doc`` is an object holding a list there (the list itself, so an
    edit lands in ``doc``), else ``[]``."""
    if isinstance(doc, dict) and isinstance(doc.get(key), list):
        return doc[key]
    return []


# -- stream events --------------------------------------------------------------------------------
def event_kind(payload: Any, event: SSEEvent) -> str | None:
    """What an event is: its payload's ``type`` field, else its ``event:`` name."""
    if isinstance(payload, dict) and isinstance(payload.get("type"), str):
        return payload["type"]
    return event.event


def edited_events(events: list[SSEEvent], payloads: list[Any], touched: set[int]) -> list[SSEEvent]:
    """``events`` with each one in ``touched`` re-encoded from its edited payload; the others
    are kept byte for byte."""
    return [events[i].with_json(payloads[i]) if i in touched else e for i, e in enumerate(events)]


# -- plan plumbing --------------------------------------------------------------------------------
def _decoded(plan: Plan) -> bytes:
    """The body bytes of a non-stream plan, decoded per its ``content-encoding`` (gzip,
    deflate, br when brotli is installed: the codecs cassettes are loaded with) when the bytes
    really are encoded; a loader may have decoded them already, so bytes that do not decode
    are taken as they are."""
    body = plan.body_bytes()
    head = plan.head
    value = head.header("content-encoding") if head is not None else None
    if not value or not body:
        return body
    try:
        decoded, remaining = decode_body(body, split_codings(value))
    except UndecodableBody:
        return body
    return body if remaining else decoded


def read_json_body(plan: Plan) -> Any:
    """The JSON value of a non-stream plan's body, or :data:`NOT_JSON`."""
    if plan.is_sse:
        return NOT_JSON
    body = _decoded(plan)
    if not body.strip():
        return NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


def write_json_body(plan: Plan, value: Any) -> Plan:
    """``plan`` answering with ``value`` as its JSON body. The body is always sent uncompressed
    (any ``content-encoding`` is dropped): the edit is what matters, and every client accepts
    identity encoding."""
    new = plan.with_body(dumps(value).encode())
    head = new.head
    if head is not None and head.header("content-encoding"):
        headers = without_headers(head.headers, "content-encoding")
        new = new.with_head(head.model_copy(update={"headers": headers}))
    return new


def replace_events(
    plan: Plan,
    events: list[SSEEvent],
    inserts: dict[int, list[SSEEvent]] | None = None,
) -> Plan:
    """``plan`` with its i-th event replaced by ``events[i]`` and ``inserts[i]`` sent right
    after it. Waits, the head and the ending stay where they were."""
    inserts = inserts or {}
    out: list[Action] = []
    index = 0
    for action in plan.actions:
        if isinstance(action, SendEvent):
            new = events[index] if index < len(events) else action.event
            out.append(action if new is action.event else SendEvent(event=new))
            out.extend(SendEvent(event=e) for e in inserts.get(index, []))
            index += 1
        else:
            out.append(action)
    return plan.replace(out)


def with_events(plan: Plan, events: list[SSEEvent]) -> Plan:
    """``plan`` sending ``events`` in the places of its recorded events (the waits between
    them stay, so the pacing is as recorded); events beyond the recorded count go just
    before the ending. For a fault that rewrites an answer into another number of events
    (a refusal, a repeated tool call)."""
    out: list[Action] = []
    queue = list(events)
    for action in plan.actions:
        if isinstance(action, SendEvent):
            if queue:
                out.append(SendEvent(event=queue.pop(0)))
        elif isinstance(action, Close | Reset):
            out.extend(SendEvent(event=e) for e in queue)
            queue = []
            out.append(action)
        else:
            out.append(action)
    out.extend(SendEvent(event=e) for e in queue)
    return plan.replace(out)


def event_payloads(events: list[SSEEvent]) -> list[Any]:
    """The parsed JSON of each event (None where there is none), computed once per fault."""
    return [e.json() for e in events]
