"""OpenTelemetry GenAI spans as a decision trace: a second source of the facts the
``untraceable`` check reads, for apps that are traced rather than returning a
:class:`~faultkit.oracle.trace.DecisionTrace`.

Pure: spans come in as :class:`Span` values (from the in-process span processor or from OTLP),
a trace dict goes out, and the one ``untraceable`` rule judges it like any other trace. No
opentelemetry import here, so the oracle can use it without the ``otel`` extra.

Which attributes a span must carry follows the GenAI semantic conventions (inference spans:
``gen_ai.operation.name`` ``chat``/``text_completion``/``generate_content``; tool spans:
``execute_tool``), with the older names (``gen_ai.system``, ``gen_ai.usage.prompt_tokens``)
and OpenInference's (``llm.model_name``, ``llm.token_count.prompt``, ``tool.name``) accepted
as the same fact. A missing fact is named by its current convention name and the span it is
missing from; the trace then carries ``missing_attributes`` and is incomplete.

How the trace's fields come from spans (the conventions have no prompt version or validation
result of their own):

* ``model_version``: ``gen_ai.response.model`` of the last inference span (the answer's);
* ``prompt_version``: ``gen_ai.prompt.name`` or ``llm.prompt_template.version`` when a span
  carries one, else that span's ``gen_ai.response.id``, which names the exact exchange;
* ``context_ids``: every inference span's response id, the ids of the tool calls its answer
  asked for (``gen_ai.output.messages``, when content is captured) and every tool span's call
  id; the calls themselves are kept as ``tool_calls`` (name and id, not the arguments);
* ``tool_outputs``: one per tool span, ``ok`` unless the span's status is ERROR or it has an
  ``error.type``;
* ``validation_result``: not valid, with the reason that spans record none (so the check's
  "said valid but invalid" contradiction cannot fire on a claim the app never made);
* ``decision_path``: the span names in start order.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "responses"})
TOOL_OPERATION = "execute_tool"
# faultkit's own spans (what it injected) are never the app's trace facts.
OWN_PREFIX = "faultkit."

# The facts an inference span must carry: the convention name first, then accepted aliases.
INFERENCE_FACTS: dict[str, tuple[str, ...]] = {
    "gen_ai.provider.name": ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
    "gen_ai.request.model": ("gen_ai.request.model", "llm.invocation_parameters.model"),
    "gen_ai.response.model": ("gen_ai.response.model", "llm.model_name"),
    "gen_ai.response.id": ("gen_ai.response.id",),
    "gen_ai.usage.input_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    "gen_ai.usage.output_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ),
}
RESPONSE_MODEL = INFERENCE_FACTS["gen_ai.response.model"]
RESPONSE_ID = INFERENCE_FACTS["gen_ai.response.id"]
TOOL_FACTS: dict[str, tuple[str, ...]] = {"gen_ai.tool.name": ("gen_ai.tool.name", "tool.name")}
PROMPT_VERSION = ("gen_ai.prompt.name", "llm.prompt_template.version")
TOOL_CALL_ID = ("gen_ai.tool.call.id", "tool_call.id")
TOOL_RESULT = ("gen_ai.tool.call.result", "output.value")


class SpanEvent(BaseModel):
    name: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class Span(BaseModel):
    """One finished span, as far as the trace needs it; ids are lowercase hex."""

    name: str
    trace_id: str = ""
    span_id: str = ""
    parent_span_id: str | None = None
    start_ns: int = 0
    end_ns: int = 0
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[SpanEvent] = Field(default_factory=list)
    status: Literal["unset", "ok", "error"] = "unset"
    status_message: str | None = None

    def get(self, names: tuple[str, ...]) -> Any:
        for name in names:
            value = self.attributes.get(name)
            if value not in (None, ""):
                return value
        return None

    @property
    def operation(self) -> str | None:
        op = self.attributes.get("gen_ai.operation.name")
        if isinstance(op, str):
            return op
        kind = self.attributes.get("openinference.span.kind")
        if kind == "LLM":
            return "chat"
        if kind == "TOOL":
            return TOOL_OPERATION
        return None

    @property
    def is_inference(self) -> bool:
        return self.operation in INFERENCE_OPERATIONS

    @property
    def is_tool(self) -> bool:
        return self.operation == TOOL_OPERATION

    @property
    def failed(self) -> bool:
        return self.status == "error" or self.attributes.get("error.type") is not None


def missing_facts(span: Span) -> list[str]:
    """The convention names of the facts ``span`` lacks (none for a span that is neither an
    inference nor a tool span)."""
    facts = INFERENCE_FACTS if span.is_inference else TOOL_FACTS if span.is_tool else {}
    return [name for name, aliases in facts.items() if span.get(aliases) is None]


def trace_from_spans(spans: list[Span]) -> dict[str, Any] | None:
    """The decision trace the spans describe (see module doc), or None without app spans.

    ``missing_attributes`` lists what the conventions require and the spans lack, one line per
    span ("span 'chat gpt-4o-mini' (#1) lacks gen_ai.response.id"); a trace with any is
    incomplete."""
    own = [s for s in spans if not s.name.startswith(OWN_PREFIX)]
    if not own:
        return None
    ordered = sorted(own, key=lambda s: (s.start_ns, s.end_ns))
    inference = [s for s in ordered if s.is_inference]
    tools = [s for s in ordered if s.is_tool]
    missing: list[str] = []
    if not inference:
        missing.append(
            f"no GenAI inference span (gen_ai.operation.name chat) among {len(own)} span(s): "
            + ", ".join(sorted({repr(s.name) for s in own})[:5])
        )
    for index, span in enumerate(ordered, 1):
        lacking = missing_facts(span)
        if lacking:
            missing.append(f"span {span.name!r} (#{index}) lacks {', '.join(lacking)}")
    trace: dict[str, Any] = {
        "context_ids": _context_ids(inference, tools),
        "tool_outputs": [_tool_output(s) for s in tools],
        "validation_result": {
            "valid": False,
            "errors": ["the GenAI spans record no validation result"],
            "recorded": False,
        },
        "decision_path": [s.name for s in ordered],
        "tool_calls": [
            {"name": call.get("name"), "id": call.get("id")}
            for span in inference
            for call in tool_calls(span)
        ],
        "source": "otel",
        "spans": len(own),
    }
    models = [s.get(RESPONSE_MODEL) for s in inference if s.get(RESPONSE_MODEL) is not None]
    if models:
        trace["model_version"] = str(models[-1])
    prompt = next((s.get(PROMPT_VERSION) for s in ordered if s.get(PROMPT_VERSION)), None)
    if prompt is None and inference:
        prompt = inference[-1].get(RESPONSE_ID)
    if prompt is not None:
        trace["prompt_version"] = str(prompt)
    if missing:
        trace["missing_attributes"] = missing
    return trace


def _context_ids(inference: list[Span], tools: list[Span]) -> list[str]:
    ids = [span.get(RESPONSE_ID) for span in inference]
    ids += [call.get("id") for span in inference for call in tool_calls(span)]
    ids += [tool.get(TOOL_CALL_ID) for tool in tools]
    return [str(i) for i in dict.fromkeys(ids) if i is not None]


def tool_calls(span: Span) -> list[dict[str, Any]]:
    """The tool calls the model asked for in ``span``'s answer: the ``tool_call`` parts of
    ``gen_ai.output.messages`` (recorded when the instrumentation captures content; a JSON
    string on spans, a list once decoded), each ``{"name", "id", "arguments"}``."""
    messages = span.attributes.get("gen_ai.output.messages")
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except ValueError:
            return []
    if not isinstance(messages, list):
        return []
    return [
        part
        for message in messages
        if isinstance(message, dict)
        for part in message.get("parts") or []
        if isinstance(part, dict) and part.get("type") == "tool_call"
    ]


def _tool_output(span: Span) -> dict[str, Any]:
    error = None
    if span.failed:
        error = span.status_message or str(span.attributes.get("error.type") or "error")
    return {
        "tool": str(span.get(TOOL_FACTS["gen_ai.tool.name"]) or span.name),
        "ok": not span.failed,
        "output": span.get(TOOL_RESULT),
        "error": error,
    }
