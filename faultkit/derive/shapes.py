"""What a set of cassettes shows about an app: which providers it calls, how, and which tools.

Deriving scenarios starts here, from facts only: a fault family is instantiated for a shape
only when the recordings prove the shape is there (a stream fault for a provider that never
streamed would never fire, and a scenario that never fires is a false green). Everything is
read the way the engine reads a live exchange: the route from the host
(:func:`~faultkit.doors.timeline.route_for_host`), the wire format from
:func:`~faultkit.formats.detect.detect_format`, tool calls and answer text through the same
provider modules the faults edit with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from faultkit.cassettes import Cassette, Interaction
from faultkit.doors.timeline import route_for_host
from faultkit.faults.answer import Answer
from faultkit.formats import jsonpath, mcp
from faultkit.formats.common import NOT_JSON, parse_json_text, read_json_body
from faultkit.formats.detect import (
    WireFormat,
    detect_format,
    provider_of,
    request_streams,
    structured_output_tool,
)
from faultkit.plan import Plan

_ID_KEY = re.compile(r"(^|_)id$|Id$|^uuid$", re.IGNORECASE)


@dataclass
class ProviderShape:
    """One LLM provider as the recordings show it."""

    provider: str
    formats: dict[str, None] = field(default_factory=dict)
    hosts: dict[str, None] = field(default_factory=dict)
    calls: int = 0
    streams: int = 0
    stream_events: list[int] = field(default_factory=list)
    tool_call_answers: int = 0
    # Successful answers with text or a tool call: what a token limit can cut or a refusal
    # can replace.
    answers: int = 0
    structured_answers: list[dict[str, Any]] = field(default_factory=list)
    required_fields: dict[str, None] = field(default_factory=dict)
    files: dict[str, None] = field(default_factory=dict)

    @property
    def min_stream_events(self) -> int:
        return min(self.stream_events, default=0)


@dataclass
class ToolRouteShape:
    """One non-LLM upstream (a JSON API or an MCP server), keyed by its route."""

    route: str
    formats: dict[str, None] = field(default_factory=dict)
    calls: int = 0
    mcp_tools: dict[str, None] = field(default_factory=dict)
    # Scalar fields of its successful answers: key name -> (depth, values, stated by a model).
    fields: dict[str, _Field] = field(default_factory=dict)
    files: dict[str, None] = field(default_factory=dict)

    @property
    def is_mcp(self) -> bool:
        return WireFormat.mcp.value in self.formats


@dataclass
class _Field:
    depth: int
    order: int
    values: list[Any] = field(default_factory=list)
    inputs: bool = False  # the value was also in the request (an id the app asked with)
    stated: bool = False  # a model answer states the value


@dataclass
class Shapes:
    """Everything derived scenarios are built from, in first-seen order."""

    providers: dict[str, ProviderShape] = field(default_factory=dict)
    tool_routes: dict[str, ToolRouteShape] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    answer_text: list[str] = field(default_factory=list)


def observe(cassettes: Iterable[Cassette]) -> Shapes:
    """The shapes present in ``cassettes`` (pure: reads loaded recordings only)."""
    shapes = Shapes()
    for cassette in cassettes:
        name = cassette.path.name
        shapes.files.append(str(cassette.path))
        for interaction in cassette.interactions:
            _observe(shapes, interaction, name)
    _mark_stated(shapes)
    return shapes


def route_of(url: str) -> str:
    """The route a request to ``url`` gets in the doors: its host, or the provider's name."""
    return route_for_host(urlsplit(url).hostname or "")


def _observe(shapes: Shapes, interaction: Interaction, file: str) -> None:
    request, response = interaction.request, interaction.response
    fmt = detect_format(request, response.content_type)
    provider = provider_of(fmt)
    ok = 200 <= response.head.status < 300
    if provider is None:
        route = route_of(request.url)
        shape = shapes.tool_routes.setdefault(route, ToolRouteShape(route))
        shape.formats[fmt.value] = None
        shape.calls += 1
        shape.files[file] = None
        if ok:
            _tool_fields(shape, request, Plan.from_response(response, 0), fmt)
        return
    shape = shapes.providers.setdefault(provider, ProviderShape(provider))
    shape.formats[fmt.value] = None
    shape.hosts[urlsplit(request.url).hostname or ""] = None
    shape.calls += 1
    shape.files[file] = None
    carrier = structured_output_tool(request)
    _required_fields(shape, request.json_body, carrier)
    if not ok:
        return
    plan = Plan.from_response(response, 0)
    # Stream rules match requests that ask for a stream; count those answered with one.
    if plan.is_sse and request_streams(request):
        shape.streams += 1
        shape.stream_events.append(len(plan.events()))
    answer = Answer.read(plan, fmt)
    if answer is None:
        return
    calls = answer.tool_calls()
    if calls:
        shape.tool_call_answers += 1
    if calls or any(slot.text for slot in answer.output_texts()):
        shape.answers += 1
    for call in calls:
        shapes.answer_text.append(call.arguments)
        if carrier is not None and call.name == carrier:
            _structured(shape, parse_json_text(call.arguments))
    for slot in answer.output_texts():
        shapes.answer_text.append(slot.text)
        _structured(shape, parse_json_text(slot.text))


