"""Travel expense helpdesk: "can I expense a taxi from the airport at 23:40?" answered from the
company's travel policy.

OpenAI Chat Completions, JSON answer, sync client: the whole travel policy goes into the
system prompt (about 190 tokens with the question), and the model answers with a JSON verdict
(allowed or not, the policy section, a one-line reason) that the app validates.

What it gets right: SDK retries off; a short timeout; an explicit ``PolicyDeskError`` on any
provider failure; the answer is validated, and a cut, refused or invalid answer is never
returned.

PLANTED BUG (spends the budget on re-asks): a cut, refused or invalid answer is asked again
with the whole policy in the prompt, up to three times; each try costs the whole prompt again,
so one failed answer already takes the request past its token budget. (Asking again with only
the section the question is about would cost a fraction.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, ValidationError

MODEL = "gpt-4o-mini"
TIMEOUT = httpx.Timeout(3.0, connect=1.0)
TRIES = 3
SECTIONS = {
    "3.1 Air travel": "Economy class for flights under six hours; premium economy above.",
    "3.2 Rail": "Second class; first class when the journey exceeds three hours.",
    "3.3 Airport transfers": (
        "Public transport where it runs. A taxi or ride-hailing service is reimbursed when "
        "the flight lands between 22:00 and 06:00, or when luggage exceeds 23 kg, up to 80 EUR."
    ),
    "3.4 Hotels": "Up to 150 EUR a night, 220 EUR in cities on the high-cost list.",
    "3.5 Meals": "Per diem by country; no alcohol; client meals need a named attendee list.",
}
POLICY = "\n\n".join(f"{title}\n{text}" for title, text in SECTIONS.items())
SYSTEM = (
    "You answer employees' questions about the travel policy below. Reply with JSON only: "
    '{"allowed": true|false, "section": "<section number>", "reason": "<one sentence>"}.\n\n'
    + POLICY
)


class PolicyDeskError(Exception):
    """The question cannot be answered from the policy right now."""


class PolicyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed: bool
    section: Literal["3.1", "3.2", "3.3", "3.4", "3.5"]
    reason: str


def _ask(llm: openai.OpenAI, question: str) -> PolicyAnswer | None:
    """One try: the validated answer, or None when it came back cut, refused or invalid."""
    try:
        completion = llm.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            response_format={"type": "json_object"},
        )
    except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
        raise PolicyDeskError(f"the assistant is unavailable: {type(exc).__name__}") from exc
    if not isinstance(completion, ChatCompletion) or not completion.choices:
        raise PolicyDeskError("the assistant sent an unreadable answer")
    choice = completion.choices[0]
    if choice.finish_reason != "stop" or choice.message.refusal or not choice.message.content:
        return None
    try:
        return PolicyAnswer.model_validate_json(choice.message.content)
    except ValidationError:
        return None


def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx.Client] = httpx.Client,
) -> dict[str, Any]:
    """A ``PolicyAnswer`` dict for ``question``, or PolicyDeskError."""
    with http_client_factory(timeout=TIMEOUT) as http:
        llm = openai.OpenAI(http_client=http, max_retries=0)
        for _ in range(TRIES):
            # BUG: every try sends the whole policy again, whatever the budget has left.
            result = _ask(llm, question)
            if result is not None:
                return result.model_dump()
    raise PolicyDeskError("no usable answer from the policy assistant")
