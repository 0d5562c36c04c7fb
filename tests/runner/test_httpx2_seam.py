"""An app on the anthropic SDK runs under ``faultkit run`` as it is written.

anthropic 2.x takes only httpx2 clients (it rejects an httpx one by name). An app whose seam
defaults to ``httpx2.Client`` (or ``httpx2.AsyncClient``) must get httpx2 clients wired to the
door, with no bridge of its own: here the real SDK streams a real recorded Anthropic answer
through ``faultkit.runner``, calm and with an injected overload.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import pytest

from faultkit.runner import CallableTarget, Case, RunPlan, run
from faultkit.runner.target import Seam, seam_of
from faultkit.scenario import Scenario

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
TOOLS_STREAM = REAL / "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
MODEL = "claude-3-5-sonnet-20240620"
RECORDED_TEXT = "Certainly! I can help you with that information"


def _summary(message: Any) -> dict[str, Any]:
    text = "".join(block.text for block in message.content if block.type == "text")
    tools = [block.name for block in message.content if block.type == "tool_use"]
    return {"text": text, "tools": tools}


def weather(question: str, *, http_client_factory: Any = httpx2.Client) -> dict[str, Any]:
    client = anthropic.Anthropic(http_client=http_client_factory(timeout=10), max_retries=0)
    with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": question}]
    ) as stream:
        return _summary(stream.get_final_message())


async def weather_async(
    question: str, *, http_client_factory: Any = httpx2.AsyncClient
) -> dict[str, Any]:
    client = anthropic.AsyncAnthropic(http_client=http_client_factory(timeout=10), max_retries=0)
    async with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": question}]
    ) as stream:
        return _summary(await stream.get_final_message())


SCENARIOS = [
    Scenario(name="calm"),
    Scenario.model_validate(
        {"name": "overloaded", "rules": [{"fault": {"type": "http_error", "status": 529}}]}
    ),
]


@pytest.mark.parametrize("app", [weather, weather_async], ids=["sync", "async"])
def test_the_anthropic_sdk_gets_httpx2_clients_on_the_door(app: Any) -> None:
    plan = RunPlan(
        mode="target",
        targets=[CallableTarget(f"{__name__}:{app.__name__}", app)],
        scenarios=[(None, scenario) for scenario in SCENARIOS],
        cases=[Case(name="sf", input={"question": "Weather and time in San Francisco?"})],
        cassettes=[TOOLS_STREAM],
        match_on=("method", "uri"),
        jobs=1,
    )
    calm, overloaded = run(plan).cells

    assert calm.result.error is None, calm.result.error
    assert calm.result.value["text"].startswith(RECORDED_TEXT)
    assert calm.result.value["tools"] == ["get_weather", "get_time"]
    (entry,) = calm.ledger
    assert entry.recording == f"{TOOLS_STREAM}#0" and entry.ending == "completed"
    assert entry.format == "anthropic_messages"

    # The fault reaches the SDK through the same door: it raises the provider's overload.
    assert overloaded.result.error is not None
    assert overloaded.result.error.type.endswith("OverloadedError")
    assert [f.type for e in overloaded.ledger for f in e.faults] == ["http_error"]


def _param(source: str) -> inspect.Parameter:
    namespace: dict[str, Any] = {"httpx": httpx, "httpx2": httpx2, "anthropic": anthropic}
    exec(f"def app({source}): pass", namespace)
    return next(iter(inspect.signature(namespace["app"]).parameters.values()))


@pytest.mark.parametrize(
    ("source", "is_async", "seam"),
    [
        ("http_client_factory=httpx.Client", False, Seam("httpx", False)),
        ("http_client_factory=httpx.AsyncClient", True, Seam("httpx", True)),
        ("http_client_factory=httpx2.Client", False, Seam("httpx2", False)),
        ("http_client_factory=httpx2.AsyncClient", True, Seam("httpx2", True)),
        ("http_client_factory=anthropic.DefaultHttpxClient", False, Seam("httpx2", False)),
        ("http_client_factory=anthropic.DefaultAsyncHttpxClient", True, Seam("httpx2", True)),
        ("http_client: 'httpx2.Client | None' = None", False, Seam("httpx2", False)),
        ("http_client: 'httpx2.AsyncClient | None' = None", True, Seam("httpx2", True)),
        ("http_client: httpx2.Client", False, Seam("httpx2", False)),
        ("http_client=None", True, Seam("httpx", True)),
        ("http_client_factory", False, Seam("httpx", False)),
    ],
)
def test_the_seam_follows_the_apps_declared_client(source: str, is_async: bool, seam: Seam) -> None:
    assert seam_of(_param(source), is_async) == seam
