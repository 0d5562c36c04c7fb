"""Tool-call faults: the model asks for a tool in a way the application must not trust (F13, F17).

Real models and gateways send tool calls whose arguments do not parse (cut at ``length``, merged
by a router), that name a tool the application never offered, or whose ids are empty or
repeated (Gemini, Ollama, DeepSeek through OpenAI-compatible layers; a repeated id makes the
follow-up request fail with a 400). A robust system validates the call before running a tool
and answers with a controlled error or a retry; a naive one crashes on ``json.loads`` or runs
the wrong thing.

``kind``:

- ``invalid_arguments``: the arguments JSON of call ``call`` is cut at a structural point
  (after ``{``, ``[``, ``,``, ``:`` or a quote, chosen with the seeded RNG) so it no longer
  parses. ``form`` can ask for ``empty`` (``""``), ``double_encoded`` (a JSON *string* holding
  the JSON, which parses but is not an object) or ``not_json`` (``city=Paris, days=3``) instead.
  Note that Anthropic's stream helper parses ``partial_json`` leniently: a cut input arrives as a
  silently incomplete object (``{"location"`` becomes ``{}``), so the application must check it;
  ``not_json`` makes the helper raise instead. In streams the argument fragments
  (OpenAI ``arguments`` deltas, Responses ``function_call_arguments.delta``, Anthropic
  ``partial_json``) are re-cut so they assemble to the broken text, and every final snapshot
  says the same. An Anthropic *body* carries ``input`` as an object, which cannot be half an
  object: the broken text is sent as a JSON string ``input`` instead, an invalid value of the
  wrong type (F13).
- ``unknown_tool``: the call names ``tool_name`` instead.
- ``missing_id``: the call's id is ``""`` (or, with ``id_form: absent``, missing).
- ``duplicate_id``: call ``call`` gets the id of another call (chosen with the RNG); with a
  single call, the call is repeated as a second call with the same id.

With no tool call in the response (or fewer than ``call + 1``) the plan is unchanged and
nothing is recorded. Alterations record the original arguments, name or id, and only once the
edited plan, read back as the client assembles it, shows them: an edit the wire shape has no
place for (a streamed OpenAI call whose every ``arguments`` fragment is ``null``, which some
servers send for a call without arguments) leaves the plan as it was and records nothing, so
the engine notes the fault as skipped ("nothing to alter") rather than claim it was sent.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from faultkit.faults.answer import MODULES, Answer
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.common import CallEdit, ToolCall
from faultkit.formats.detect import WireFormat
from faultkit.formats.jsontext import cut_points
from faultkit.plan import Plan

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

# Field names, per format, for readable alteration paths: (id, name, arguments).
_FIELDS: dict[WireFormat, tuple[str, str, str]] = {
    WireFormat.openai_chat: ("id", "function.name", "function.arguments"),
    WireFormat.openai_responses: ("call_id", "name", "arguments"),
    WireFormat.anthropic_messages: ("id", "name", "input"),
    WireFormat.gemini: ("id", "name", "args"),
}


def not_json(text: str) -> str:
    """The arguments as ``key=value`` pairs, the way some models write them (``file_path=foo``):
    readable, and not JSON at all, so even a lenient partial-JSON parser rejects it."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict) and value:
        return ", ".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in value.items()
        )
    return "arguments=none"


def cut_arguments(text: str, rng: random.Random) -> str:
    """A proper prefix of ``text`` that ends right after a structural character and does not
    parse, chosen with ``rng``; ``"{"`` when ``text`` has no such prefix (empty arguments)."""
    body, cuts = cut_points(text)
    if not cuts:
        return "{"
    return body[: rng.choice(cuts)]


