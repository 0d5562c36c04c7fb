"""Records ``cassettes/tariffs.yaml``; from tests/zoo: ``python -m fw_tariff_check.record``.

The app's langchain chain runs through langchain-openai's real client (``ChatOpenAI`` on the
Responses API), so the request body is exactly what langchain sends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fw_tariff_check.app import answer
from recorder import record
from wire import Canned, responses_json, tool_json

OFFER = {
    "postcode": "1200-195",
    "annual_kwh": 3200,
    "tariffs": [
        {
            "tariff_id": "EN-FIX-12",
            "name": "Fixed 12 Months",
            "unit_eur_kwh": 0.1742,
            "standing_eur_day": 0.2611,
            "yearly_cost_eur": 652.74,
        },
        {
            "tariff_id": "EN-GREEN-24",
            "name": "Green Fixed 24 Months",
            "unit_eur_kwh": 0.1689,
            "standing_eur_day": 0.2795,
            "yearly_cost_eur": 642.5,
        },
        {
            "tariff_id": "EN-NIGHT-7",
            "name": "Economy Night 7",
            "unit_eur_kwh": 0.1931,
            "standing_eur_day": 0.2405,
            "yearly_cost_eur": 705.71,
        },
    ],
}
ADVICE = {
    "tariff_id": "EN-GREEN-24",
    "name": "Green Fixed 24 Months",
    "yearly_cost_eur": 642.5,
    "reason": "At 3200 kWh a year it is the cheapest tariff on offer and its price is fixed "
    "for two years.",
}


def upstream(method: str, url: str, body: Any) -> Canned:
    if url.startswith("http://energy.zoo.test/"):
        return tool_json(OFFER, server="envoy")
    return responses_json(
        "resp_0zooEn7c2d4e6f8a0b1c3d5e7f9a1b3",
        "gpt-4.1-mini-2025-04-14",
        text=json.dumps(ADVICE),
        usage=(388, 52),
        schema_name="TariffAdvice",
    )


if __name__ == "__main__":
    inputs = {
        "question": "Which electricity tariff should I choose? We use about 3200 kWh a year.",
        "postcode": "1200-195",
        "annual_kwh": 3200,
    }
    cassette = Path(__file__).parent / "cassettes" / "tariffs.yaml"
    print(record(answer, inputs, upstream, cassette))
