"""Provider-correct HTTP error responses: the body, status and headers a real upstream sends.

An injected 429 is only a useful test if the system under test sees what production shows it:
the SDK picks its exception class from the status, reads ``error.type`` / ``error.code`` from
the body, takes its retry delay from ``retry-after-ms`` / ``retry-after``, obeys
``x-should-retry``, and exposes the request id header on the error. A bare ``{"error": "429"}``
would test none of that. Shapes follow ``shared/reference/llm-wire-formats.md`` §1.4 (OpenAI)
and §3.4 (Anthropic); messages are the ones those APIs send, with the request's model filled in.

Everything here is pure: ids and numbers come from the caller's seeded RNG, and the absolute
Anthropic rate-limit reset times are only written when the caller passes the current time
(``now_s``), because this module never reads the clock.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from faultkit.exchange import Headers, ResponseHead
from faultkit.formats.detect import WireFormat

_REASONS = {529: "Overloaded"}
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

DEFAULT_MODELS = {
    "openai": "gpt-4o",
    "anthropic": "claude-sonnet-4-6",
    "google": "gemini-2.5-flash",
}


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _REASONS.get(status, "")


# -- small value formats --------------------------------------------------------------------
def go_duration(seconds: float) -> str:
    """``seconds`` the way Go's ``time.Duration`` prints it, as OpenAI's
    ``x-ratelimit-reset-*`` headers do: ``120ms``, ``1s``, ``9.998s``, ``6m0s``, ``1h2m3s``."""
    ms = round(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def rfc3339(epoch_s: float) -> str:
    """An absolute UTC time as Anthropic's ``anthropic-ratelimit-*-reset`` headers write it."""
    return datetime.fromtimestamp(round(epoch_s), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_header(seconds: float) -> str:
    """A seconds value for ``retry-after``: ``1`` rather than ``1.0``, ``0.5`` kept as is."""
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def request_id(provider: str | None, rng: random.Random) -> str:
    """A request id in the provider's own shape (OpenAI ``req_`` + 32 hex digits, Anthropic
    ``req_011C`` + 20 base58 characters), drawn from ``rng`` so runs replay identically."""
    if provider == "anthropic":
        return "req_011C" + "".join(rng.choice(_BASE58) for _ in range(20))
    return "req_" + "".join(rng.choice("0123456789abcdef") for _ in range(32))


def _org_id(rng: random.Random) -> str:
    return "org-" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# -- error kinds ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _OpenAIKind:
    type: str
    code: str | int | None
    message: str
    param: str | None = None


_RATE_LIMIT_TPM = (
    "Rate limit reached for {model} in organization {org} on tokens per min (TPM): "
    "Limit {limit}, Used {used}, Requested {requested}. Please try again in {hint}. "
    "Visit https://platform.openai.com/account/rate-limits to learn more."
)

# Named error kinds, as the API sends them; ``error_type`` may name any of these.
OPENAI_KINDS: dict[str, _OpenAIKind] = {
    "context_length_exceeded": _OpenAIKind(
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages resulted "
        "in 200022 tokens. Please reduce the length of the messages.",
        "messages",
    ),
    "invalid_api_key": _OpenAIKind(
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-proj-********************Xk3Q. You can find your API "
        "key at https://platform.openai.com/account/api-keys.",
    ),
    "unsupported_country_region_territory": _OpenAIKind(
        "request_forbidden",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    "model_not_found": _OpenAIKind(
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    "rate_limit_exceeded": _OpenAIKind("tokens", "rate_limit_exceeded", _RATE_LIMIT_TPM),
    "insufficient_quota": _OpenAIKind(
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
    ),
    "server_error": _OpenAIKind(
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "cf_bad_gateway": _OpenAIKind("cf_bad_gateway", 502, "Bad gateway."),
    "server_is_overloaded": _OpenAIKind(
        "service_unavailable_error",
        "server_is_overloaded",
        "Our servers are currently overloaded. Please try again later.",
    ),
    "slow_down": _OpenAIKind(
        "service_unavailable_error",
        "slow_down",
        "Please reduce your rate of requests and try again later.",
    ),
}

_OPENAI_BY_STATUS = {
    400: "context_length_exceeded",
    401: "invalid_api_key",
    403: "unsupported_country_region_territory",
    404: "model_not_found",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "cf_bad_gateway",
    503: "server_is_overloaded",
}


@dataclass(frozen=True)
class _AnthropicKind:
    type: str
    message: str
    error_code: str | None = None  # error.details.error_code


ANTHROPIC_KINDS: dict[str, _AnthropicKind] = {
    "invalid_request_error": _AnthropicKind(
        "invalid_request_error", "prompt is too long: 211285 tokens > 200000 maximum"
    ),
    "authentication_error": _AnthropicKind("authentication_error", "invalid x-api-key"),
    "billing_error": _AnthropicKind(
        "billing_error",
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
        "Billing to upgrade or purchase credits.",
    ),
    "permission_error": _AnthropicKind(
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    "not_found_error": _AnthropicKind("not_found_error", "model: {model}"),
    "timeout_error": _AnthropicKind("timeout_error", "Request timed out"),
    "conflict_error": _AnthropicKind("conflict_error", "Conflict"),
    "request_too_large": _AnthropicKind(
        "request_too_large", "Request exceeds the maximum allowed number of bytes."
    ),
    "rate_limit_error": _AnthropicKind(
        "rate_limit_error",
        "This request would exceed the rate limit for your organization ({org}) of 50,000 "
        "input tokens per minute. For details, refer to: "
        "https://docs.claude.com/en/api/rate-limits. You can see the response headers for "
        "current usage. Please reduce the prompt length or the maximum tokens requested, or "
        "try again later. You may also contact sales at "
        "https://www.anthropic.com/contact-sales to discuss your options for a rate limit "
        "increase.",
    ),
    "enforced_spend_limit_reached": _AnthropicKind(
        "rate_limit_error",
        "You have reached your specified API usage limits. You will regain access on the "
        "first day of next month.",
        "enforced_spend_limit_reached",
    ),
    "api_error": _AnthropicKind("api_error", "Internal server error"),
    "overloaded_error": _AnthropicKind("overloaded_error", "Overloaded"),
}

_ANTHROPIC_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


# -- public builder -------------------------------------------------------------------------
def error_response(
    fmt: WireFormat,
    status: int,
    *,
    model: str | None,
    rng: random.Random,
    error_type: str | None = None,
    message: str | None = None,
    retry_after_s: float | None = None,
    retry_after_ms: int | None = None,
    should_retry: bool | None = None,
    now_s: float | None = None,
) -> tuple[ResponseHead, bytes]:
    """The head and body an upstream speaking ``fmt`` sends for an HTTP ``status`` error.

    ``error_type`` names a known kind (``insufficient_quota``, ``server_is_overloaded``,
    ``overloaded_error``, ``enforced_spend_limit_reached``, ...) or is written verbatim as the
    error's type. ``message`` replaces the realistic default. ``retry_after_s`` /
    ``retry_after_ms`` become ``retry-after`` / ``retry-after-ms`` and the "try again in" hint;
    ``should_retry`` becomes ``x-should-retry`` (Anthropic sends ``true`` on 529 by itself).
    ``now_s`` (Unix seconds) lets Anthropic 429s carry their absolute reset times.
    """
    hint_s = _retry_hint(retry_after_s, retry_after_ms, rng)
    if fmt in (WireFormat.openai_chat, WireFormat.openai_responses):
        headers, payload = _openai(status, model, rng, error_type, message, hint_s)
        body = json.dumps(payload, indent=2).encode()
    elif fmt == WireFormat.anthropic_messages:
        headers, payload = _anthropic(status, model, rng, error_type, message, hint_s, now_s)
        if status == 529 and should_retry is None:
            should_retry = True
        body = json.dumps(payload, separators=(",", ":")).encode()
    elif fmt == WireFormat.gemini:
        headers, payload = _google(status, model, error_type, message, hint_s)
        body = json.dumps(payload, indent=2).encode()
    else:
        headers, payload = _generic(status, rng, error_type, message)
        body = json.dumps(payload, separators=(",", ":")).encode()
    if retry_after_ms is not None:
        headers.append(("retry-after-ms", str(retry_after_ms)))
    if retry_after_s is not None:
        headers.append(("retry-after", seconds_header(retry_after_s)))
    if should_retry is not None:
        headers.append(("x-should-retry", "true" if should_retry else "false"))
    head = ResponseHead(status=status, reason=reason_phrase(status), headers=tuple(headers))
    return head, body


def _retry_hint(
    retry_after_s: float | None, retry_after_ms: int | None, rng: random.Random
) -> float:
    """How long the error says to wait: the explicit value, else a plausible drawn one."""
    if retry_after_ms is not None:
        return retry_after_ms / 1000
    if retry_after_s is not None:
        return retry_after_s
    return round(rng.uniform(0.2, 10.0), 3)


def _openai(
    status: int,
    model: str | None,
    rng: random.Random,
    error_type: str | None,
    message: str | None,
    hint_s: float,
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    model = model or DEFAULT_MODELS["openai"]
    if error_type in OPENAI_KINDS:
        kind = OPENAI_KINDS[error_type]
    elif status in _OPENAI_BY_STATUS:
        kind = OPENAI_KINDS[_OPENAI_BY_STATUS[status]]
    elif status >= 500:  # 504, 529, ...: any 5xx is a server error to the SDK
        kind = _OpenAIKind("server_error", None, f"{reason_phrase(status) or 'Server error'}.")
    else:
        kind = _OpenAIKind("invalid_request_error", None, f"{reason_phrase(status)}.")
    if error_type is not None and error_type not in OPENAI_KINDS:
        # A type we know nothing about: keep it verbatim, with a message that claims no more.
        kind = _OpenAIKind(error_type, None, f"{reason_phrase(status) or 'Error'}.")
    limit = 30000
    requested = rng.randint(1000, 9000)
    used = limit - requested + rng.randint(1, 2000)
    text = message or kind.message.format(
        model=model,
        org=_org_id(rng),
        limit=limit,
        used=used,
        requested=requested,
        hint=go_duration(hint_s),
    )
    headers: list[tuple[str, str]] = [
        ("content-type", "application/json; charset=utf-8"),
        ("x-request-id", request_id("openai", rng)),
        ("openai-version", "2020-10-01"),
        ("openai-processing-ms", str(rng.randint(8, 400))),
    ]
    if status == 429:
        headers += [
            ("x-ratelimit-limit-requests", "5000"),
            ("x-ratelimit-limit-tokens", str(limit)),
            ("x-ratelimit-remaining-requests", str(rng.randint(0, 4999))),
            ("x-ratelimit-remaining-tokens", str(max(0, limit - used))),
            ("x-ratelimit-reset-requests", go_duration(rng.uniform(0.012, 1.0))),
            ("x-ratelimit-reset-tokens", go_duration(hint_s)),
        ]
    payload = {
        "error": {"message": text, "type": kind.type, "param": kind.param, "code": kind.code}
    }
    return headers, payload


def _anthropic(
    status: int,
    model: str | None,
    rng: random.Random,
    error_type: str | None,
    message: str | None,
    hint_s: float,
    now_s: float | None,
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    model = model or DEFAULT_MODELS["anthropic"]
    if error_type in ANTHROPIC_KINDS:
        kind = ANTHROPIC_KINDS[error_type]
    elif status in _ANTHROPIC_BY_STATUS:
        kind = ANTHROPIC_KINDS[_ANTHROPIC_BY_STATUS[status]]
    elif status >= 500:
        kind = _AnthropicKind("api_error", reason_phrase(status) or "Internal server error")
    else:
        kind = _AnthropicKind("invalid_request_error", reason_phrase(status))
    if error_type is not None and error_type not in ANTHROPIC_KINDS:
        kind = _AnthropicKind(error_type, reason_phrase(status) or "Error")
    org = _uuid(rng)
    rid = request_id("anthropic", rng)
    error: dict[str, Any] = {
        "type": kind.type,
        "message": message or kind.message.format(model=model, org=org),
    }
    if kind.error_code is not None:
        error["details"] = {"error_code": kind.error_code}
    headers: list[tuple[str, str]] = [
        ("content-type", "application/json"),
        ("request-id", rid),
        ("anthropic-organization-id", org),
    ]
    if status == 429:
        headers += _anthropic_rate_limit_headers(rng, hint_s, now_s)
    return headers, {"type": "error", "error": error, "request_id": rid}


def _anthropic_rate_limit_headers(
    rng: random.Random, hint_s: float, now_s: float | None
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    limits = {"requests": 50, "tokens": 90000, "input-tokens": 50000, "output-tokens": 10000}
    for name, limit in limits.items():
        exhausted = name in ("tokens", "input-tokens")
        remaining = 0 if exhausted else rng.randint(1, limit)
        out.append((f"anthropic-ratelimit-{name}-limit", str(limit)))
        out.append((f"anthropic-ratelimit-{name}-remaining", str(remaining)))
        if now_s is not None:
            reset = now_s + (hint_s if exhausted else rng.uniform(0.5, 2.0))
            out.append((f"anthropic-ratelimit-{name}-reset", rfc3339(reset)))
    return out


# Google's canonical error codes (google.rpc.Code) by HTTP status, as the Gemini API writes
# them in ``error.status``; google-genai raises ClientError (4xx) or ServerError (5xx) with them.
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_GOOGLE_MESSAGES = {
    "RESOURCE_EXHAUSTED": "You exceeded your current quota, please check your plan and billing "
    "details. For more information on this error, head to: "
    "https://ai.google.dev/gemini-api/docs/rate-limits.",
    "UNAVAILABLE": "The model is overloaded. Please try again later.",
    "INTERNAL": "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    "DEADLINE_EXCEEDED": "The request timed out. Please try again.",
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "UNAUTHENTICATED": "API key not valid. Please pass a valid API key.",
    "PERMISSION_DENIED": "The caller does not have permission",
    "NOT_FOUND": "models/{model} is not found for API version v1beta, or is not supported "
    "for generateContent.",
}


def _google(
    status: int,
    model: str | None,
    error_type: str | None,
    message: str | None,
    hint_s: float,
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The Gemini API's error: ``{"error": {"code", "message", "status", "details"}}``. A 429
    names its wait in a ``google.rpc.RetryInfo`` detail (``retryDelay: "7s"``), not in a
    header; google-genai does not read it (its retries are off unless configured, and then
    exponential), so an app that honours it reads the body itself."""
    code = error_type or _GOOGLE_STATUS.get(status) or ("INTERNAL" if status >= 500 else "UNKNOWN")
    default = _GOOGLE_MESSAGES.get(code, f"{reason_phrase(status) or 'Error'}.")
    error: dict[str, Any] = {
        "code": status,
        "message": message or default.format(model=model or DEFAULT_MODELS["google"]),
        "status": code,
    }
    if status == 429:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{max(1, round(hint_s))}s",
            }
        ]
    headers = [("content-type", "application/json; charset=UTF-8"), ("vary", "Origin")]
    return headers, {"error": error}


def _generic(
    status: int, rng: random.Random, error_type: str | None, message: str | None
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """Tools (plain JSON, MCP over HTTP, anything else): a conventional ``{"error": {...}}``.

    An MCP tool failure proper is a JSON-RPC ``error`` inside a 200 (or an ``isError`` result);
    this is the transport-level failure in front of it: a gateway or server answering a status.
    """
    phrase = reason_phrase(status)
    slug = error_type or (phrase.lower().replace(" ", "_").replace("-", "_") or "error")
    headers: Headers = (
        ("content-type", "application/json"),
        ("x-request-id", request_id(None, rng)),
    )
    payload = {"error": {"code": status, "type": slug, "message": message or phrase or "Error"}}
    return list(headers), payload


# -- reading an error answer back ---------------------------------------------------------------
def should_retry_header(value: str | None) -> bool | None:
    """``x-should-retry`` as the SDKs read it: ``true`` / ``false``, anything else unsaid."""
    if value is None:
        return None
    return {"true": True, "false": False}.get(value.strip().lower())


def error_code(body: bytes) -> str | None:
    """The provider's error code in an error body: OpenAI's ``error.code`` (else
    ``error.type``), Anthropic's ``error.type``, Gemini's ``error.status``
    (``RESOURCE_EXHAUSTED``: its ``code`` is the HTTP status number); None for a body that is
    not such JSON. What the SDK exposes as ``exc.code`` / ``exc.status`` and what an app
    decides on (``insufficient_quota``)."""
    if not body or len(body) > 65536 or body.lstrip()[:1] != b"{":
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    for key in ("code", "type", "status"):
        value = error.get(key)
        if isinstance(value, str) and value:
            return value
    return None