def _structured(shape: ProviderShape, parsed: Any) -> None:
    if parsed is not None and isinstance(parsed.value, dict) and parsed.value:
        shape.structured_answers.append(parsed.value)


def _required_fields(shape: ProviderShape, body: Any, carrier: str | None) -> None:
    """Fields the app's own output schema requires (chat ``response_format``, Responses
    ``text.format``, or the parameters of the tool that carries the answer): renaming one
    must be noticed."""
    if not isinstance(body, dict):
        return
    schemas: list[Any] = []
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        schemas.append(fmt["json_schema"].get("schema"))
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        schemas.append(text["format"].get("schema"))
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        spec = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if carrier is not None and spec.get("name") == carrier:
            schemas.append(spec.get("parameters") or spec.get("input_schema"))
    for schema in schemas:
        if isinstance(schema, dict) and isinstance(schema.get("required"), list):
            for name in schema["required"]:
                if isinstance(name, str):
                    shape.required_fields[name] = None


def _tool_fields(shape: ToolRouteShape, request: Any, plan: Plan, fmt: WireFormat) -> None:
    docs: list[Any] = []
    if fmt is WireFormat.mcp:
        located = mcp.read_message(plan)
        result = mcp.tool_result(located.value) if located is not None else None
        if result is None:
            return
        body = request.json_body
        params = body.get("params") if isinstance(body, dict) else None
        if isinstance(params, dict) and isinstance(params.get("name"), str):
            shape.mcp_tools[params["name"]] = None
        docs = [doc.value for doc in mcp.result_documents(result)][:1]
    else:
        doc = read_json_body(plan)
        if doc is not NOT_JSON:
            docs = [doc]
    asked = request.url + " " + request.body.decode("utf-8", "replace")
    for doc in docs:
        for parts in jsonpath.leaf_field_paths(doc):
            key = parts[-1]
            value = jsonpath.get(doc, parts)
            if not isinstance(key, str) or not _droppable(key, value):
                continue
            entry = shape.fields.setdefault(key, _Field(depth=len(parts), order=len(shape.fields)))
            entry.depth = min(entry.depth, len(parts))
            entry.values.append(value)
            entry.inputs = entry.inputs or _mentions(asked, value)


def _droppable(key: str, value: Any) -> bool:
    """A field worth removing: a plain key (usable as a ``fields`` name) holding a fact, not
    an identifier, a flag or an empty value."""
    if any(c in key for c in ".[]*'\"") or _ID_KEY.search(key):
        return False
    if value is None or isinstance(value, bool):
        return False
    return not (isinstance(value, str) and not value.strip())


def _mentions(text: str, value: Any) -> bool:
    """Whether ``text`` states ``value``: a number as a whole number (``18`` in "18 days",
    not in "1800"; ``138.0`` also as ``138``), a string case-insensitively."""
    if isinstance(value, int | float):
        forms = {str(value)}
        if isinstance(value, float) and value.is_integer():
            forms.add(str(int(value)))
        return any(re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", text) for f in forms)
    needle = str(value).strip().lower()
    return len(needle) >= 2 and needle in text.lower()


def _mark_stated(shapes: Shapes) -> None:
    text = "\n".join(shapes.answer_text)
    for route in shapes.tool_routes.values():
        for entry in route.fields.values():
            entry.stated = any(_mentions(text, v) for v in entry.values)


def facts_to_drop(route: ToolRouteShape, limit: int = 2) -> list[str]:
    """The fields a partial-data fault removes from ``route``'s answers: facts the models'
    recorded answers state (those are what an app could pass on as known after they are gone),
    shallowest first; else the first facts the tool returns. Never the ids the app asked with."""
    facts = [(k, f) for k, f in route.fields.items() if not f.inputs]
    stated = [(k, f) for k, f in facts if f.stated]
    chosen = stated or facts
    chosen.sort(key=lambda item: (item[1].depth, item[1].order))
    return [k for k, _ in chosen[:limit]]


def structured_field(shape: ProviderShape) -> str | None:
    """The field of the structured answer a drift renames: one every recorded structured
    answer carries, preferably required by the app's schema and not an identifier."""
    if not shape.structured_answers:
        return None
    common = [k for k in shape.structured_answers[0] if _plain(k)]
    for other in shape.structured_answers[1:]:
        common = [k for k in common if k in other]
    # An id the user gave (``order_id``) says little; a fact of the answer (``status``) does.
    ranked = sorted(
        common,
        key=lambda k: (k not in shape.required_fields, bool(_ID_KEY.search(k)), common.index(k)),
    )
    return ranked[0] if ranked else None


def _plain(key: str) -> bool:
    return bool(key) and not any(c in key for c in ".[]*'\"")


def summary(values: Iterable[str], noun: str, most: int = 3) -> str:
    """``values`` once each, comma-separated; past ``most`` only how many ``noun``."""
    unique = list(dict.fromkeys(values))
    return ", ".join(unique) if len(unique) <= most else f"{len(unique)} {noun}"


__all__ = [
    "ProviderShape",
    "Shapes",
    "ToolRouteShape",
    "facts_to_drop",
    "observe",
    "route_of",
    "structured_field",
]
