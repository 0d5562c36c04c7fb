"""Which wire format an exchange speaks, and the request facts rules match on.

Detection looks at the request path first (the API endpoint decides the format, whatever the
host: a self-hosted OpenAI-compatible server at ``127.0.0.1``, an Azure OpenAI deployment or a
gateway that mounts the API under a prefix all speak ``openai_chat`` too), then at the body.

The facts here are what a rule can say *by meaning* rather than by host name: which provider
(``provider_of``), whether the exchange is a provider call or a tool (``exchange_kind``, the one
definition the oracle shares), whether the request asks for a streamed answer
(``request_streams``) and which tool, if any, carries the structured answer
(``structured_output_tool``).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from faultkit.exchange import Request


class WireFormat(StrEnum):
    openai_chat = "openai_chat"
    openai_responses = "openai_responses"
    anthropic_messages = "anthropic_messages"
    gemini = "gemini"
    mcp = "mcp"
    json = "json"
    other = "other"


PROVIDER_OF = {
    WireFormat.openai_chat: "openai",
    WireFormat.openai_responses: "openai",
    WireFormat.anthropic_messages: "anthropic",
    WireFormat.gemini: "google",
}
PROVIDER_FORMATS: frozenset[WireFormat] = frozenset(PROVIDER_OF)
"""The LLM wire formats. ``WireFormat`` is a ``StrEnum``, so a ledger's format string
(``"openai_chat"``) is found in this set as well as the enum member."""

ExchangeKind = Literal["provider", "tool"]

# Tool names pydantic-ai gives its output tool (``final_result``, or ``final_result_<Type>``
# when the output is a union of types).
OUTPUT_TOOL_PREFIX = "final_result"


def detect_format(request: Request, content_type: str | None = None) -> WireFormat:
    """The wire format of ``request`` (and its response's ``content_type``, when known)."""
    by_path = format_of_path(request.path)
    if by_path is not None:
        return by_path
    if request.body and _is_jsonrpc(request.json_body):
        return WireFormat.mcp
    return format_of_content_type(content_type)


@lru_cache(maxsize=4096)
def format_of_path(path: str) -> WireFormat | None:
    """The provider format an endpoint path names, or None. Cached: a client calls the same
    few endpoints over and over (the proxy asks once per request)."""
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return WireFormat.openai_chat
    if path.endswith("/responses"):
        return WireFormat.openai_responses
    if path.endswith("/messages") or ("/messages/" in path and path.endswith("count_tokens")):
        return WireFormat.anthropic_messages
    if _is_cloud_anthropic(path):
        return WireFormat.anthropic_messages
    if path.endswith(_GEMINI_VERBS):
        return WireFormat.gemini
    return None


# Anthropic's Messages API on the clouds, as the anthropic SDK's AnthropicVertex and
# AnthropicBedrock clients call it: the model is in the path, the body is a Messages request.
_VERTEX_ANTHROPIC = "/publishers/anthropic/models/"
_VERTEX_VERBS = (":rawPredict", ":streamRawPredict")
_BEDROCK_VERBS = ("/invoke", "/invoke-with-response-stream")
_STREAM_VERBS = (":streamRawPredict", "/invoke-with-response-stream", ":streamGenerateContent")
# Gemini, on the Gemini API (``/v1beta/models/{model}:generateContent``) and on Vertex AI
# (``.../publishers/google/models/{model}:generateContent``): the verb ends the path, the
# model is the segment before it, and a streamed call is a verb of its own.
_GEMINI_VERBS = (":generateContent", ":streamGenerateContent")


def _is_cloud_anthropic(path: str) -> bool:
    if _VERTEX_ANTHROPIC in path:
        return path.endswith(_VERTEX_VERBS)
    if path.startswith("/model/") and path.endswith(_BEDROCK_VERBS):
        model = path.removeprefix("/model/").rsplit("/", 1)[0]
        return "anthropic." in model
    return False


@lru_cache(maxsize=256)
def format_of_content_type(content_type: str | None) -> WireFormat:
    """What a content type alone tells: ``json`` for a JSON API, else ``other``. (For a
    request neither its path nor its body placed, this is all that is left to look at.)
    Cached: an API answers with a few content types (the proxy asks once per response)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        return WireFormat.json
    return WireFormat.other


def _is_jsonrpc(body: Any) -> bool:
    if isinstance(body, list):
        return bool(body) and all(_is_jsonrpc(b) for b in body)
    return isinstance(body, dict) and body.get("jsonrpc") == "2.0"


def provider_of(fmt: WireFormat) -> str | None:
    return PROVIDER_OF.get(fmt)


def exchange_kind(fmt: WireFormat | str) -> ExchangeKind:
    """``provider`` for an LLM wire format, ``tool`` for every other upstream (a JSON API, an
    MCP server, anything else). The one definition of a tool exchange: scenario rules
    (``kind: tool``) and the oracle's tool checks must agree on it, or a rule would fault
    exchanges the oracle does not judge as tools."""
    return "provider" if fmt in PROVIDER_FORMATS else "tool"


def request_streams(request: Request) -> bool:
    """Whether ``request`` asks for a streamed answer: ``"stream": true`` in the body (OpenAI
    Chat Completions and Responses, Anthropic Messages), an endpoint whose path names a
    streamed call (Vertex ``:streamRawPredict``, Bedrock ``invoke-with-response-stream``, Gemini
    ``:streamGenerateContent``), or an
    ``Accept`` header that asks for ``text/event-stream`` and not for JSON. MCP's streamable
    HTTP clients accept both on every call and let the server choose, so such a request does
    not count as asking for a stream."""
    body = request.json_body
    if isinstance(body, dict) and body.get("stream") is True:
        return True
    if request.path.endswith(_STREAM_VERBS):
        return True  # Vertex, Bedrock and Gemini name the streamed call in the path
    accept = request.header("accept")
    if not accept:
        return False
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return "text/event-stream" in types and not types & {"application/json", "*/*"}


def _tool_name(spec: Any) -> str | None:
    """The name in a tool declaration or a ``tool_choice`` object, in any provider's shape:
    ``{"name": ...}`` (Responses, Anthropic) or ``{"function": {"name": ...}}`` (Chat)."""
    if not isinstance(spec, dict):
        return None
    name = spec.get("name")
    function = spec.get("function")
    if name is None and isinstance(function, dict):
        name = function.get("name")
    return name if isinstance(name, str) else None


def _declarations(tools: Any) -> list[Any]:
    """The tool declarations of a request: its ``tools`` list, where a Gemini entry holds its
    functions in ``functionDeclarations``."""
    out: list[Any] = []
    for tool in tools if isinstance(tools, list) else []:
        functions = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        out.extend(functions if isinstance(functions, list) else [tool])
    return out


def _gemini_choice(body: dict[str, Any]) -> Any:
    """Gemini's ``toolConfig.functionCallingConfig`` in the other providers' ``tool_choice``
    terms: mode ``ANY`` with one allowed function forces it, ``ANY`` alone requires a call."""
    config = body.get("toolConfig")
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    if not isinstance(calling, dict) or calling.get("mode") != "ANY":
        return None
    allowed = calling.get("allowedFunctionNames")
    if isinstance(allowed, list) and len(allowed) == 1 and isinstance(allowed[0], str):
        return {"type": "function", "name": allowed[0]}
    return "required"


def structured_output_tool(request: Request) -> str | None:
    """The tool that carries the structured answer of a provider request, or None when the
    answer (if structured) is the message content.

    Frameworks that want typed output often ask for it as a tool call (instructor's tools mode,
    langchain's ``with_structured_output``, pydantic-ai's output tool). Checked in this order:

    1. ``tool_choice`` forces one named tool (``{"type": "function", ...}`` or Anthropic's
       ``{"type": "tool", "name": ...}``): the model must answer through it;
    2. a declared tool named ``final_result`` or ``final_result_*`` (pydantic-ai);
    3. ``tool_choice`` requires some tool (``"required"``, Anthropic ``{"type": "any"}``) and
       exactly one tool is declared.

    Gemini's ``toolConfig`` (mode ``ANY``, ``allowedFunctionNames``) counts as ``tool_choice``.

    An app's only tool on its own is *not* a carrier: a support bot with one lookup tool and
    a JSON answer calls the tool to fetch data, and its answer is still the message content."""
    body = request.json_body
    if not isinstance(body, dict):
        return None
    tools = body.get("tools")
    names = [n for n in map(_tool_name, _declarations(tools)) if n]
    choice = body.get("tool_choice", _gemini_choice(body))
    if isinstance(choice, dict) and choice.get("type") in ("function", "tool"):
        forced = _tool_name(choice)
        if forced:
            return forced
    for name in names:
        if name == OUTPUT_TOOL_PREFIX or name.startswith(OUTPUT_TOOL_PREFIX + "_"):
            return name
    required = choice == "required" or (isinstance(choice, dict) and choice.get("type") == "any")
    return names[0] if required and len(names) == 1 else None


def request_model(request: Request) -> str | None:
    """The ``model`` a provider request asks for: in the body, or (Gemini, where the body has
    none) the path segment before the ``:generateContent`` verb."""
    body = request.json_body
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return body["model"]
    path = request.path.rstrip("/")
    if path.endswith(_GEMINI_VERBS) and "/models/" in path:
        return path.rsplit("/models/", 1)[1].split(":", 1)[0] or None
    return None


def request_tool(request: Request, fmt: WireFormat | None = None) -> str | None:
    """The tool a request calls: an MCP ``tools/call`` name, else the last path segment of a
    plain HTTP tool request. None for provider requests and for JSON-RPC requests that call
    no tool. ``fmt``: the request's format when the caller has detected it already."""
    body = request.json_body
    if _is_jsonrpc(body):
        # An MCP session's own requests (initialize, tools/list, notifications) run no tool.
        params = body.get("params") if isinstance(body, dict) else None
        if isinstance(params, dict) and body.get("method") == "tools/call":
            name = params.get("name")
            return name if isinstance(name, str) else None
        return None
    if (fmt or detect_format(request)) in PROVIDER_OF:
        return None
    last = request.path.rstrip("/").rpartition("/")[2]
    return last or None


# Request headers by which a client marks a repeated request as the same operation
# (Stripe's and the IETF draft's ``Idempotency-Key``, and its common ``X-`` spelling).
IDEMPOTENCY_HEADERS = ("idempotency-key", "x-idempotency-key")


def idempotency_key(request: Request) -> str | None:
    """The idempotency key ``request`` carries, or None: a server that honours it runs a
    repeated request once, so a retried payment with the same key is safe."""
    index = request.header_index
    for name in IDEMPOTENCY_HEADERS:
        value = index.get(name)
        if value and value.strip():
            return value.strip()
    return None
