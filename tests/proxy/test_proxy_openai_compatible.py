"""OpenAI-compatible servers and Azure OpenAI: the OpenAI wire format on any host.

A self-hosted server (vLLM, Ollama, a LiteLLM proxy) is an OpenAI ``/v1/chat/completions`` at
some base URL; Azure OpenAI is the same format under a deployment path with an ``api-version``
query. faultkit knows them by the path, so a rule written ``provider: openai`` fires on them
and the oracle judges them as provider calls, whatever the host. Real parts: the official
openai SDK (``OpenAI`` and ``AzureOpenAI``), the real proxy process, a real local server.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import yaml
from _upstream_app import WORDS, LocalUpstream
from google import genai
from google.genai import errors, types

from faultkit.session import FaultkitSession

REPO = Path(__file__).resolve().parents[2]
SIMPLE = REPO / "tests" / "cassettes-real" / "pydantic-ai__test_request_simple_usage.yaml"
HI = [{"role": "user", "content": "hi"}]
SCENARIO = """\
name: compatible-overload
rules:
  - match: {provider: openai}
    when: {nth: 1}
    fault: {type: http_error, status: 503}
"""


def test_a_provider_rule_fires_on_a_self_hosted_server_through_the_proxy(proxy, tmp_path) -> None:
    """A vLLM-like server on 127.0.0.1, declared as an upstream of its own: the rule that says
    ``provider: openai`` (no host) faults it, the SDK retries, the ledger calls it openai_chat."""
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    with LocalUpstream() as upstream:
        door = proxy(
            "--mode",
            "passthrough",
            "--upstream",
            f"vllm={upstream.url}/v1,env=VLLM_BASE_URL",
            "--scenario",
            str(tmp_path / "s.yaml"),
        )
        assert f"export VLLM_BASE_URL={door.door('vllm')}" in door.out.read_text()
        client = openai.OpenAI(
            base_url=door.door("vllm"), api_key="sk-local", max_retries=2, timeout=10
        )
        answer = client.chat.completions.create(model="Qwen/Qwen2.5-7B-Instruct", messages=HI)
    assert answer.choices[0].message.content == "".join(WORDS)
    ledger = door.ledger()
    assert [(e["route"], e["format"], e["status"]) for e in ledger] == [
        ("vllm", "openai_chat", 503),
        ("vllm", "openai_chat", 200),
    ]
    assert [e["attempt"] for e in ledger] == [1, 2]
    assert ledger[0]["faults"][0]["type"] == "http_error"


def _azure_cassette(tmp_path: Path) -> Path:
    """The real OpenAI recording, as the same exchange reads on an Azure deployment."""
    data = yaml.safe_load(SIMPLE.read_text(encoding="utf-8"))
    (item,) = data["interactions"]
    item["request"]["uri"] = (
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions"
        "?api-version=2024-10-21"
    )
    path = tmp_path / "azure.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_azure_openai_is_an_openai_provider_call(tmp_path) -> None:
    """``AzureOpenAI`` through the in-process door: the deployment URL replays, a rule for
    ``provider: openai`` fires on it with OpenAI's own error body, and the SDK's retry is the
    second attempt of one logical call."""
    with FaultkitSession(cassettes=[_azure_cassette(tmp_path)], playback="repeat") as fk:
        fk.inject(
            {"type": "http_error", "status": 429, "retry_after_ms": 10},
            match={"provider": "openai"},
            when={"nth": 1},
        )
        client = openai.AzureOpenAI(
            api_key="azure-key",
            api_version="2024-10-21",
            azure_endpoint="https://contoso.openai.azure.com",
            http_client=fk.client(),
            max_retries=2,
        )
        answer = client.chat.completions.create(model="gpt-4o", messages=HI)
        ledger = fk.ledger
    assert answer.choices[0].message.content.startswith("Hello!")
    assert [(e.route, e.format, e.status) for e in ledger] == [
        ("contoso.openai.azure.com", "openai_chat", 429),
        ("contoso.openai.azure.com", "openai_chat", 200),
    ]
    assert [e.attempt for e in ledger] == [1, 2]
    assert ledger[0].error_code == "rate_limit_exceeded"
    assert "api-key" not in json.dumps([e.model_dump(mode="json") for e in ledger]).lower()


def test_gemini_through_the_proxy_door_it_exports(proxy) -> None:
    """The built-in ``gemini`` door: google-genai pointed at it (GOOGLE_GEMINI_BASE_URL, as the
    printed export line says) replays the bundled Gemini stream; a 429 scenario rule for
    ``provider: google`` answers in Google's error shape."""
    # The question is the recorded one; its system prompt and settings are not: match on the
    # endpoint, as a recording made by another app needs.
    door = proxy(
        "--cassettes",
        str(REPO / "cassettes" / "gemini"),
        "--timing-scale",
        "0",
        "--match-on",
        "method,uri",
        "--only",
        "gemini",
    )
    base = door.door("gemini")
    assert f"export GOOGLE_GEMINI_BASE_URL={base}" in door.out.read_text()
    client = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=base, api_version="v1beta")
    )
    chunks = client.models.generate_content_stream(
        model="gemini-2.0-flash-exp", contents="What is the capital of France?"
    )
    assert "".join(c.text or "" for c in chunks) == "The capital of France is Paris.\n"
    rule = {
        "name": "quota",
        "match": {"provider": "google"},
        "fault": {"type": "http_error", "status": 429},
    }
    reply = httpx.post(f"{door.control}/faultkit/faults", json=rule, timeout=10)
    assert reply.status_code < 300, reply.text
    try:
        list(
            client.models.generate_content_stream(
                model="gemini-2.0-flash-exp", contents="What is the capital of France?"
            )
        )
    except errors.ClientError as exc:
        assert exc.status == "RESOURCE_EXHAUSTED"
    else:
        raise AssertionError("the 429 rule did not reach the client")
    assert [e["status"] for e in door.ledger()] == [200, 429]
