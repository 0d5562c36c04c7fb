"""Schema drift: a field is renamed, dropped, retyped, added or nested (F19, §6.12).

Providers and tools change shape without notice: a new field, a number that becomes a string,
``finish_reason`` renamed, a value wrapped in an object. The official SDKs accept it silently,
so drift surfaces later, in the application. A robust system validates what it got against its
contract and fails in a controlled way (or tolerates harmless additions); a naive one returns
the drifted value as if it were valid.

``target`` says which JSON drifts:

- ``output`` (default): the structured output inside the answer: the JSON in
  ``message.content`` (Chat Completions), in an ``output_text`` part (Responses), in a ``text``
  block (Anthropic), ``structuredContent`` (and the matching JSON text block) of an MCP tool
  result, or the whole body of a generic ``json`` tool. In a stream the answer text is
  reassembled from its deltas, drifted, and re-spread over the same delta events, so framing,
  event count and pacing stay as recorded. Prose that is not JSON is left alone (nothing is
  recorded).
- ``body``: the provider envelope itself (``choices[0].finish_reason``, ``usage``...). In a
  stream, the path is applied to every event payload that has it.
- ``structured``: the structured answer wherever the app reads it. When the request makes a
  tool the carrier of the answer (``tool_choice`` forces one named tool, as instructor's tools
  mode and langchain's ``with_structured_output`` do; a tool named ``final_result*``, as
  pydantic-ai names its output tool; or ``tool_choice`` requires a tool and only one is
  declared), the arguments of that tool's call drift, in a body or in a stream of argument
  deltas. Otherwise (and when the answer has no such call) it is ``output``: the JSON message
  content, which is also where a ``response_format: json_schema`` answer is. Use this target to
  mean "the answer the app parses" without knowing how the app asks for it; the bundled
  ``schema-drift-structured-output`` does.
- ``tool_arguments``: the arguments of tool call ``call``, whichever tool it calls.

``path`` is a dotted path inside that JSON (``order.items[2].price``; ``*`` matches any key or
index); without it one is chosen from the fields present with the seeded RNG. Defaults:
``rename`` -> ``<name>_v2``; ``add`` -> ``unexpected_field: "drift"``; ``retype`` -> number <->
string, bool -> ``"true"``/``"false"``, list -> object, object -> its JSON as a string, null ->
0; ``nest`` -> the field's value moves one level down, ``{"<name>": {"value": <original>}}``.

Alteration paths name the JSON inside a string with ``::`` (``choices[0].message.content::
order.total``), so the oracle can look for the drifted values in the answer.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from faultkit.faults.answer import MODULES, Answer
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats import jsonpath, mcp
from faultkit.formats.common import (
    NOT_JSON,
    CallEdit,
    ToolCall,
    parse_json_text,
    read_json_body,
    render_json_text,
    replace_events,
    write_json_body,
)
from faultkit.formats.common import dumps as compact
from faultkit.formats.detect import WireFormat, structured_output_tool
from faultkit.formats.jsonpath import Parts
from faultkit.plan import Plan

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

Op = Literal["rename", "drop", "retype", "add", "nest"]
ADDED_NAME = "unexpected_field"
ADDED_VALUE = "drift"


# -- the pure drift -------------------------------------------------------------------------------
def retyped(value: Any) -> Any:
    """The default type change: number <-> string, bool -> "true"/"false", list -> object,
    object -> its JSON as a string, null -> 0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return 0
        if not math.isfinite(number):
            return 0
        return int(number) if number.is_integer() and "." not in value else number
    if isinstance(value, list):
        return {str(i): item for i, item in enumerate(value)}
    if isinstance(value, dict):
        return compact(value)
    return 0


def candidates(value: Any, op: Op) -> list[Parts]:
    """Where ``op`` can apply in ``value``: object members, or (for ``add``) objects."""
    if op == "add":
        return jsonpath.object_paths(value)
    return jsonpath.field_paths(value)


