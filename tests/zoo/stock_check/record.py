"""Records ``cassettes/stock.yaml``; from tests/zoo: ``python -m stock_check.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recorder import record
from stock_check.app import answer
from wire import Canned, chat_json, tool_json

STOCK = {
    "sku": "SKU-2231",
    "warehouse": "LEEDS-2",
    "on_hand": 148,
    "reserved": 37,
    "next_delivery": "2026-12-15",
    "bin": "C-14-03",
}
ANSWER = {
    "on_hand": 148,
    "reserved": 37,
    "next_delivery": "2026-12-15",
    "reply": "Leeds has 148 kettles (SKU-2231) on hand, 37 of them reserved; the next delivery "
    "arrives on 2026-12-15.",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://inventory.zoo.test/"):
        return tool_json(STOCK)
    if any(m["role"] == "tool" for m in body["messages"]):
        return chat_json(
            "chatcmpl-ZooSk2Mr9Tn5Op2Wt8Yd4Cb",
            "gpt-4o-mini-2024-07-18",
            content=json.dumps(ANSWER),
            usage=(251, 48),
        )
    return chat_json(
        "chatcmpl-ZooSk1Lq8Sm4No1Vs7Xc3Ba",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[
            (
                "call_Sk4Fg7Hj1Kl5Mn8Pq2Rs6Tu",
                "get_stock",
                json.dumps({"sku": "SKU-2231", "warehouse": "LEEDS-2"}),
            )
        ],
        usage=(163, 22),
    )


if __name__ == "__main__":
    question = "How many SKU-2231 kettles do we have in Leeds, and when is the next delivery?"
    cassette = Path(__file__).parent / "cassettes" / "stock.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
