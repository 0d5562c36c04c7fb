"""Medication interaction guide: "can I take ibuprofen with lisinopril?" for a clinic's patients.

The app looks the pair up in the pharmacy's interaction database (``http://pharmacy.zoo.test``)
itself, then Claude (Anthropic Messages, streamed) explains the finding in plain words. Because
it is medical advice, every answer (and every refusal) comes with a ``DecisionTrace`` for the
clinic's audit log, emitted with faultkit's ``emit_trace``.

What it gets right: SDK retries off and an explicit ``GuideError`` on any failure; one deadline;
a short timeout on the database, whose answer is validated; the stream must end with
``message_stop`` and ``stop_reason: end_turn``; the severity in the answer is the database's.

PLANTED BUG (lying trace): the database lookup is logged as successful as soon as an HTTP
answer arrives, before its status is checked. When the database answers 500, the app does stop
with an explicit error, but its audit trace says the lookup succeeded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import anthropic
import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from faultkit.oracle.trace import DecisionTrace, ToolOutput, ValidationResult, emit_trace

MODEL = "claude-haiku-4-5"
PROMPT_VERSION = "dose-guide/2026-11"
DATABASE_URL = "http://pharmacy.zoo.test/v1/interactions"
DEADLINE_S = 5.5
SYSTEM = (
    "You explain drug interactions to patients of Zoo Clinic in plain words, based only on the "
    "database finding given. Always end by advising them to confirm with their pharmacist."
)


class GuideError(Exception):
    """No interaction advice can be given right now."""


class Finding(BaseModel):
    interaction_id: str
    drugs: list[str]
    severity: Literal["none", "minor", "moderate", "major"]
    summary: str


class Guidance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drugs: list[str]
    severity: Literal["none", "minor", "moderate", "major"]
    advice: str = Field(min_length=20)


class _Audit:
    """What the trace will say: filled in as the app goes."""

    def __init__(self) -> None:
        self.model = MODEL
        self.context_ids: list[str] = []
        self.tools: list[ToolOutput] = []
        self.path: list[str] = []

    def emit(self, valid: bool, errors: list[str] | None = None) -> None:
        emit_trace(
            DecisionTrace(
                prompt_version=PROMPT_VERSION,
                model_version=self.model,
                context_ids=self.context_ids,
                tool_outputs=self.tools,
                validation_result=ValidationResult(valid=valid, errors=errors or []),
                decision_path=self.path or ["start"],
            )
        )


async def _lookup(http: httpx2.AsyncClient, drugs: list[str], audit: _Audit) -> Finding:
    audit.path.append("lookup_interactions")
    try:
        response = await http.get(DATABASE_URL, params={"drugs": ",".join(drugs)}, timeout=1.5)
    except httpx2.HTTPError as exc:
        audit.tools.append(
            ToolOutput(tool="interactions", ok=False, error=str(exc), route="pharmacy.zoo.test")
        )
        raise GuideError("the interaction database is unavailable") from exc
    # BUG: logged as a success before the status is looked at.
    audit.tools.append(
        ToolOutput(tool="interactions", ok=True, output=response.text, route="pharmacy.zoo.test")
    )
    try:
        response.raise_for_status()
        finding = Finding.model_validate_json(response.content)
    except (httpx2.HTTPError, ValidationError) as exc:
        raise GuideError("the interaction database is unavailable") from exc
    audit.context_ids.append(finding.interaction_id)
    return finding


async def _explain(http: httpx2.AsyncClient, question: str, finding: Finding, audit: _Audit) -> str:
    audit.path.append("call_model")
    llm = anthropic.AsyncAnthropic(http_client=http, max_retries=0)
    text: list[str] = []
    stop_reason, stopped = None, False
    stream = await llm.messages.create(
        model=MODEL,
        max_tokens=400,
        system=SYSTEM,
        messages=[
            {
                "role": "user",
                "content": f"{question}\n\nDatabase finding: {finding.model_dump_json()}",
            }
        ],
        stream=True,
    )
    async for event in stream:
        if event.type == "message_start":
            audit.model = event.message.model
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            text.append(event.delta.text)
        elif event.type == "message_delta":
            stop_reason = event.delta.stop_reason
        elif event.type == "message_stop":
            stopped = True
    if not stopped or stop_reason != "end_turn":
        raise GuideError(f"the explanation was cut off ({stop_reason})")
    return "".join(text).strip()


async def answer(
    question: str,
    drugs: list[str],
    *,
    http_client_factory: Callable[..., httpx2.AsyncClient] = httpx2.AsyncClient,
) -> dict[str, Any]:
    """Explain a drug interaction as a ``Guidance`` dict, or raise GuideError; either way a
    DecisionTrace is emitted."""
    audit = _Audit()
    try:
        async with http_client_factory() as http, asyncio.timeout(DEADLINE_S):
            finding = await _lookup(http, drugs, audit)
            advice = await _explain(http, question, finding, audit)
        guidance = Guidance(drugs=finding.drugs, severity=finding.severity, advice=advice)
    except GuideError as exc:
        audit.path.append("refuse")
        audit.emit(valid=False, errors=[str(exc)])
        raise
    except (TimeoutError, anthropic.AnthropicError, httpx2.HTTPError, ValueError) as exc:
        audit.path.append("refuse")
        audit.emit(valid=False, errors=[type(exc).__name__])
        raise GuideError(f"no advice can be given right now: {type(exc).__name__}") from exc
    audit.path.append("answer")
    audit.emit(valid=True)
    return guidance.model_dump()
