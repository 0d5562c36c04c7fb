"""Records ``cassettes/rates.yaml``; from tests/zoo: ``python -m loan_rates.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loan_rates.app import answer
from recorder import record
from wire import Canned, chat_json, tool_json

RATE = {
    "product": "fixed",
    "term_years": 25,
    "rate_pct": 3.74,
    "apr_pct": 4.02,
    "valid_on": "2026-12-07",
    "ltv_max_pct": 80,
}
ARGS = {"product": "fixed", "term_years": 25}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://rates.zoo.test/"):
        return tool_json(RATE, server="nginx")
    return chat_json(
        "chatcmpl-ZooLr1p3Qw6Er9Ty2Ui5Op8As",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[("call_Lr7Gh0Jk3Lz6Xc9Vb2Nm5Qw8", "lookup_rate", json.dumps(ARGS))],
        usage=(142, 21),
    )


if __name__ == "__main__":
    question = "What's your 25-year fixed mortgage rate today?"
    cassette = Path(__file__).parent / "cassettes" / "rates.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
