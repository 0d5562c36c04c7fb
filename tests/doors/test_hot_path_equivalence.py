"""The proxy's hot-path shortcuts give what the plain way gives (benchmarks/proxy_hotpath.py).

- ``Request.from_door`` (no pydantic validation, the door's own header index) makes the same
  request as validating it, with the same header lookups;
- the cassette match key memoizes a URL's parts and a small body's digest: a memoized key is
  the key computed afresh, and adding a scrub pattern clears what it remembered (keys compare
  scrubbed values, so a remembered key from before the pattern would miss a recording);
- a ledger entry opened with its first fields by position is the entry the keywords make.
"""

from __future__ import annotations

import json

from faultkit.cassettes.keys import KeyFunction, _parsed, _small_body_digest, canonical_body
from faultkit.exchange import Request
from faultkit.ledger import Ledger, LedgerEntry
from faultkit.scrub import add_patterns

HEADERS = (
    ("User-Agent", "sdk/1.0"),
    ("accept", "application/json"),
    ("X-Stainless-Retry-Count", "2"),
    ("x-stainless-retry-count", "5"),  # a repeat: the first value wins
    ("Idempotency-Key", " key-1 "),
    ("host", "api.example.test"),
)


def _index(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    index: dict[str, str] = {}
    for name, value in headers:
        index.setdefault(name.lower(), value)
    return index


def test_a_request_from_the_door_is_the_validated_request() -> None:
    body = json.dumps({"model": "gpt-4o-mini", "messages": []}).encode()
    url = "https://api.example.test/v1/chat/completions?x=1"
    fast = Request.from_door("POST", url, HEADERS, body, _index(HEADERS))
    plain = Request(method="POST", url=url, headers=HEADERS, body=body)
    assert fast == plain
    assert fast.model_dump() == plain.model_dump()
    assert fast.model_dump_json() == plain.model_dump_json()
    assert fast.model_fields_set == plain.model_fields_set
    assert hash(fast) == hash(plain)
    for name in ("user-agent", "X-STAINLESS-RETRY-COUNT", "idempotency-key", "missing"):
        assert fast.header(name) == plain.header(name)
    assert fast.header_index == plain.header_index
    assert fast.path == plain.path == "/v1/chat/completions"
    assert fast.json_body == plain.json_body
    # Frozen like a validated one; a copy with an update is a request of its own.
    copied = fast.model_copy(update={"method": "PUT"})
    assert copied.method == "PUT" and fast.method == "POST"
    assert copied.model_fields_set >= {"method"}


def test_a_memoized_match_key_is_the_key_computed_afresh() -> None:
    key = KeyFunction(("method", "uri", "body"))
    body = b'{"b": 1, "a": [1, 2]}'
    url = "https://api.example.test/v1/items?b=2&a=1"
    request = Request(method="POST", url=url, body=body)
    first = key(request)
    again = key(Request(method="POST", url=url, body=b'{"a": [1, 2], "b": 1}'))
    assert first == again  # the same canonical body, the same URL: the same recording
    _parsed.cache_clear()
    _small_body_digest.cache_clear()
    assert key(request) == first
    # A URL too long to memoize is compared the same way (sorted query, default port).
    query = "&".join(f"q{i}=v" for i in range(400))
    long_url = f"https://api.example.test:443/v1/items?{query}"
    assert len(long_url) > 2048
    shuffled = "https://API.example.test/v1/items?" + "&".join(reversed(query.split("&")))
    assert key(Request(method="GET", url=long_url)) == key(Request(method="GET", url=shuffled))
    assert _parsed.cache_info().currsize == 1  # only the short URL was remembered
    # A body too big to memoize gives the same digest as if it had been.
    big = json.dumps({"text": "x" * 40000}).encode()
    assert key(Request(method="POST", url=url, body=big)) == key(
        Request(method="POST", url=url, body=json.dumps({"text": "x" * 40000}, indent=1).encode())
    )


def test_a_new_scrub_pattern_is_seen_by_a_remembered_key() -> None:
    key = KeyFunction(("method", "path", "body"))
    secret, stored = "zz-k3-tenant-424242", "zz-k3-tenant-000000"
    live = Request(
        method="POST", url=f"https://x.test/t/{secret}", body=b'{"t": "%s"}' % secret.encode()
    )
    recorded = Request(
        method="POST", url=f"https://x.test/t/{stored}", body=b'{"t": "%s"}' % stored.encode()
    )
    assert key(live) != key(recorded)  # remembered now, before the pattern exists
    assert secret.encode() in canonical_body(live.body)
    add_patterns([r"zz-k3-tenant-[0-9]+"])
    # Both redacted the same way now: the live request matches the scrubbed recording.
    assert key(live) == key(recorded)


def test_an_entry_opened_by_the_ledger_is_the_entry_its_keywords_make() -> None:
    ledger = Ledger()
    entry = ledger.open(
        route="openai",
        method="POST",
        url="https://api.example.test/v1/chat/completions",
        fmt="openai_chat",
        model="gpt-4o-mini",
        tool=None,
        body=b"{}",
        retry_count=None,
        arrival_ms=1.5,
        idempotency_key="key-1",
    )
    expected = LedgerEntry(
        id=1,
        route="openai",
        method="POST",
        url="https://api.example.test/v1/chat/completions",
        format="openai_chat",
        model="gpt-4o-mini",
        tool=None,
        body_hash=entry.body_hash,
        idempotency_key="key-1",
        logical_call=1,
        attempt=1,
        arrival_ms=1.5,
    )
    assert entry == expected
    assert LedgerEntry.model_validate(entry.model_dump(mode="json")) == entry
    assert entry.faults == [] and entry.skipped == [] and entry.tool_calls == []
    assert entry.faults is not expected.faults  # each entry its own lists


def test_a_copy_with_new_fields_forgets_what_was_computed_from_the_old_ones() -> None:
    """The cached values (header index, path, JSON body) live in the instance's dict, which
    pydantic copies: a copy with an update must compute them again from its own fields."""
    request = Request(
        method="POST", url="http://h/v1/a", headers=(("X-Key", "1"),), body=b'{"a": 1}'
    )
    assert (request.header("x-key"), request.path, request.json_body) == ("1", "/v1/a", {"a": 1})
    copy = request.model_copy(
        update={"headers": (("X-Key", "2"),), "url": "http://h/v1/b", "body": b"[]"}
    )
    assert (copy.header("x-key"), copy.path, copy.json_body) == ("2", "/v1/b", [])
    assert request.header("x-key") == "1"
    same = request.model_copy()
    assert same.header_index is request.header_index  # nothing changed: nothing recomputed
