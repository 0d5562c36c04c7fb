"""Records ``cassettes/interactions.yaml``; from tests/zoo: ``python -m dose_guide.record``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dose_guide.app import answer
from recorder import record
from wire import Canned, messages_sse, tool_json

FINDING = {
    "interaction_id": "INT-55120",
    "drugs": ["ibuprofen", "lisinopril"],
    "severity": "moderate",
    "summary": "NSAIDs can reduce the blood-pressure-lowering effect of ACE inhibitors and, "
    "together, raise the risk of kidney problems.",
    "source": "Zoo Pharmacy interaction database v41",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://pharmacy.zoo.test/"):
        return tool_json(FINDING)
    return messages_sse(
        "msg_01ZooDg1Qa4Ws7Ed0Rf3Tg6Yh",
        "claude-haiku-4-5-20251001",
        text="Taking ibuprofen with lisinopril is a moderate interaction: ibuprofen can make "
        "lisinopril less effective at lowering your blood pressure, and together they can "
        "strain your kidneys. An occasional dose is usually fine if you drink enough water, "
        "but please confirm with your pharmacist before taking them together regularly.",
        usage=(356, 74),
    )


if __name__ == "__main__":
    inputs = {
        "question": "Can I take ibuprofen with my lisinopril?",
        "drugs": ["ibuprofen", "lisinopril"],
    }
    cassette = Path(__file__).parent / "cassettes" / "interactions.yaml"
    print(record(answer, inputs, upstream, cassette))
