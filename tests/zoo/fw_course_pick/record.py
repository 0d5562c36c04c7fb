"""Records ``cassettes/courses.yaml``; from tests/zoo: ``python -m fw_course_pick.record``.

Two runs of the app through pydantic-ai's real OpenAI client: the calm one (the model calls
``search_courses``, the catalogue answers, the model answers through ``final_result``), and one
whose first ``final_result`` misses a field, so pydantic-ai re-asks with the validation error;
only that re-ask and its (valid) answer are kept from the second run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fw_course_pick.app import answer
from recorder import Upstream, record_runs
from wire import Canned, chat_json, tool_json

REQUEST = "I'd like a beginner course in data analysis, after work, starting this spring."
CATALOGUE = {
    "term": "2027-spring",
    "courses": [
        {
            "code": "DA-110",
            "title": "Data Analysis with Spreadsheets",
            "level": "beginner",
            "weekday": "Tuesday",
            "starts_at": "18:30",
            "seats_left": 7,
            "fee_eur": 185.0,
        },
        {
            "code": "DA-140",
            "title": "First Steps in Python for Data",
            "level": "beginner",
            "weekday": "Thursday",
            "starts_at": "19:00",
            "seats_left": 3,
            "fee_eur": 240.0,
        },
    ],
}
PICK = {
    "code": "DA-140",
    "title": "First Steps in Python for Data",
    "weekday": "Thursday",
    "seats_left": 3,
    "fee_eur": 240.0,
    "reason": "It starts at 19:00 after work and teaches data analysis from the very basics.",
}
MODEL = "gpt-4o-mini-2024-07-18"


def _search() -> Canned:
    arguments = json.dumps({"topic": "data analysis", "level": "beginner"})
    return chat_json(
        "chatcmpl-ZooCo8Ur5Se2Pi7Ck4Ad1Vi9",
        MODEL,
        tool_calls=[("call_Co3Ur8Se5Pi2Ck7Ad4Vi1Zq6", "search_courses", arguments)],
        usage=(312, 24),
    )


def _pick(completion_id: str, call_id: str, pick: dict[str, Any]) -> Canned:
    return chat_json(
        completion_id,
        MODEL,
        tool_calls=[(call_id, "final_result", json.dumps(pick))],
        usage=(540, 71),
    )


def upstream(*, first_pick: dict[str, Any]) -> Upstream:
    def answer_for(method: str, url: str, body: Any) -> Canned:
        if url.startswith("http://courses.zoo.test/"):
            return tool_json(CATALOGUE, server="nginx")
        turns = len(body["messages"])
        if turns <= 2:
            return _search()
        if turns <= 4:
            return _pick(
                "chatcmpl-ZooCo2Pk6Ur9Se3Pi5Ck8Ad0", "call_Co6Pk1Ur4Se9Pi2Ck5Ad8Vi3", first_pick
            )
        return _pick("chatcmpl-ZooCo7Rk3Ur1Se6Pi9Ck2Ad5", "call_Co9Rk4Ur7Se2Pi5Ck8Ad1Vi6", PICK)

    return answer_for


if __name__ == "__main__":
    inputs = {"request": REQUEST}
    incomplete = {k: v for k, v in PICK.items() if k != "fee_eur"}
    cassette = Path(__file__).parent / "cassettes" / "courses.yaml"
    runs = [
        (inputs, upstream(first_pick=PICK), 0),
        # exchanges: search, catalogue, incomplete pick, re-ask: keep the re-ask
        (inputs, upstream(first_pick=incomplete), 3),
    ]
    print(record_runs(answer, runs, cassette))
