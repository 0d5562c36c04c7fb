"""Records ``cassettes/spend.yaml``: run from tests/zoo with ``python -m card_spend.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from card_spend.app import answer
from recorder import record
from wire import Canned, responses_json, tool_json

SPEND = {
    "account": "ACC-20931",
    "month": "2026-11",
    "category": "groceries",
    "total_eur": 412.37,
    "transactions": 23,
    "currency": "EUR",
}
ARGS = {"account": "ACC-20931", "month": "2026-11", "category": "groceries"}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://ledger.zoo.test/"):
        return tool_json(SPEND)
    if isinstance(body["input"], list):
        return responses_json(
            "resp_0zoo5c2b7e91d4a3f6b8c0d2e4f6a8b1",
            "gpt-4.1-mini-2025-04-14",
            text="In November you spent €412.37 on groceries across 23 card payments.",
            usage=(233, 19),
        )
    return responses_json(
        "resp_0zoo4b1a6d80c3f2e5a7b9c1d3e5f7a0",
        "gpt-4.1-mini-2025-04-14",
        function_calls=[("call_Zo0Lg8Hk3Vb1Nq5Wr7Ty2Ue4", "monthly_spend", json.dumps(ARGS))],
        usage=(187, 28),
    )


if __name__ == "__main__":
    inputs = {"question": "How much did I spend on groceries in November?", "account": "ACC-20931"}
    cassette = Path(__file__).parent / "cassettes" / "spend.yaml"
    print(record(answer, inputs, upstream, cassette))