def choose_path(values: list[Any], op: Op, rng: random.Random) -> Parts | None:
    """A path chosen with ``rng`` among the candidates of all ``values`` (first-seen order);
    for ``add`` this is the *parent* object's path."""
    seen: dict[Parts, None] = {}
    for value in values:
        for parts in candidates(value, op):
            seen.setdefault(parts, None)
    return rng.choice(list(seen)) if seen else None


def _added_name(parent: Any) -> str:
    name, n = ADDED_NAME, 2
    while isinstance(parent, dict) and name in parent:
        name, n = f"{ADDED_NAME}_{n}", n + 1
    return name


@dataclass(frozen=True)
class Change:
    """One applied drift: where, what, from and to (for the ledger)."""

    parts: Parts
    action: str
    original: Any = None
    value: Any = None


def drift_at(
    value: Any,
    op: Op,
    parts: Parts,
    *,
    new_name: str | None = None,
    new_value: Any = None,
    has_value: bool = False,
    exact: bool = False,
) -> tuple[Any, list[Change]]:
    """``value`` with ``op`` applied at every match of the pattern ``parts`` (for ``add``,
    the new member's full path). With ``exact``, ``parts`` is a concrete path (a key named
    ``*`` is then just a key). Returns the new value and the changes (none when nothing
    matched)."""

    def matches(pattern: Parts) -> list[Parts]:
        if exact:
            return [pattern] if jsonpath.exists(value, pattern) else []
        return jsonpath.expand(value, pattern)

    changes: list[Change] = []
    if op == "add":
        for parent in matches(parts[:-1]):
            node = jsonpath.get(value, parent)
            if not isinstance(node, dict):
                continue
            target = (*parent, parts[-1])
            new = new_value if has_value else ADDED_VALUE
            action = "replaced" if parts[-1] in node else "added"
            changes.append(Change(target, action, node.get(parts[-1]), new))
            value = jsonpath.set_value(value, target, new)
        return value, changes
    # Every match is an object member, so editing one never moves another.
    for target in [p for p in matches(parts) if p and isinstance(p[-1], str)]:
        old = jsonpath.get(value, target)
        name = target[-1]
        if op == "rename":
            renamed = new_name or f"{name}_v2"
            if renamed in jsonpath.get(value, target[:-1]):
                continue  # the new name is taken: renaming would silently drop a field
            value = jsonpath.rename(value, target, renamed)
            changes.append(Change(target, "renamed", name, renamed))
        elif op == "drop":
            value = jsonpath.delete(value, target)
            changes.append(Change(target, "removed", old))
        elif op == "retype":
            new = new_value if has_value else retyped(old)
            value = jsonpath.set_value(value, target, new)
            changes.append(Change(target, "retyped", old, new))
        else:  # nest
            new = {"value": old}
            value = jsonpath.set_value(value, target, new)
            changes.append(Change(target, "nested", old, new))
    return value, changes


