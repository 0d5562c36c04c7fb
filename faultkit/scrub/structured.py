"""Secrets in structured values: JSON documents, URLs, headers, form fields.

Two rules meet here. By *name*: a string under a secret key (``api_key``, ``password``), every
string inside a list or object under a secret key or its plural (``api_keys: [...]``,
``credentials: {...}``), a secret header, a secret query parameter. By *shape*: every other
string goes through :func:`~faultkit.scrub.text.scrub_text`, so an error message that echoes a
key is caught too. A JSON string that is itself a JSON document (a tool call's ``arguments``)
is scrubbed as one and written back compactly.

The match keys (``faultkit.cassettes.keys``) compare requests through these same functions, so
a recording stored with ``REDACTED`` still matches the live request carrying the real value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from faultkit.exchange import Headers
from faultkit.scrub.names import secret_collection, secret_field, secret_header, secret_param
from faultkit.scrub.text import REDACTED, scrub_path, scrub_text, when_patterns_change

_NESTED_JSON_LIMIT = 1 << 20


def scrub_header_value(name: str, value: str) -> str:
    return REDACTED if secret_header(name) else scrub_text(value)


def scrub_headers(headers: Headers) -> Headers:
    """Secret headers redacted whole; every other value scrubbed by shape."""
    out = tuple((k, scrub_header_value(k, v)) for k, v in headers)
    return headers if out == headers else out


def _redact_all(value: Any) -> tuple[Any, bool]:
    """Every string in ``value`` (at any depth) replaced: what a secret key holds."""
    if isinstance(value, str):
        return (value, False) if value == REDACTED else (REDACTED, True)
    if isinstance(value, list):
        results = [_redact_all(item) for item in value]
        if any(changed for _, changed in results):
            return [new for new, _ in results], True
        return value, False
    if isinstance(value, dict):
        results_d = {k: _redact_all(v) for k, v in value.items()}
        if any(changed for _, changed in results_d.values()):
            return {k: new for k, (new, _) in results_d.items()}, True
        return value, False
    return value, False


def _scrub_string(value: str) -> tuple[str, bool]:
    stripped = value.lstrip()[:1]
    if stripped in ("{", "[") and len(value) <= _NESTED_JSON_LIMIT:
        try:
            inner = json.loads(value)
        except ValueError:
            inner = None
        if isinstance(inner, dict | list):
            new, changed = scrub_json(inner)
            if changed:
                return json.dumps(new, separators=(",", ":"), ensure_ascii=False), True
            return value, False
    out = scrub_text(value)
    return out, out is not value


def scrub_json(value: Any) -> tuple[Any, bool]:
    """``value`` with every secret replaced (by name and by shape); and whether anything
    changed (the same object when nothing did)."""
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        # A logprobs entry ({"token": "Hel", "logprob": -0.1}) names a text token, not a secret.
        logprob_entry = "logprob" in value or "token_logprobs" in value
        for key, item in value.items():
            if isinstance(key, str) and not (logprob_entry and key in ("token", "tokens")):
                if isinstance(item, str) and secret_field(key):
                    if item != REDACTED:
                        out[key] = REDACTED
                        changed = True
                        continue
                elif isinstance(item, list | dict) and secret_collection(key):
                    new, sub_changed = _redact_all(item)
                    out[key] = new
                    changed = changed or sub_changed
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
    if isinstance(value, str):
        return _scrub_string(value)
    return value, False


_PATH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def scrub_at(path: str, value: Any) -> Any:
    """``value`` found at ``path`` (a fault's alteration: ``orders[0].api_key``) scrubbed as
    it was in its document: whole under a secret last name, else by name and shape within."""
    names = _PATH_NAME.findall(path)
    last = names[-1] if names else ""
    if last and (secret_field(last) or secret_collection(last)):
        if isinstance(value, str):
            return value if value == REDACTED else REDACTED
        return _redact_all(value)[0]
    return scrub_json(value)[0]


def scrub_param(name: str, value: str) -> str:
    """A query or form value: redacted under a secret name, else scrubbed by shape."""
    if not value or value == REDACTED:
        return value
    return REDACTED if secret_param(name) else scrub_text(value)


def scrub_pairs(query: str, is_secret: Callable[[str], bool] = secret_param) -> str:
    """``name=value&...`` with secret values redacted, everything else byte for byte."""
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        raw_name, eq, value = part.partition("=")
        name = unquote_plus(raw_name)
        if is_secret(name) and value and value != REDACTED:
            parts[i] = f"{raw_name}={REDACTED}"
            changed = True
        elif eq and value:
            decoded = unquote_plus(value)
            if scrub_text(decoded) is not decoded:
                parts[i] = f"{raw_name}={REDACTED}"
                changed = True
    return "&".join(parts) if changed else query


def scrub_url(url: str) -> str:
    """``url`` with secret query values, secret-shaped path segments and any userinfo
    password replaced; the same object when there was nothing to replace.

    Remembered for URLs up to 1 KiB (1024 of them): the ledger scrubs the URL of every request
    through the proxy, and a test or a load run repeats a few URLs many times."""
    if len(url) > 1024:
        return _scrub_url(url)
    out = _scrub_url_cached(url)
    return url if out == url else out


@lru_cache(maxsize=1024)
def _scrub_url_cached(url: str) -> str:
    return _scrub_url(url)


def _scrub_url(url: str) -> str:
    if "?" not in url and "@" not in url and "#" not in url:
        # The common case, on the proxy's per-request path: only the path can hold a secret.
        start = url.find("/", url.find("//") + 2) if "//" in url else 0
        if start < 0:
            return url
        path = url[start:]
        scrubbed = scrub_path(path)
        return url if scrubbed == path else url[:start] + scrubbed
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket: scrub it as text
        return scrub_text(url)
    query = scrub_pairs(parts.query) if parts.query else parts.query
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if colon else netloc
    path = scrub_path(parts.path)
    fragment = scrub_pairs(parts.fragment) if "=" in parts.fragment else parts.fragment
    if (
        query == parts.query
        and netloc == parts.netloc
        and path == parts.path
        and fragment == parts.fragment
    ):
        return url
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


when_patterns_change(_scrub_url_cached.cache_clear)
