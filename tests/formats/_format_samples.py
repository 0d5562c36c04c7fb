"""Real recorded provider bodies and streams (``tests/cassettes-real``) for the format
helper tests, read with ``yaml.safe_load`` directly (no dependency on the cassette loader)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import yaml

from faultkit.formats.sse import SSEEvent, parse_events

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"

CHAT_TOOL_BODY = "pydantic-ai__test_openai_tool_output.yaml"
CHAT_TEXT_BODY = "pydantic-ai__test_request_simple_usage.yaml"
CHAT_TWO_TOOLS_STREAM = (
    "opentelemetry-python-contrib__test_chat_completion_multiple_tools_streaming_with_content.yaml"
)
CHAT_STREAMS = "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"  # 0: tool, 1: text
RESPONSES_STREAMS = "llm__test_responses_tool_use_streaming.yaml"  # 0: tool, 1: text
ANTHROPIC_TOOL_BODY = "pydantic-ai__test_anthropic_tool_output.yaml"
ANTHROPIC_TOOLS_STREAM = "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
ANTHROPIC_EMPTY_INPUT_STREAM = "llm-anthropic__test_stream_events_tool_calls.yaml"


def real_body(name: str, index: int = 0) -> bytes:
    """The response body of interaction ``index`` (JSON re-serialized for ``parsed_body``)."""
    raw = yaml.safe_load((REAL / name).read_text())["interactions"][index]["response"]
    if "parsed_body" in raw:
        return json.dumps(raw["parsed_body"]).encode()
    string = raw["body"]["string"]
    body = string.encode() if isinstance(string, str) else string
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def real_json(name: str, index: int = 0) -> Any:
    return json.loads(real_body(name, index))


def real_events(name: str, index: int = 0) -> list[SSEEvent]:
    return parse_events(real_body(name, index))


def payloads(events: list[SSEEvent]) -> list[Any]:
    return [e.json() for e in events]