class ToolCallFault(Fault):
    """Break one tool call: its arguments, its tool name, or its id."""

    type: Literal["tool_call"] = "tool_call"
    category = "meaning"
    search_order = 90
    kind: Literal["invalid_arguments", "unknown_tool", "missing_id", "duplicate_id"] = Field(
        description="What to break in the tool call."
    )
    call: int = Field(0, ge=0, description="Which tool call (0 = the first) to break.")
    tool_name: str = Field(
        "nonexistent_tool", min_length=1, description="Tool name used by kind unknown_tool."
    )
    form: Literal["truncated", "empty", "double_encoded", "not_json"] = Field(
        "truncated", description="For invalid_arguments: how the arguments are broken."
    )
    id_form: Literal["empty", "absent"] = Field(
        "empty", description="For missing_id: send an empty id, or no id field at all."
    )

    formats: ClassVar[frozenset[WireFormat] | None] = frozenset(MODULES)

    @classmethod
    def strategy(
        cls, limits: Limits, route: str | None, *, max_call: int = 1
    ) -> SearchStrategy[Fault]:
        """A tool call the app must not trust: bad arguments, unknown tool, missing or
        repeated id, in tool call 0 (the first) to ``max_call``."""
        from hypothesis import strategies as st

        call = st.integers(0, max_call)
        arguments = st.builds(
            lambda form, n: cls(kind="invalid_arguments", form=form, call=n),
            st.sampled_from(("truncated", "empty", "double_encoded")),
            call,
        )
        unknown = call.map(lambda n: cls(kind="unknown_tool", call=n))
        missing = st.builds(
            lambda form, n: cls(kind="missing_id", id_form=form, call=n),
            st.sampled_from(("empty", "absent")),
            call,
        )
        duplicate = call.map(lambda n: cls(kind="duplicate_id", call=n))
        return st.one_of(arguments, unknown, missing, duplicate)

    def describe(self) -> str:
        which = "tool" if self.call == 0 else f"tool call {self.call}"
        if self.kind == "invalid_arguments":
            form = {"truncated": "truncated", "empty": "empty", "double_encoded": "double-encoded"}
            return f"{which} arguments {form[self.form]}"
        if self.kind == "unknown_tool":
            return f"{which} names unknown tool {self.tool_name!r}"
        if self.kind == "missing_id":
            return f"{which} id {'missing' if self.id_form == 'absent' else 'empty'}"
        return f"{which} id duplicated"

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        answer = Answer.read(plan, ctx.format)
        if answer is None:
            return Applied(plan, [])
        calls = answer.tool_calls()
        if self.call >= len(calls):
            return Applied(plan, [])
        target = calls[self.call]
        if self.kind == "duplicate_id" and len(calls) == 1:
            new = answer.duplicate_tool_call(target.key)
            expected = [*calls, target]
            alteration = _duplicated(target)
        else:
            edit, alteration = self._edit(target, calls, ctx, _FIELDS[ctx.format])
            if edit is None:
                return Applied(plan, [])
            new = answer.edit_tool_call(target.key, edit)
            expected = [_edited(call, edit) if call == target else call for call in calls]
        if not _sent(new, ctx.format, calls, expected):
            return Applied(plan, [])
        return Applied(new, [alteration])

    def _edit(
        self,
        target: ToolCall,
        calls: list[ToolCall],
        ctx: FaultContext,
        fields: tuple[str, str, str],
    ) -> tuple[CallEdit | None, Alteration]:
        id_field, name_field, args_field = fields
        if self.kind == "invalid_arguments":
            if self.form == "empty":
                broken, action = "", "replaced"
            elif self.form == "double_encoded":
                broken, action = json.dumps(target.arguments), "replaced"
            elif self.form == "not_json":
                broken, action = not_json(target.arguments), "replaced"
            else:
                broken, action = cut_arguments(target.arguments, ctx.rng), "truncated"
            path = f"{target.where}.{args_field}"
            return CallEdit(arguments=broken), Alteration(
                path=path, action=action, original=target.arguments, value=broken
            )
        if self.kind == "unknown_tool":
            path = f"{target.where}.{name_field}"
            return CallEdit(name=self.tool_name), Alteration(
                path=path, action="replaced", original=target.name, value=self.tool_name
            )
        path = f"{target.where}.{id_field}"
        if target.id is None:
            return None, Alteration(path=path, action="replaced")  # no id to break or borrow
        if self.kind == "missing_id":
            if self.id_form == "absent":
                return CallEdit(drop_id=True), Alteration(
                    path=path, action="removed", original=target.id
                )
            return CallEdit(id=""), Alteration(
                path=path, action="replaced", original=target.id, value=""
            )
        # duplicate_id with two or more calls: borrow another call's id.
        others = [c for c in calls if c.position != target.position and c.id]
        if not others:
            return None, Alteration(path=path, action="replaced")
        other = ctx.rng.choice(others)
        return CallEdit(id=other.id), Alteration(
            path=path, action="replaced", original=target.id, value=other.id
        )


def _edited(call: ToolCall, edit: CallEdit) -> ToolCall:
    """``call`` as the client should assemble it once ``edit`` is applied."""
    ident = None if edit.drop_id else call.id if edit.id is None else edit.id
    return replace(
        call,
        id=ident,
        name=call.name if edit.name is None else edit.name,
        arguments=call.arguments if edit.arguments is None else edit.arguments,
    )


def _sent(plan: Plan, fmt: WireFormat, before: list[ToolCall], expected: list[ToolCall]) -> bool:
    """Whether ``plan``, read back as the client assembles its tool calls, differs from
    ``before`` exactly as ``expected``: the ledger records no alteration the bytes lack."""
    answer = Answer.read(plan, fmt)
    after = [_seen(c) for c in (answer.tool_calls() if answer is not None else [])]
    return after != [_seen(c) for c in before] and after == [_seen(c) for c in expected]


def _seen(call: ToolCall) -> tuple[str | None, str | None, str]:
    return call.id, call.name, call.arguments


def _duplicated(target: ToolCall) -> Alteration:
    value: dict[str, Any] = {"id": target.id, "name": target.name, "arguments": target.arguments}
    return Alteration(path=f"{target.where} (repeated)", action="injected", value=value)
