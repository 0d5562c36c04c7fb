"""Records ``cassettes/trails.yaml``; from tests/zoo: ``python -m trail_report.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recorder import record
from trail_report.app import answer
from wire import Canned, chat_json, tool_json

CONDITIONS = {
    "trail": "Hohe Wand ridge",
    "status": "caution",
    "snow_cm": 14,
    "note": "Icy above 900 m in the morning; spikes recommended.",
    "updated": "2026-12-07T06:30:00+01:00",
}
ARGS = {"trail": "Hohe Wand ridge"}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://trails.zoo.test/"):
        return tool_json(CONDITIONS, server="caddy")
    return chat_json(
        "chatcmpl-ZooTr6y2Hb8Nm4Vc1Xz7Lk3Jh",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[("call_Tr5Ws8Ed1Rf4Tg7Yh0Uj3Ik6", "trail_conditions", json.dumps(ARGS))],
        usage=(121, 17),
    )


if __name__ == "__main__":
    question = "Is the Hohe Wand ridge trail open tomorrow?"
    cassette = Path(__file__).parent / "cassettes" / "trails.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
