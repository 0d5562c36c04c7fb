"""Which wire format an exchange speaks, and the request facts rules match on.

Detection looks at the request path first (the API endpoint decides the format, whatever the
host: a self-hosted OpenAI-compatible server speaks ``openai_chat`` too), then at the body.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Any

from faultkit.exchange import Request


class WireFormat(StrEnum):
    openai_chat = "openai_chat"
    openai_responses = "openai_responses"
    anthropic_messages = "anthropic_messages"
    mcp = "mcp"
    json = "json"
    other = "other"


PROVIDER_OF = {
    WireFormat.openai_chat: "openai",
    WireFormat.openai_responses: "openai",
    WireFormat.anthropic_messages: "anthropic",
}


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
    return None


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


def request_model(request: Request) -> str | None:
    """The ``model`` a provider request asks for."""
    body = request.json_body
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return body["model"]
    return None


def request_tool(request: Request, fmt: WireFormat | None = None) -> str | None:
    """The tool a request calls: an MCP ``tools/call`` name, else the last path segment of a
    plain HTTP tool request. None for provider requests. ``fmt``: the request's format when
    the caller has detected it already."""
    body = request.json_body
    if isinstance(body, dict) and body.get("method") == "tools/call":
        params = body.get("params")
        if isinstance(params, dict) and isinstance(params.get("name"), str):
            return params["name"]
        return None
    if (fmt or detect_format(request)) in PROVIDER_OF:
        return None
    segments = [s for s in request.path.split("/") if s]
    return segments[-1] if segments else None
