"""Records ``cassettes/leave.yaml``; from tests/zoo: ``python -m leave_days.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leave_days.app import answer
from recorder import record
from wire import Canned, responses_json, tool_json

LEAVE = {
    "employee_id": "E-1042",
    "year": 2026,
    "annual_days_left": 12.5,
    "carry_over_days": 3.0,
    "carry_over_expires": "2027-03-31",
    "sick_days_taken": 4,
    "pending_requests": 1,
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://hr.zoo.test/"):
        return tool_json(LEAVE, server="envoy")
    if body.get("previous_response_id"):
        return responses_json(
            "resp_0zooHr2d9c8b7a6f5e4d3c2b1a0f9e8",
            "gpt-4.1-2025-04-14",
            text="You have 12.5 days of annual leave left this year, plus 3 carried-over "
            "days that expire on 31 March 2027.",
            usage=(312, 31),
        )
    return responses_json(
        "resp_0zooHr1c8b7a6f5e4d3c2b1a0f9e8d7",
        "gpt-4.1-2025-04-14",
        function_calls=[
            (
                "call_Hr5Kq8Wz1Xc4Vb7Nm0Lk3Jh6",
                "get_leave_balance",
                json.dumps({"employee_id": "E-1042"}),
            )
        ],
        usage=(171, 19),
    )


if __name__ == "__main__":
    inputs = {"question": "How many holiday days do I have left?", "employee": "E-1042"}
    cassette = Path(__file__).parent / "cassettes" / "leave.yaml"
    print(record(answer, inputs, upstream, cassette))
