"""Records ``cassettes/hotel.yaml``; from tests/zoo: ``python -m hotel_rooms.record``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotel_rooms.app import answer
from recorder import record
from wire import Canned, messages_json, tool_json

AVAILABILITY = {
    "hotel_id": "H-311",
    "name": "Miradouro",
    "check_in": "2026-12-18",
    "nights": 3,
    "rooms_left": 2,
    "price_per_night_eur": 148.0,
    "room_type": "double, river view",
}
REQUEST = {"hotel_id": "H-311", "check_in": "2026-12-18", "nights": 3}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://hotels.zoo.test/"):
        return tool_json(AVAILABILITY)
    if len(body["messages"]) > 1:
        return messages_json(
            "msg_01ZooHt2Wq5Er8Ty1Ui4Op7As",
            "claude-sonnet-4-5-20250929",
            text="Yes! The Miradouro has 2 rooms left for 3 nights from 18 December, at "
            "€148 per night (river-view double).",
            usage=(688, 39),
        )
    return messages_json(
        "msg_01ZooHt1Vp4Dq7Rs0Tu3Vw6Xy",
        "claude-sonnet-4-5-20250929",
        tool_uses=[("toolu_01ZooHb8Nm1Bv4Cx7Zq0Wr3T", "check_availability", REQUEST)],
        usage=(574, 66),
    )


if __name__ == "__main__":
    question = "Any rooms at the Miradouro for 3 nights from 18 December?"
    cassette = Path(__file__).parent / "cassettes" / "hotel.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
