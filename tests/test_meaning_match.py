"""Rules that target what a request means, not the host it goes to: the provider known from the
wire format and path, any tool route, a streamed answer, and route aliases from faultkit.toml.

The provider and kind tests drive the official SDKs through the in-process door at the base URLs
real apps use (a local server, Azure OpenAI, a gateway): the rule must fire there exactly as it
does on api.openai.com, or a scenario would pass without having tested anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import anthropic
import openai
import pytest

from faultkit.config import ConfigError, load_routes, project_routes
from faultkit.engine import Engine
from faultkit.exchange import Request
from faultkit.formats.detect import (
    WireFormat,
    detect_format,
    exchange_kind,
    request_streams,
    structured_output_tool,
)
from faultkit.ledger import Ledger
from faultkit.oracle.facts import is_tool
from faultkit.scenario import Match, Scenario
from faultkit.session import FaultkitSession

HI = [{"role": "user", "content": "hi"}]
REAL = Path(__file__).resolve().parent / "cassettes-real"
SIMPLE = REAL / "pydantic-ai__test_request_simple_usage.yaml"

# Each provider says "no" in its own way: the fault that fires tells which rule matched.
BY_PROVIDER = Scenario.from_yaml(
    """
name: by-provider
rules:
  - name: host-openai
    match: {route: openai}
    fault: {type: http_error, status: 418}
  - name: openai
    match: {provider: openai}
    fault: {type: http_error, status: 429}
  - name: anthropic
    match: {provider: anthropic}
    fault: {type: http_error, status: 529}
"""
)


def _fired(fk: FaultkitSession) -> list[list[str]]:
    return [[f.rule for f in e.faults] for e in fk.ledger]


def _openai(fk: FaultkitSession, base_url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url=base_url, http_client=fk.client(), max_retries=0)


def _chat(client: openai.OpenAI) -> object:
    return client.chat.completions.create(model="gpt-4o", messages=HI)


# -- provider, whatever the host ------------------------------------------------------------------


def _azure(fk: FaultkitSession) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        api_key="k",
        api_version="2024-10-21",
        azure_endpoint="https://x.openai.azure.com",
        http_client=fk.client(),
        max_retries=0,
    )


def _claude(fk: FaultkitSession) -> object:
    client = anthropic.Anthropic(
        api_key="k", base_url="http://10.0.0.7:4000", http_client=fk.httpx2_client(), max_retries=0
    )
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=HI)


# app's call through the door, the URL it must reach, the status it gets, the rule that fired
ON_ANY_HOST = {
    "local-server-chat": (
        lambda fk: _chat(_openai(fk, "http://127.0.0.1:8123/v1")),
        "http://127.0.0.1:8123/v1/chat/completions",
        429,
        "openai",
    ),
    "azure-deployment": (
        lambda fk: _chat(_azure(fk)),
        "https://x.openai.azure.com/openai/deployments/gpt-4o/chat/completions"
        "?api-version=2024-10-21",
        429,
        "openai",
    ),
    "gateway-responses": (
        lambda fk: _openai(fk, "https://gw.example/llm/openai/v1").responses.create(
            model="gpt-4o", input="hi"
        ),
        "https://gw.example/llm/openai/v1/responses",
        429,
        "openai",
    ),
    "anthropic-any-host": (_claude, "http://10.0.0.7:4000/v1/messages", 529, "anthropic"),
}


@pytest.mark.parametrize("case", list(ON_ANY_HOST))
def test_provider_rules_fire_on_any_host(case: str) -> None:
    call, url, status, rule = ON_ANY_HOST[case]
    with FaultkitSession(BY_PROVIDER) as fk:
        with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as caught:
            call(fk)
        (entry,) = fk.ledger
    assert caught.value.status_code == status
    assert entry.url == url
    # Only the rule for this provider fired; the host-named rule (route: openai) is the false
    # green this replaces: it fired nowhere.
    assert _fired(fk) == [[rule]]


def _vertex(fk: FaultkitSession) -> anthropic.AnthropicVertex:
    return anthropic.AnthropicVertex(
        region="us-east5",
        project_id="p",
        access_token="t",
        http_client=fk.httpx2_client(),
        max_retries=0,
    )


def _bedrock(fk: FaultkitSession) -> anthropic.AnthropicBedrock:
    return anthropic.AnthropicBedrock(
        aws_region="us-east-1",
        aws_access_key="a",
        aws_secret_key="b",
        http_client=fk.httpx2_client(),
        max_retries=0,
    )


@pytest.mark.parametrize(
    ("make", "model", "paths"),
    [
        (
            _vertex,
            "claude-sonnet-4@20250514",
            [":rawPredict", ":streamRawPredict"],
        ),
        (
            _bedrock,
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            ["/invoke", "/invoke-with-response-stream"],
        ),
    ],
    ids=["vertex", "bedrock"],
)
def test_provider_anthropic_and_stream_on_the_cloud_endpoints(
    make: Callable[[FaultkitSession], anthropic.Anthropic], model: str, paths: list[str]
) -> None:
    """Vertex and Bedrock put the model and the streaming in the path: still Anthropic's
    Messages API, still a provider call, and the streamed one is a streamed answer."""
    scenario = Scenario.from_yaml(
        "name: cloud\nrules:\n"
        "  - {name: streamed, match: {provider: anthropic, stream: true},"
        " fault: {type: http_error, status: 529}}\n"
        "  - {name: plain, match: {provider: anthropic, stream: false},"
        " fault: {type: http_error, status: 503}}\n"
        "  - {name: tool, match: {kind: tool}, fault: {type: http_error, status: 418}}\n"
    )
    with FaultkitSession(scenario) as fk:
        client = make(fk)
        statuses = []
        for stream in (False, True):
            with pytest.raises(anthropic.APIStatusError) as caught:
                client.messages.create(model=model, max_tokens=5, messages=HI, stream=stream)
            statuses.append(caught.value.status_code)
    assert statuses == [503, 529]
    assert _fired(fk) == [["plain"], ["streamed"]]
    assert [e.url.endswith(p) for e, p in zip(fk.ledger, paths, strict=True)] == [True, True]
    assert {e.format for e in fk.ledger} == {"anthropic_messages"}


# -- any tool route -------------------------------------------------------------------------------

BY_KIND = Scenario.from_yaml(
    """
