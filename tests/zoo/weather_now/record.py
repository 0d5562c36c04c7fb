"""Records ``cassettes/weather.yaml``: run from tests/zoo with ``python -m weather_now.record``."""

from __future__ import annotations

import json
from pathlib import Path

from recorder import record
from weather_now.app import answer
from wire import chat_sse, tool_json

CALL = "call_Wq3nH8vTz2LkPp0sXaY6mBcD"
OBSERVATION = {
    "city": "Lisbon",
    "temperature_c": 18.5,
    "conditions": "light rain",
    "wind_kph": 22.0,
    "humidity_pct": 81,
    "observed_at": "2026-12-07T06:10:00Z",
    "station": "LPPT",
}


def upstream(method: str, url: str, body: dict | None):
    if url.startswith("http://weather.zoo.test/"):
        return tool_json(OBSERVATION)
    if any(m["role"] == "tool" for m in body["messages"]):
        return chat_sse(
            "chatcmpl-ZooWx2b7Kq91LmNcRtVa0sPe",
            "gpt-4o-mini-2024-07-18",
            content="Right now in Lisbon it is 18.5 °C with light rain and a 22 km/h wind "
            "— take an umbrella!",
            usage=(214, 27),
        )
    return chat_sse(
        "chatcmpl-ZooWx1a6Jp80KlMbQsUz9rOd",
        "gpt-4o-mini-2024-07-18",
        tool_calls=[(CALL, "get_current_weather", json.dumps({"city": "Lisbon"}))],
        usage=(118, 16),
    )


if __name__ == "__main__":
    here = Path(__file__).parent
    print(
        record(
            answer,
            {"question": "What's the weather like in Lisbon right now?"},
            upstream,
            here / "cassettes" / "weather.yaml",
        )
    )
