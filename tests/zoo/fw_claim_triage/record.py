"""Records ``cassettes/claims.yaml``; from tests/zoo: ``python -m fw_claim_triage.record``.

Two runs of the app through pydantic-ai's real Anthropic client, which streams its requests:
the calm one (policy service, then the triage through ``final_result``), and one whose first
answer calls a tool the app never offered, so pydantic-ai re-asks with the error; only that
re-ask and its (valid) answer are kept from the second run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fw_claim_triage.app import answer
from recorder import Upstream, record_runs
from wire import Canned, messages_sse, tool_json

CLAIM = (
    "A pipe burst under the sink last night and flooded the kitchen floor. The water is off "
    "now, but the floor boards are soaked. What happens next?"
)
POLICY = {
    "policy_id": "HX-20417",
    "holder": "Marta Silva",
    "cover": {"escape_of_water": True, "storm": True, "theft": False},
    "excess_eur": 250.0,
    "renewal_date": "2027-04-01",
}
TRIAGE = {
    "policy_id": "HX-20417",
    "covered": True,
    "excess_eur": 250.0,
    "priority": "normal",
    "next_step": "Send photos of the damage and the plumber's invoice; a loss adjuster will "
    "call within two working days.",
}
MODEL = "claude-haiku-4-5-20251001"


def upstream(*, first_tool: str) -> Upstream:
    def answer_for(method: str, url: str, body: Any) -> Canned:
        if url.startswith("http://policies.zoo.test/"):
            return tool_json(POLICY, server="uvicorn")
        if len(body["messages"]) == 1:
            return messages_sse(
                "msg_01ZooCl4imTr1ag3Hx2041",
                MODEL,
                tool_uses=[("toolu_01ZooTr1ag3Hx2041Cl4im", first_tool, TRIAGE)],
                usage=(702, 96),
            )
        return messages_sse(
            "msg_01ZooCl4imTr1ag3Hx2042",
            MODEL,
            tool_uses=[("toolu_01ZooTr1ag3Hx2042Cl4im", "final_result", TRIAGE)],
            usage=(781, 96),
        )

    return answer_for


if __name__ == "__main__":
    inputs = {"claim": CLAIM, "policy_id": "HX-20417"}
    cassette = Path(__file__).parent / "cassettes" / "claims.yaml"
    runs = [
        (inputs, upstream(first_tool="final_result"), 0),
        # exchanges: policy, a call to an unknown tool, re-ask: keep the re-ask
        (inputs, upstream(first_tool="submit_triage"), 2),
    ]
    print(record_runs(answer, runs, cassette))
