"""Records ``cassettes/refunds.yaml``; from tests/zoo: ``python -m refund_desk.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recorder import record
from refund_desk.app import answer
from wire import Canned, chat_json, tool_json

REFUND = {"refund_id": "rf_8Kq2Zt71", "order_id": "7781", "amount_eur": 34.9, "status": "paid"}
ARGS = {"order_id": "7781", "amount_eur": 34.9}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://refunds.zoo.test/"):
        return tool_json(REFUND, status=201, server="envoy")
    return chat_json(
        "chatcmpl-ZooRf4k8Lm2Np6Qr1St5Uv9Wx",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[("call_Rf3Hj6Kl9Zx2Cv5Bn8Mq1Wt4", "issue_refund", json.dumps(ARGS))],
        usage=(168, 24),
    )


if __name__ == "__main__":
    request = "Please refund order 7781, the kettle (34.90 EUR) arrived broken."
    cassette = Path(__file__).parent / "cassettes" / "refunds.yaml"
    print(record(answer, {"request": request}, upstream, cassette))
