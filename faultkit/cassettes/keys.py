"""Match keys: what makes a live request "the same" as a recorded one.

A key is a tuple of canonical components, one per ``match_on`` name, so the store can index
recordings in a dict and find a request's recordings in O(1) instead of vcrpy's linear scan
over every interaction with every matcher (O(N²) for a replay of N requests).

Components:

- ``method``: upper-case method;
- ``uri`` (alias ``url``): lower-case scheme and host, port with defaults dropped, path, and the
  query as sorted (name, value) pairs, as vcrpy's default matchers compare them;
- ``path``: path and sorted query only, ignoring scheme/host/port, for a system under test that
  is pointed at a different base URL (a proxy, ``OPENAI_BASE_URL``);
- ``scheme``, ``host``, ``port``, ``query``: the single parts, as vcrpy names them;
- ``body``: JSON bodies as canonical JSON (sorted keys, compact) without the fields named in
  ``ignore_body_fields`` (at any depth); other bodies by their raw bytes; a compressed body
  (``content-encoding``) decoded first, as recordings store it;
- ``raw_body``: the body bytes as sent;
- ``headers``: every request header, names lower-cased, sorted by name (repeated headers keep
  their order), as vcrpy's ``headers`` matcher compares them.

Secret values (``?api_key=``, ``"password": ...``, an ``authorization`` header, an ``sk-...``
key in a path or a body) are compared as ``REDACTED`` on both sides, through the same
functions of :mod:`faultkit.scrub` that scrub cassettes on write: a recording must still match
the live request that carries the real value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from faultkit.errors import CassetteError
from faultkit.exchange import Request
from faultkit.formats.codecs import UndecodableBody, decode_body, split_codings
from faultkit.scrub import scrub_header_value, scrub_json, scrub_param, scrub_path
from faultkit.scrub.text import when_patterns_change

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

MatchKey = tuple[Any, ...]
Component = Callable[[Request, Any], Any]


class _Parsed:
    """The URL of one request, split once and shared by every URL component."""

    __slots__ = ("host", "path", "port", "query", "scheme")

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:  # e.g. an unbalanced IPv6 bracket: compare the text as it is
            self.scheme, self.host, self.port, self.path, self.query = "", "", None, url, ()
            return
        self.scheme = parts.scheme.lower()
        self.host = (host or "").lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        self.port = None if port == DEFAULT_PORTS.get(self.scheme) else port
        self.path = scrub_path(parts.path) or "/"
        self.query = canonical_query(parts.query)


def _url_parts(url: str) -> _Parsed:
    """The parts of ``url``, memoized for URLs up to ``MEMO_URL_CHARS`` long (a URL may
    carry 64 KiB: remembering thousands of those would hold hundreds of MiB)."""
    return _parsed(url) if len(url) <= MEMO_URL_CHARS else _Parsed(url)


MEMO_URL_CHARS = 2048


@lru_cache(maxsize=4096)
def _parsed(url: str) -> _Parsed:
    """The parts of ``url``, split once per URL (read-only): a replay under load asks for
    the same few URLs over and over, and splitting, scrubbing and sorting one was a tenth of
    a replayed request's CPU (``benchmarks/proxy_hotpath.py``). Cleared when the scrub
    patterns change (the path and query are compared scrubbed)."""
    return _Parsed(url)


when_patterns_change(_parsed.cache_clear)


def canonical_query(query: str) -> tuple[tuple[str, str], ...]:
    if not query:
        return ()
    pairs = parse_qsl(query, keep_blank_values=True)
    return tuple(sorted((k, scrub_param(k, v)) for k, v in pairs))


def _drop_fields(value: Any, ignored: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop_fields(v, ignored) for k, v in value.items() if k not in ignored}
    if isinstance(value, list):
        return [_drop_fields(v, ignored) for v in value]
    return value


def canonical_body(body: bytes, ignored: frozenset[str] = frozenset()) -> bytes:
    """Canonical bytes of a body for comparison (not a digest; see ``body_digest``)."""
    if not body:
        return b""
    if body.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return body
        if ignored:
            data = _drop_fields(data, ignored)
        data, _ = scrub_json(data)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return body


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers compared case-insensitively by name, order-free across names, secrets redacted
    (a scrubbed recording must match the live request that carries the real key)."""
    pairs = [(k.lower(), scrub_header_value(k, v)) for k, v in headers]
    return tuple(sorted(pairs, key=lambda pair: pair[0]))


