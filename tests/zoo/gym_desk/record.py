"""Records ``cassettes/members.yaml``; from tests/zoo: ``python -m gym_desk.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gym_desk.app import answer
from recorder import record
from wire import Canned, chat_json, tool_json

FROZEN = {"member_id": "M20417", "plan": "Flex 12", "frozen_until": "2027-01-18"}
ARGS = {"member_id": "M20417", "weeks": 6}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://gym.zoo.test/"):
        return tool_json(FROZEN, server="nginx")
    return chat_json(
        "chatcmpl-ZooGy3m7Qa1Ws5Ed9Rf2Tg6Yh",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[("call_Gy8Uj1Ik4Ol7Pz0Xc3Vb6Nm9", "freeze_membership", json.dumps(ARGS))],
        usage=(187, 22),
    )


if __name__ == "__main__":
    inputs = {
        "member_id": "M20417",
        "message": "I'm travelling for six weeks from Monday, can you pause my membership?",
    }
    cassette = Path(__file__).parent / "cassettes" / "members.yaml"
    print(record(answer, inputs, upstream, cassette))
