"""Records ``cassettes/recipes.yaml``; from tests/zoo: ``python -m recipe_stream.record``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recipe_stream.app import answer
from recorder import record
from wire import Canned, chat_json, chat_sse, tool_json

RESULTS = {
    "results": [
        {
            "id": "rcp-4471",
            "title": "Chickpea and spinach curry",
            "minutes": 25,
            "diet": "vegetarian",
            "rating": 4.7,
            "servings": 4,
        },
        {
            "id": "rcp-1032",
            "title": "Halloumi traybake",
            "minutes": 30,
            "diet": "vegetarian",
            "rating": 4.4,
            "servings": 2,
        },
    ],
    "total": 2,
}
ARGS = {"query": "quick dinner", "diet": "vegetarian", "max_minutes": 30}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://recipes.zoo.test/"):
        return tool_json(RESULTS)
    if body.get("stream"):
        return chat_sse(
            "chatcmpl-ZooRc2k9Lm4Np7Qr0St3Uv6Wx",
            "gpt-4o-2024-08-06",
            content="Try the chickpea and spinach curry: it is ready in 25 minutes, fully "
            "vegetarian, and the spices make it taste like it simmered for hours. Serve it "
            "with rice or warm flatbread.",
            usage=(268, 44),
        )
    return chat_json(
        "chatcmpl-ZooRc1j8Kl3Mo6Pq9Rs2Tu5Vw",
        "gpt-4o-2024-08-06",
        tool_calls=[("call_Rz4Ty7Ui0Op3As6Df9Gh2Jk5", "search_recipes", json.dumps(ARGS))],
        usage=(161, 24),
    )


if __name__ == "__main__":
    question = "Something vegetarian for dinner, under 30 minutes?"
    cassette = Path(__file__).parent / "cassettes" / "recipes.yaml"
    print(record(answer, {"question": question}, upstream, cassette))
