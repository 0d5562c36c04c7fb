"""A small weather desk: one tool call over HTTP, one OpenAI chat completion, one JSON answer.

``POST /ask {"city": "Lisbon"}`` reads the current weather from the weather tool
(``$WEATHER_URL/current?city=``) with httpx, asks OpenAI (the official SDK, base URL from
``$OPENAI_BASE_URL``) for a one-sentence summary, and answers ``{"city", "temp_c", "summary"}``.
A provider or tool failure is answered the controlled way: HTTP 503 with ``{"error": ...}``,
the declared error shape of ``cases.yaml``. ``GET /health`` says it is up.

Written for faultkit's load tests (no external origin). Knobs, by environment variable:
``WEATHER_DESK_DRIFT=1`` returns a drifted body (``town``/``temperature``) as HTTP 200, the bug
the contract must catch; ``WEATHER_DESK_HANG_S`` makes every answer wait that long first.

Run: ``python -m weather_desk.app PORT`` from ``tests/load``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
from pydantic import BaseModel


class Answer(BaseModel):
    """What /ask promises on success."""

    city: str
    temp_c: float
    summary: str


class ErrorBody(BaseModel):
    """What /ask answers, with HTTP 503, when it cannot answer."""

    error: str


DRIFT = os.environ.get("WEATHER_DESK_DRIFT") == "1"
HANG_S = float(os.environ.get("WEATHER_DESK_HANG_S") or 0)
TOOL = httpx.Client(base_url=os.environ.get("WEATHER_URL", ""), timeout=5.0)
LLM = openai.OpenAI(api_key="sk-test", max_retries=0, timeout=5.0)  # base URL from the env


def answer(city: str) -> tuple[int, dict[str, object]]:
    try:
        weather = TOOL.get("/current", params={"city": city})
        weather.raise_for_status()
        data = weather.json()
        completion = LLM.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Summarise the weather in one sentence."},
                {"role": "user", "content": f"{city}: {data['temp_c']} C, {data['sky']}"},
            ],
        )
    except (httpx.HTTPError, openai.APIError) as exc:
        return 503, {"error": f"weather unavailable: {type(exc).__name__}"}
    summary = completion.choices[0].message.content or ""
    if DRIFT:
        return 200, {"town": city, "temperature": str(data["temp_c"]), "summary": summary}
    return 200, Answer(city=city, temp_c=data["temp_c"], summary=summary).model_dump()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"ok": True})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        city = json.loads(self.rfile.read(length) or b"{}").get("city", "Lisbon")
        if HANG_S:
            time.sleep(HANG_S)
        self._send(*answer(city))

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
