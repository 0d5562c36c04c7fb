"""Records ``cassettes/clinic.yaml``; from tests/zoo: ``python -m clinic_booking.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clinic_booking.app import answer
from recorder import record
from wire import Canned, chat_sse, tool_json

SLOTS = {
    "specialty": "dermatology",
    "week": "2026-W50",
    "slots": [
        {"slot_id": "SL-88412", "starts_at": "2026-12-08T09:30:00+00:00", "doctor": "Dr. Ana Reis"},
        {"slot_id": "SL-88419", "starts_at": "2026-12-09T15:00:00+00:00", "doctor": "Dr. Ana Reis"},
        {
            "slot_id": "SL-88430",
            "starts_at": "2026-12-11T10:15:00+00:00",
            "doctor": "Dr. João Lima",
        },
    ],
}
PROPOSAL = {
    "slot_id": "SL-88412",
    "starts_at": "2026-12-08T09:30:00+00:00",
    "doctor": "Dr. Ana Reis",
    "note": "Tuesday morning at 9:30 with Dr. Reis is the earliest morning slot next week.",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://clinic.zoo.test/"):
        return tool_json(SLOTS)
    return chat_sse(
        "chatcmpl-ZooCl1n4Bv7Cx0Zq3Wr6Ty9Ui",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[("call_Cl8Mn5Bv2Cx9Zq6Wr3Ty0Ui7", "propose_appointment", json.dumps(PROPOSAL))],
        usage=(402, 58),
    )


if __name__ == "__main__":
    inputs = {
        "request": "I need a dermatologist next week, mornings if possible.",
        "specialty": "dermatology",
    }
    cassette = Path(__file__).parent / "cassettes" / "clinic.yaml"
    print(record(answer, inputs, upstream, cassette))
