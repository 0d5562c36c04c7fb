"""Secret scrubbing: what must never reach a cassette file.

vcrpy's ``filter_headers`` covers request headers only; cookies, ``set-cookie``, query keys and
JSON body fields leak unless every project writes its own hooks. faultkit scrubs on every write:

- headers: authorization, proxy-authorization, api keys, cookie, set-cookie, account ids
  (``openai-organization``, ``openai-project``, ``anthropic-organization-id``) and any header
  whose name looks like a secret (``x-auth-token``);
- URL query parameters and userinfo passwords;
- JSON fields at any depth (request and response bodies, SSE event data, form bodies) whose
  *key* looks like a secret and whose *value* is a string. Usage counters such as
  ``max_tokens`` or ``prompt_tokens`` do not look like secrets (and are integers anyway).

Matching uses the same rules (``secret_field`` / ``scrub_json``) so that a request recorded with
``api_key: REDACTED`` still matches the live request that carries the real key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from faultkit.exchange import Headers, Request, Response, ResponseHead
from faultkit.formats.sse import encode_events, parse_events

REDACTED = "REDACTED"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
    }
)

# Normalized (lower-case, alphanumerics only) names that are secrets wherever they appear.
_EXACT = frozenset(
    {
        "apikey",
        "password",
        "passwd",
        "pwd",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "authorization",
        "authorizationtoken",
        "sessiontoken",
        "bearertoken",
        "privatekey",
        "secretkey",
        "accesskey",
        "sessionid",
        "credentials",
        "cookie",
        "setcookie",
    }
)
_SUFFIXES = ("apikey", "secret", "password", "passwd", "token", "secretkey", "privatekey")
# Extra query-string names: Google-style ``?key=`` and signed-URL signatures.
_QUERY_EXTRA = frozenset({"key", "sig", "signature", "auth"})
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def _norm(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


@lru_cache(maxsize=4096)
def secret_field(name: str) -> bool:
    """True for a JSON key / parameter name that holds a credential (``api_key``, ``apiKey``…)."""
    norm = _norm(name)
    return norm in _EXACT or norm.endswith(_SUFFIXES)


def secret_param(name: str) -> bool:
    """True for a URL query parameter that holds a credential (``api_key``, ``key``, ``sig``)."""
    return secret_field(name) or name.lower() in _QUERY_EXTRA


def secret_header(name: str) -> bool:
    lname = name.lower()
    return lname in SECRET_HEADERS or secret_field(lname)


def scrub_headers(headers: Headers) -> Headers:
    if not any(secret_header(k) for k, _ in headers):
        return headers
    return tuple((k, REDACTED if secret_header(k) else v) for k, v in headers)


def scrub_json(value: Any) -> tuple[Any, bool]:
    """``value`` with every secret-looking string field replaced; and whether anything changed."""
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        # A logprobs entry ({"token": "Hel", "logprob": -0.1}) names a text token, not a secret.
        logprob_entry = "logprob" in value
        for key, item in value.items():
            if (
                isinstance(key, str)
                and secret_field(key)
                and not (logprob_entry and key == "token")
            ):
                if isinstance(item, str) and item != REDACTED:
                    out[key] = REDACTED
                    changed = True
                    continue
                if isinstance(item, list) and item and all(isinstance(x, str) for x in item):
                    out[key] = [REDACTED] * len(item)
                    changed = changed or any(x != REDACTED for x in item)
                    continue
            new, sub_changed = scrub_json(item)
            out[key] = new
            changed = changed or sub_changed
        return (out, True) if changed else (value, False)
    if isinstance(value, list):
        results = [scrub_json(item) for item in value]
        if any(changed for _, changed in results):
            return [new for new, _ in results], True
        return value, False
    return value, False


def _scrub_pairs(query: str, is_secret: Callable[[str], bool]) -> str:
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        raw_name, _, value = part.partition("=")
        name = unquote_plus(raw_name)
        if is_secret(name) and value and value != REDACTED:
            parts[i] = f"{raw_name}={REDACTED}"
            changed = True
    return "&".join(parts) if changed else query


def scrub_url(url: str) -> str:
    """``url`` with secret query values and any userinfo password replaced."""
    if "?" not in url and "@" not in url:
        return url
    parts = urlsplit(url)
    query = _scrub_pairs(parts.query, secret_param) if parts.query else parts.query
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if colon else netloc
    if query == parts.query and netloc == parts.netloc:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _content_type(headers: Headers) -> str:
    for k, v in headers:
        if k.lower() == "content-type":
            return v.split(";")[0].strip().lower()
    return ""


def scrub_body(body: bytes, headers: Headers) -> bytes:
    """Scrub a JSON, form or SSE body; bytes we cannot parse are returned unchanged."""
    if not body:
        return body
    ctype = _content_type(headers)
    if ctype == "text/event-stream":
        return _scrub_sse(body)
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
        return _scrub_pairs(text, secret_field).encode("utf-8")
    stripped = body.lstrip()[:1]
    if stripped not in (b"{", b"["):
        return body
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    new, changed = scrub_json(data)
    if not changed:
        return body
    return json.dumps(new, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _scrub_sse(body: bytes) -> bytes:
    events = parse_events(body)
    changed = False
    out = []
    for event in events:
        payload = event.json()
        if payload is not None:
            new, sub_changed = scrub_json(payload)
            if sub_changed:
                event = event.with_json(new)
                changed = True
        out.append(event)
    return encode_events(out) if changed else body


def scrub_request(request: Request) -> Request:
    url = scrub_url(request.url)
    headers = scrub_headers(request.headers)
    body = scrub_body(request.body, request.headers)
    if url is request.url and headers is request.headers and body is request.body:
        return request
    # A new model, not model_copy: copies would carry the original's cached ``json_body``.
    return Request(method=request.method, url=url, headers=headers, body=body)


def scrub_response(response: Response) -> Response:
    head = response.head
    headers = scrub_headers(head.headers)
    body = scrub_body(response.body, head.headers)
    if headers is head.headers and body is response.body:
        return response
    return Response(
        head=ResponseHead(status=head.status, reason=head.reason, headers=headers),
        body=body,
        first_byte_ms=response.first_byte_ms,
        event_offsets_ms=response.event_offsets_ms,
    )
