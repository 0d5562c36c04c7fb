"""Records ``cassettes/policy.yaml``; from tests/zoo: ``python -m expense_policy.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from expense_policy.app import answer
from recorder import record
from wire import Canned, chat_json

VERDICT = {
    "allowed": True,
    "section": "3.3",
    "reason": "Flights landing between 22:00 and 06:00 allow a taxi, up to 80 EUR.",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    # The usage this prompt is billed at (system, policy and question: about 190 tokens).
    return chat_json(
        "chatcmpl-ZooEx5t9Po2Li8Ku4Jy7Ht1Gr",
        "gpt-4o-mini-2024-07-18",
        content=json.dumps(VERDICT),
        usage=(193, 41),
    )


if __name__ == "__main__":
    question = "My flight lands at 23:40. Can I expense a taxi from the airport?"
    cassette = Path(__file__).parent / "cassettes" / "policy.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