name: by-kind
rules:
  - name: tools-down
    match: {kind: tool}
    fault: {type: http_error, status: 503}
  - name: provider-limited
    match: {kind: provider}
    fault: {type: http_error, status: 429}
"""
)
MCP_CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "forecast", "arguments": {"city": "Lyon"}},
}


def test_kind_tool_fires_on_every_non_llm_upstream_and_never_on_the_provider() -> None:
    with FaultkitSession(BY_KIND) as fk:
        http = fk.client()
        weather = http.get("http://weather.eu.internal:8080/forecast?city=Lyon")
        mcp = http.post(
            "https://tools.example/mcp",
            json=MCP_CALL,
            headers={"accept": "application/json, text/event-stream"},
        )
        with pytest.raises(openai.RateLimitError):
            _chat(_openai(fk, "http://127.0.0.1:8123/v1"))
    assert (weather.status_code, mcp.status_code) == (503, 503)
    assert _fired(fk) == [["tools-down"], ["tools-down"], ["provider-limited"]]
    assert [e.format for e in fk.ledger] == ["json", "mcp", "openai_chat"]


def test_kind_is_the_oracles_definition_of_a_tool_exchange() -> None:
    """A rule's `kind: tool` and the oracle's tool checks must agree on every format, or a
    scenario would fault exchanges the oracle then does not judge as tools."""
    ledger = Ledger()
    for fmt in WireFormat:
        entry = ledger.open(
            route="r",
            method="GET",
            url="http://h/",
            fmt=fmt.value,
            model=None,
            body=b"",
            retry_count=None,
            arrival_ms=0,
        )
        assert is_tool(entry, None) == (exchange_kind(fmt) == "tool"), fmt
        assert exchange_kind(fmt.value) == exchange_kind(fmt)


# -- a streamed answer ----------------------------------------------------------------------------


def test_stream_true_counts_among_streamed_calls_only() -> None:
    """The app asks a plain question first and streams only its final answer: a fault meant
    for "the first streamed answer" must reach that answer, not the first call."""
    scenario = Scenario.from_yaml(
        """
