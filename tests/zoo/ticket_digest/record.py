"""Records ``cassettes/tickets.yaml``; from tests/zoo: ``python -m ticket_digest.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recorder import record
from ticket_digest.app import answer
from wire import Canned, chat_json, tool_json

TICKET = {
    "id": "T-4821",
    "subject": "Router keeps dropping Wi-Fi",
    "status": "waiting_on_vendor",
    "customer_note": "It drops every evening around 8pm, already restarted it twice.",
    "updated_at": "2026-12-06T17:42:00Z",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://helpdesk.zoo.test/"):
        return tool_json(TICKET)
    if any(m["role"] == "tool" for m in body["messages"]):
        return chat_json(
            "chatcmpl-ZooTd2Lq8Rm4Np1Vs7Xc3Ba",
            "gpt-4o-mini-2024-07-18",
            content="The customer's router drops Wi-Fi every evening. The ticket is waiting "
            "on the vendor's replacement firmware.",
            usage=(236, 29),
        )
    return chat_json(
        "chatcmpl-ZooTd1Kp7Ql3Mo0Ur6Wb2Az",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[
            ("call_Td5Gh8Jk2Lm6Np9Qr3St7Uv", "get_ticket", json.dumps({"ticket_id": "T-4821"}))
        ],
        usage=(141, 18),
    )


if __name__ == "__main__":
    cassette = Path(__file__).parent / "cassettes" / "tickets.yaml"
    print(record(answer, {"request": "Summarise ticket T-4821 for me."}, upstream, cassette))
