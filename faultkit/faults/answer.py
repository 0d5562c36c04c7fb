"""A provider's answer, a JSON body or an SSE stream, as one thing a fault reads and edits.

Each provider module has a body and a stream version of every read and edit (tool calls,
answer text). A fault that works on tool calls or answer text only cares which one it holds
once, when it reads the plan; the edits then write back into the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from faultkit.formats import anthropic_messages, gemini, openai_chat, openai_responses
from faultkit.formats.common import (
    NOT_JSON,
    CallEdit,
    TextSlot,
    ToolCall,
    read_json_body,
    replace_events,
    write_json_body,
)
from faultkit.formats.detect import WireFormat
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Plan

MODULES: dict[WireFormat, ModuleType] = {
    WireFormat.openai_chat: openai_chat,
    WireFormat.openai_responses: openai_responses,
    WireFormat.anthropic_messages: anthropic_messages,
    WireFormat.gemini: gemini,
}


@dataclass(frozen=True)
class Answer:
    """``plan``'s answer in one provider format: its stream ``events``, or its JSON ``doc``."""

    plan: Plan
    module: ModuleType
    events: list[SSEEvent] | None
    doc: Any = None

    @classmethod
    def read(cls, plan: Plan, fmt: WireFormat) -> Answer | None:
        """None when ``fmt`` is not a provider API, or the body is not JSON (a gateway's HTML
        page): there is no tool call or answer text to edit then."""
        module = MODULES.get(fmt)
        if module is None:
            return None
        if plan.is_sse:
            return cls(plan, module, plan.events())
        doc = read_json_body(plan)
        if doc is NOT_JSON:
            return None
        return cls(plan, module, None, doc)

    def tool_calls(self) -> list[ToolCall]:
        if self.events is not None:
            return self.module.stream_tool_calls(self.events)
        return self.module.tool_calls(self.doc)

    def edit_tool_call(self, key: Any, edit: CallEdit) -> Plan:
        """The plan with tool call ``key`` edited."""
        if self.events is not None:
            events, inserts = self.module.edit_stream_tool_call(self.events, key, edit)
            return replace_events(self.plan, events, inserts)
        return write_json_body(self.plan, self.module.edit_tool_call(self.doc, key, edit))

    def duplicate_tool_call(self, key: Any) -> Plan:
        """The plan with tool call ``key`` sent a second time, with the same id."""
        if self.events is not None:
            events, inserts = self.module.duplicate_stream_tool_call(self.events, key)
            return replace_events(self.plan, events, inserts)
        return write_json_body(self.plan, self.module.duplicate_tool_call(self.doc, key))

    def output_texts(self) -> list[TextSlot]:
        if self.events is not None:
            return self.module.stream_output_texts(self.events)
        return self.module.output_texts(self.doc)

    def set_output_text(self, key: Any, text: str) -> Plan:
        """The plan whose answer text ``key`` now reads ``text``."""
        if self.events is not None:
            events = self.module.set_stream_output_text(self.events, key, text)
            return replace_events(self.plan, events)
        return write_json_body(self.plan, self.module.set_output_text(self.doc, key, text))