name: first-stream
rules:
  - name: first-streamed
    match: {provider: openai, stream: true}
    when: {nth: 1}
    fault: {type: http_error, status: 503}
"""
    )
    with FaultkitSession(scenario, cassettes=[SIMPLE], match_on=("method", "path")) as fk:
        client = _openai(fk, "https://api.openai.com/v1")
        first = _chat(client)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
    assert first.choices[0].message.content.startswith("Hello!")
    assert _fired(fk) == [[], ["first-streamed"]]


def _request(
    body: object = None, url: str = "https://api.openai.com/v1/chat/completions", **headers: str
) -> Request:
    raw = json.dumps(body).encode() if body is not None else b""
    return Request(method="POST", url=url, headers=tuple(headers.items()), body=raw)


@pytest.mark.parametrize(
    ("request_", "streams"),
    [
        (_request({"model": "m", "messages": [], "stream": True}), True),
        (_request({"model": "m", "messages": [], "stream": False}), False),
        (_request({"model": "m", "input": "x", "stream": True}, "https://h/v1/responses"), True),
        (_request({"model": "m", "stream": True}, "https://h/v1/messages"), True),
        (_request(None, "http://h/events", accept="text/event-stream"), True),
        # MCP streamable HTTP accepts both on every call and lets the server pick.
        (_request(MCP_CALL, "http://h/mcp", accept="application/json, text/event-stream"), False),
        (_request({"stream": "yes"}, "http://h/tool"), False),
    ],
    ids=["chat", "chat-false", "responses", "anthropic", "accept-sse", "mcp", "not-a-bool"],
)
def test_request_streams(request_: Request, streams: bool) -> None:
    assert request_streams(request_) is streams
    assert Match(stream=streams).matches(request_, "r")
    assert not Match(stream=not streams).matches(request_, "r")


# -- the structured answer's carrier --------------------------------------------------------------


def _tools(*names: str) -> list[dict[str, object]]:
    return [{"type": "function", "function": {"name": n, "parameters": {}}} for n in names]


@pytest.mark.parametrize(
    ("body", "carrier"),
    [
        # instructor's tools mode and langchain's with_structured_output force the tool.
        (
            {
                "tools": _tools("lookup", "Answer"),
                "tool_choice": {"type": "function", "function": {"name": "Answer"}},
            },
            "Answer",
        ),
        (
            {"tools": [{"name": "Answer"}], "tool_choice": {"type": "tool", "name": "Answer"}},
            "Answer",
        ),
        (
            {
                "tools": [{"type": "function", "name": "Answer"}],
                "tool_choice": {"type": "function", "name": "Answer"},
            },
            "Answer",
        ),
        # pydantic-ai's output tool, whatever tool_choice says.
        (
            {"tools": _tools("get_user_country", "final_result"), "tool_choice": "required"},
            "final_result",
        ),
        ({"tools": _tools("final_result_Order", "final_result_Refusal")}, "final_result_Order"),
        ({"tools": [{"name": "Answer"}], "tool_choice": {"type": "any"}}, "Answer"),
        # An app's only lookup tool does not carry its answer.
        ({"tools": _tools("get_order"), "tool_choice": "auto"}, None),
        ({"tools": _tools("a", "b"), "tool_choice": "required"}, None),
        ({"messages": []}, None),
    ],
    ids=[
        "chat-forced",
        "anthropic-forced",
        "responses-forced",
        "final_result",
        "final_result_x",
        "any-of-one",
        "only-tool-auto",
        "required-of-two",
        "no-tools",
    ],
)
def test_structured_output_tool(body: dict[str, object], carrier: str | None) -> None:
    assert structured_output_tool(_request(body)) == carrier


# -- route aliases --------------------------------------------------------------------------------


def test_a_route_alias_matches_every_route_of_its_globs(tmp_path: Path) -> None:
    (tmp_path / "faultkit.toml").write_text(
        '[routes]\nweather = "weather.*"\nsearch = ["search*", "retrieval"]\n'
    )
    aliases = load_routes(tmp_path / "faultkit.toml")
    assert aliases == {"weather": ("weather.*",), "search": ("search*", "retrieval")}
    scenario = Scenario.from_yaml(
        "name: a\nrules:\n"
        "  - {name: w, match: {route: weather}, fault: {type: http_error, status: 503}}\n"
        "  - {name: s, match: {route: search}, fault: {type: http_error, status: 503}}\n"
        "  - {name: plain, match: {route: 'orders*'}, fault: {type: http_error, status: 503}}\n"
    )
    engine = Engine(scenario, routes=aliases)
    request = _request(None, "http://x/")
    fired = {
        route: [f.label for f in engine.select(request, route, 0).firings]
        for route in ("weather.eu", "weather", "search-v2", "retrieval", "orders.internal")
    }
    assert fired == {
        "weather.eu": ["w"],
        "weather": [],  # the alias stands for its globs, not for its own name
        "search-v2": ["s"],
        "retrieval": ["s"],
        "orders.internal": ["plain"],  # no alias: the pattern is a glob, as before
    }


def test_route_aliases_from_pyproject_and_read_once_per_directory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.faultkit.routes]\nweather = "weather.*"\n'
    )
    assert project_routes(tmp_path) == {"weather": ("weather.*",)}
    (tmp_path / "pyproject.toml").write_text("[tool.faultkit.routes]\nweather = 'changed'\n")
    assert project_routes(tmp_path) == {"weather": ("weather.*",)}
    assert project_routes(tmp_path / "nowhere") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("routes = 3\n", "[routes] must be a table of aliases"),
        ("[routes]\nweather = 3\n", "[routes] weather: must be a route glob or a non-empty list"),
        ("[routes]\nweather = []\n", "[routes] weather: must be a route glob or a non-empty list"),
        ("[routes]\nweather = [1]\n", "[routes] weather: must be a route glob"),
        ("[routes\n", "invalid TOML"),
    ],
)
def test_a_bad_routes_table_is_a_config_error_naming_file_and_alias(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "faultkit.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_routes(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_every_engine_uses_the_project_aliases_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The doors build engines without knowing about aliases: a session in the project
    directory resolves `route: weather` from its faultkit.toml."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "faultkit.toml").write_text('[routes]\nweather = "weather.*"\n')
    (bad / "faultkit.toml").write_text("[routes]\nweather = 3\n")
    scenario = Scenario.from_yaml(
        "name: w\nrules:\n  - match: {route: weather}\n    fault: {type: http_error, status: 503}\n"
    )
    monkeypatch.chdir(good)
    with FaultkitSession(scenario) as fk:
        assert fk.client().get("http://weather.eu/forecast").status_code == 503
    monkeypatch.chdir(bad)
    with pytest.raises(ConfigError, match=r"faultkit.toml: \[routes\] weather: "):
        Engine(scenario)


# -- formats by path, whatever the host -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fmt"),
    [
        ("http://127.0.0.1:8123/v1/chat/completions", WireFormat.openai_chat),
        (
            "https://x.openai.azure.com/openai/deployments/gpt-4o/chat/completions"
            "?api-version=2024-10-21",
            WireFormat.openai_chat,
        ),
        ("https://gw.example/llm/openai/v1/responses", WireFormat.openai_responses),
        ("https://any.host/v1/messages", WireFormat.anthropic_messages),
        (
            "https://eu-aiplatform.googleapis.com/v1/projects/p/locations/eu/publishers/"
            "anthropic/models/count-tokens:rawPredict",
            WireFormat.anthropic_messages,
        ),
        (
            "https://bedrock-runtime.x/model/us.anthropic.claude-3-7:0/invoke",
            WireFormat.anthropic_messages,
        ),
        ("https://bedrock-runtime.x/model/amazon.titan-text-express-v1/invoke", WireFormat.other),
        ("https://weather.eu/forecast", WireFormat.other),
    ],
)
def test_format_by_path_on_any_host(url: str, fmt: WireFormat) -> None:
    assert detect_format(_request({"model": "m"}, url)) == fmt
