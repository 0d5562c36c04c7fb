"""Records ``cassettes/parcel.yaml``; from tests/zoo: ``python -m parcel_watch.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from parcel_watch.app import answer
from recorder import record
from wire import Canned, messages_sse, tool_json

TRACKING = {
    "parcel_id": "ZX-7730-PT",
    "status": "out_for_delivery",
    "location": "Porto distribution centre",
    "expected_delivery": "2026-12-07",
    "events": [
        {"at": "2026-12-06T18:02:00Z", "what": "arrived at Porto distribution centre"},
        {"at": "2026-12-07T07:41:00Z", "what": "out for delivery"},
    ],
}
ANSWER = {
    "parcel_id": "ZX-7730-PT",
    "status": "out_for_delivery",
    "location": "Porto distribution centre",
    "expected_delivery": "2026-12-07",
    "message": "Good news: your parcel left the Porto centre this morning and arrives today.",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://track.zoo.test/"):
        return tool_json(TRACKING)
    if len(body["messages"]) > 1:
        return messages_sse(
            "msg_01ZooPw2Kd5Lf8Hj1Gs4Aq7Ze",
            "claude-haiku-4-5-20251001",
            text=json.dumps(ANSWER),
            usage=(733, 88),
        )
    return messages_sse(
        "msg_01ZooPw1Jc4Ke7Gi0Fr3Zp6Yd",
        "claude-haiku-4-5-20251001",
        text="I'll look that parcel up.",
        tool_uses=[
            ("toolu_01ZooTr9Yh6Nb3Vc0Xz7Lk4Jm", "track_parcel", {"parcel_id": "ZX-7730-PT"})
        ],
        usage=(611, 71),
    )


if __name__ == "__main__":
    question = "Where is my parcel ZX-7730-PT?"
    cassette = Path(__file__).parent / "cassettes" / "parcel.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
