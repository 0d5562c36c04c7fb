"""Records ``cassettes/flight.yaml``: run from tests/zoo with ``python -m flight_delay.record``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flight_delay.app import answer
from recorder import record
from wire import Canned, messages_json, tool_json

STATUS = {
    "flight": "TP1350",
    "status": "delayed",
    "delay_minutes": 95,
    "new_departure": "2026-12-07T14:05:00+00:00",
    "gate": "B17",
    "origin": "LIS",
    "destination": "CDG",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://flights.zoo.test/"):
        return tool_json(STATUS)
    if len(body["messages"]) > 1:
        return messages_json(
            "msg_01ZooFl2Bc8Rt4Yu6Io0PaSd",
            "claude-sonnet-4-5-20250929",
            text="Yes — TP1350 to Paris is delayed by 95 minutes. It should now leave at "
            "14:05 UTC from gate B17.",
            usage=(702, 41),
        )
    return messages_json(
        "msg_01ZooFl1Ab7Qs3Xt5Hn9OzRc",
        "claude-sonnet-4-5-20250929",
        text="Let me check the live status of TP1350.",
        tool_uses=[("toolu_01ZooK7mWq2Er5Ty8Ui1Op3As", "get_flight_status", {"flight": "TP1350"})],
        usage=(598, 62),
    )


if __name__ == "__main__":
    question = "Is my flight TP1350 to Paris delayed?"
    cassette = Path(__file__).parent / "cassettes" / "flight.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