def plain_body(request: Request) -> bytes:
    """The request body with its ``content-encoding`` undone: a recording stores it decoded
    (to scrub it), so a live request sent compressed must be compared decoded too."""
    coding = request.header("content-encoding") if request.body else None
    if not coding:
        return request.body
    try:
        body, remaining = decode_body(request.body, split_codings(coding))
    except UndecodableBody:
        return request.body
    return request.body if remaining else body


def body_digest(body: bytes, ignored: frozenset[str] = frozenset()) -> bytes:
    if len(body) <= MEMO_BODY_BYTES:
        return _small_body_digest(body, ignored)
    return hashlib.blake2b(canonical_body(body, ignored), digest_size=16).digest()


# Bodies up to this size have their digest memoized: a load test sends the same few requests
# again and again, and parsing and re-serializing one costs far more than hashing its bytes
# to find it (bytes hash once; a bigger body is rarely sent twice the same). What this keeps
# alive is bounded: MEMO_BODIES bodies of at most MEMO_BODY_BYTES (4 MiB).
MEMO_BODY_BYTES = 16 * 1024
MEMO_BODIES = 256


@lru_cache(maxsize=MEMO_BODIES)
def _small_body_digest(body: bytes, ignored: frozenset[str]) -> bytes:
    return hashlib.blake2b(canonical_body(body, ignored), digest_size=16).digest()


when_patterns_change(_small_body_digest.cache_clear)  # bodies are compared scrubbed


def _components(ignored: frozenset[str]) -> dict[str, Component]:
    return {
        "method": lambda r, p: r.method.upper(),
        "uri": lambda r, p: (p.scheme, p.host, p.port, p.path, p.query),
        "url": lambda r, p: (p.scheme, p.host, p.port, p.path, p.query),
        "path": lambda r, p: p.path,  # as vcrpy's: the query is the ``query`` matcher's
        "scheme": lambda r, p: p.scheme,
        "host": lambda r, p: p.host,
        "port": lambda r, p: p.port,
        "query": lambda r, p: p.query,
        "body": lambda r, p: body_digest(plain_body(r), ignored),
        "raw_body": lambda r, p: hashlib.blake2b(r.body, digest_size=16).digest(),
        "headers": lambda r, p: canonical_headers(r.headers),
    }


MATCHERS = tuple(_components(frozenset()))


class KeyFunction:
    """Builds the match key of a request for a fixed ``match_on`` and ignored body fields."""

    def __init__(self, match_on: Iterable[str], ignore_body_fields: Iterable[str] = ()) -> None:
        self.match_on = tuple(match_on)
        if not self.match_on:
            raise CassetteError("match_on is empty: name at least one of " + ", ".join(MATCHERS))
        unknown = [m for m in self.match_on if m not in MATCHERS]
        if unknown:
            raise CassetteError(f"unknown match_on {unknown} (supported: {', '.join(MATCHERS)})")
        self.ignored = frozenset(ignore_body_fields)
        table = _components(self.ignored)
        self._fns = tuple(table[m] for m in self.match_on)
        self._needs_url = any(
            m not in ("method", "body", "raw_body", "headers") for m in self.match_on
        )

    def __call__(self, request: Request) -> MatchKey:
        parsed = _url_parts(request.url) if self._needs_url else None
        return tuple([fn(request, parsed) for fn in self._fns])

    def differing(self, a: MatchKey, b: MatchKey) -> list[str]:
        """Names of the ``match_on`` components in which two keys differ."""
        return [name for name, x, y in zip(self.match_on, a, b, strict=True) if x != y]