# -- the fault ------------------------------------------------------------------------------------
class SchemaDrift(Fault):
    """Rename, drop, retype, add or nest one field of the output, the envelope or tool
    arguments."""

    type: Literal["schema_drift"] = "schema_drift"
    category = "meaning"
    search_order = 100
    leaks_values = True
    op: Op = Field(description="rename | drop | retype | add | nest")
    target: Literal["output", "structured", "body", "tool_arguments"] = Field(
        "output",
        description="Which JSON drifts: output (the JSON message content), structured (the "
        "structured answer wherever carried: content or an output tool's arguments), body (the "
        "envelope), tool_arguments (tool call `call`).",
    )
    path: str | None = Field(
        None, description="Dotted path of the field (for add: of the new field); default random."
    )
    new_name: str | None = Field(None, min_length=1, description="rename: the new name.")
    value: Any = Field(None, description="add / retype: the value to write.")
    call: int = Field(0, ge=0, description="tool_arguments: which tool call (0 = the first).")

    formats: ClassVar[frozenset[WireFormat] | None] = frozenset(
        {*MODULES, WireFormat.json, WireFormat.mcp}
    )

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """Drift at a field the fault picks with the scenario's seed (no model or payload
        known). For drift aimed at your own output model's fields, use
        ``faultkit.strategies.schema_drifts(model=...)``."""
        from hypothesis import strategies as st

        return st.builds(
            lambda op, target: cls(op=op, target=target),
            st.sampled_from(("drop", "retype", "rename", "nest", "add")),
            st.sampled_from(("output", "tool_arguments", "body")),
        )

    def describe(self) -> str:
        where = {
            "output": "output",
            "structured": "structured answer",
            "body": "response body",
            "tool_arguments": "tool arguments",
        }[self.target]
        field = f"{where} field {self.path}" if self.path else f"a {where} field"
        has_value = "value" in self.model_fields_set
        if self.op == "rename":
            return f"{field} renamed" + (f" to {self.new_name}" if self.new_name else "")
        if self.op == "drop":
            return f"{field} dropped"
        if self.op == "nest":
            return f"{field} nested one level down"
        if self.op == "add":
            value = f" = {self.value!r}" if has_value else ""
            return f"{field} added{value}" if self.path else f"unexpected {where} field added"
        if has_value:
            if self.value is None:
                return f"{field} becomes null"
            return f"{field} becomes {self.value!r}"
        return f"{field} changes type"

    @field_validator("path")
    @classmethod
    def _valid_path(cls, path: str | None) -> str | None:
        if path is not None:
            jsonpath.field_path(path, root_error="path must name a field, not the whole document")
        return path

    @property
    def _has_value(self) -> bool:
        return "value" in self.model_fields_set

    def params(self) -> dict[str, Any]:
        """As written in a scenario; ``value`` only when given, because ``value: null`` (write
        null) and no value (use the default for the op) mean different drifts."""
        params = super().params()
        if not self._has_value:
            params.pop("value", None)
        return params

    def _parts(self, values: list[Any], rng: random.Random) -> tuple[Parts, bool] | None:
        """The path to drift and whether it is concrete (chosen) rather than a pattern."""
        if self.path is not None:
            return jsonpath.parse_path(self.path), False
        chosen = choose_path(values, self.op, rng)
        if chosen is None:
            return None
        if self.op == "add":
            parent = jsonpath.get(values[0], chosen, None) if values else None
            return (*chosen, _added_name(parent)), True
        return chosen, True

    def _drift_at(self, value: Any, where: tuple[Parts, bool]) -> tuple[Any, list[Change]]:
        parts, exact = where
        return drift_at(
            value,
            self.op,
            parts,
            new_name=self.new_name,
            new_value=self.value,
            has_value=self._has_value,
            exact=exact,
        )

    def drift(self, value: Any, rng: random.Random) -> tuple[Any, list[Change]]:
        """``value`` drifted as configured (path from ``rng`` when not given)."""
        where = self._parts([value], rng)
        return (value, []) if where is None else self._drift_at(value, where)

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        if self.target == "tool_arguments":
            return self._apply_tool_arguments(plan, ctx)
        if self.target == "structured" and ctx.format in MODULES:
            return self._apply_structured(plan, ctx)
        if ctx.format is WireFormat.mcp:
            return self._apply_mcp(plan, ctx)
        if self.target == "body" or ctx.format is WireFormat.json:
            if plan.is_sse:
                return self._apply_stream_body(plan, ctx)
            doc = read_json_body(plan)
            if doc is NOT_JSON:
                return Applied(plan, [])
            new, changes = self.drift(doc, ctx.rng)
            if not changes:
                return Applied(plan, [])
            return Applied(write_json_body(plan, new), _record("", changes))
        return self._apply_output(plan, ctx)

    # -- targets ----------------------------------------------------------------------------------
    def _apply_output(self, plan: Plan, ctx: FaultContext) -> Applied:
        answer = Answer.read(plan, ctx.format)
        if answer is None:
            return Applied(plan, [])
        for slot in answer.output_texts():
            parsed = parse_json_text(slot.text)
            if parsed is None:
                continue
            new, changes = self.drift(parsed.value, ctx.rng)
            if not changes:
                return Applied(plan, [])
            plan = answer.set_output_text(slot.key, render_json_text(parsed, new))
            return Applied(plan, _record(f"{slot.where}::", changes))
        return Applied(plan, [])

    def _apply_stream_body(self, plan: Plan, ctx: FaultContext) -> Applied:
        events = plan.events()
        payloads = [e.json() for e in events]
        usable = [p for p in payloads if isinstance(p, dict | list)]
        where = self._parts(usable, ctx.rng)
        if where is None:
            return Applied(plan, [])
        first: list[Change] = []
        count = 0
        new_events = list(events)
        for i, payload in enumerate(payloads):
            if not isinstance(payload, dict | list):
                continue
            new, changes = self._drift_at(payload, where)
            if changes:
                new_events[i] = events[i].with_json(new)
                count += 1
                first = first or changes
        if not count:
            return Applied(plan, [])
        # One entry per drifted field, not per event: a long stream would flood the ledger.
        return Applied(replace_events(plan, new_events), _record("stream[*]", first))

    def _apply_mcp(self, plan: Plan, ctx: FaultContext) -> Applied:
        located = mcp.read_message(plan)
        if located is None:
            return Applied(plan, [])
        if self.target == "body":
            new, changes = self.drift(located.value, ctx.rng)
            if not changes:
                return Applied(plan, [])
            return Applied(mcp.write_message(plan, located, new), _record("", changes))
        result = mcp.tool_result(located.value)
        docs = mcp.result_documents(result) if result is not None else []
        if not docs:
            return Applied(plan, [])
        primary = docs[0]
        where = self._parts([primary.value], ctx.rng)
        if where is None:
            return Applied(plan, [])
        new_primary, changes = self._drift_at(primary.value, where)
        if not changes:
            return Applied(plan, [])
        new_result = mcp.with_document(result, primary, new_primary)
        # Copies of the same data (the JSON text block mirroring structuredContent) drift too.
        for doc in docs[1:]:
            if doc.value == primary.value:
                new_result = mcp.with_document(new_result, doc, new_primary)
        prefix = f"{primary.where}::" if primary.text else primary.where
        message = mcp.with_result(located.value, new_result)
        return Applied(mcp.write_message(plan, located, message), _record(prefix, changes))

    def _apply_tool_arguments(self, plan: Plan, ctx: FaultContext) -> Applied:
        answer = Answer.read(plan, ctx.format)
        if answer is None:
            return Applied(plan, [])
        calls = answer.tool_calls()
        if self.call >= len(calls):
            return Applied(plan, [])
        return self._drift_call(answer, calls[self.call], ctx)

    def _apply_structured(self, plan: Plan, ctx: FaultContext) -> Applied:
        """The carrier tool's call when the request has one and the answer makes it, else the
        JSON content (``output``)."""
        carrier = structured_output_tool(ctx.request)
        answer = Answer.read(plan, ctx.format) if carrier is not None else None
        if answer is not None:
            for call in answer.tool_calls():
                if call.name == carrier:
                    return self._drift_call(answer, call, ctx)
        return self._apply_output(plan, ctx)

    def _drift_call(self, answer: Answer, call: ToolCall, ctx: FaultContext) -> Applied:
        parsed = parse_json_text(call.arguments)
        if parsed is None:
            return Applied(answer.plan, [])
        new, changes = self.drift(parsed.value, ctx.rng)
        if not changes:
            return Applied(answer.plan, [])
        edit = CallEdit(arguments=render_json_text(parsed, new))
        plan = answer.edit_tool_call(call.key, edit)
        return Applied(plan, _record(f"{call.where}.arguments::", changes))


def _record(prefix: str, changes: list[Change]) -> list[Alteration]:
    """Alterations for ``changes`` under ``prefix`` (a path, or one ending in ``::`` when the
    JSON sits inside a string)."""

    def path(parts: Parts) -> str:
        if prefix.endswith("::"):
            return prefix + jsonpath.format_path(parts)
        return jsonpath.join(prefix, parts)

    return [
        Alteration(
            path=path(c.parts),
            action=c.action,
            original=c.original,
            value=c.value,
        )
        for c in changes
    ]
