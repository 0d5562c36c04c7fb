"""What counts as a secret, and what must survive scrubbing: one example per rule."""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from pathlib import Path

import pytest
from proxy_process import run_proxy

from faultkit.cassettes import CassetteStore, load_cassette, serialize_cassette, write_cassette
from faultkit.config import ConfigError, load_scrub_patterns
from faultkit.errors import UnmatchedRequest
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.ledger import Ledger
from faultkit.load.report import write_reports as write_load_reports
from faultkit.load.results import PhaseResult
from faultkit.load.runner import LoadReport, Overhead
from faultkit.scrub import (
    REDACTED,
    ScrubPatternError,
    add_patterns,
    scrub_json,
    scrub_text,
    scrub_url,
)
from faultkit.scrub.bodies import DROPPED_HEADER, scrub_response
from faultkit.scrub.logs import FAULTKIT_LOGGERS, ScrubFilter, scrubbed_logger

try:
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

OPENAI = "sk-proj-Xy7Qw9Lm2Nb4Vc6Zx8Kj1Hg3"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Incorrect API key provided: {OPENAI}. You can find your key at ...", OPENAI),
        ("x-api-key sk-ant-api03-Ab12Cd34Ef56Gh78Ij90Kl", "sk-ant-api03-Ab12Cd34Ef56Gh78Ij90Kl"),
        ("use Bearer aB3dE5gH7jK9mN1pQ3sT5", "aB3dE5gH7jK9mN1pQ3sT5"),
        ("header was 'Basic dXNlcjpwYXNzd29yZDEyMw=='", "dXNlcjpwYXNzd29yZDEyMw=="),
        ("aws key AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz here", "eyJzdWIiOiIxIn0"),
        ("session token is 9fQ2xL7mR4tZ8wB1nK6v", "9fQ2xL7mR4tZ8wB1nK6v"),
        ("GET https://h/x?page=2&access_token=abc123 failed", "abc123"),
        ('upstream said {"password": "hunter2", "user": "bob"}', "hunter2"),
        ('echo {"api_keys": ["k-one", "k-two"]}', "k-one"),
        ("data: client_secret=s3cr3t&grant_type=refresh_token", "s3cr3t"),
        (
            "google AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
        ),
        ("gh ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
        ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
        ("stripe sk_live_A1b2C3d4E5f6G7h8I9j0", "sk_live_A1b2C3d4E5f6G7h8I9j0"),
    ],
)
def test_secret_shapes_in_free_text_are_redacted(text: str, secret: str) -> None:
    out = scrub_text(text)
    assert secret not in out
    assert REDACTED in out


@pytest.mark.parametrize(
    "text",
    [
        "gpt-4o-mini-2024-07-18",
        "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "max_tokens: 100",
        "the token count was 12, well under the limit",
        'Bearer realm="api", error="invalid_token"',
        "https://api.openai.com/v1/chat/completions?page=2",
        "Your order has shipped. Tracking number 1Z999AA10123456784.",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert scrub_text(text) == text


def test_plural_and_nested_keys_but_not_counters_or_text_tokens() -> None:
    body = {
        "api_keys": ["k1", "k2"],
        "refresh_tokens": ["r1"],
        "credentials": {"client_id": "c1", "nested": {"x": "c2"}},
        "client_secrets": [{"value": "s1"}],
        "usage": {"prompt_tokens": 3, "total_tokens": 5},
        "max_tokens": 100,
        "logprobs": {"tokens": ["Hel", "lo"], "token_logprobs": [-0.1, -0.2]},
    }
    out, changed = scrub_json(body)
    assert changed
    assert out["api_keys"] == [REDACTED, REDACTED]
    assert out["refresh_tokens"] == [REDACTED]
    assert out["credentials"] == {"client_id": REDACTED, "nested": {"x": REDACTED}}
    assert out["client_secrets"] == [{"value": REDACTED}]
    assert out["usage"] == body["usage"] and out["max_tokens"] == 100
    assert out["logprobs"]["tokens"] == ["Hel", "lo"]


def test_json_inside_a_json_string_is_scrubbed_as_json() -> None:
    call = {"name": "login", "arguments": json.dumps({"user": "bob", "password": "pw-123"})}
    out, _ = scrub_json(call)
    assert json.loads(out["arguments"]) == {"user": "bob", "password": REDACTED}


def _resp(body: bytes, *headers: tuple[str, str]) -> Response:
    return Response(head=ResponseHead(status=200, headers=headers), body=body)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_compressed_bodies_are_stored_decoded_and_scrubbed(tmp_path, coding: str) -> None:
    if coding == "br" and brotli is None:
        pytest.skip("brotli is not installed: br bodies are dropped (see the next test)")
    plain = json.dumps({"api_key": "k-live-1", "ok": True}).encode()
    encoders = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": getattr(brotli, "compress", None),
    }
    body = encoders[coding](plain)
    response = _resp(
        body,
        ("content-type", "application/json"),
        ("content-encoding", coding),
        ("content-length", str(len(body))),
    )
    stored = scrub_response(response)
    assert stored.head.header("content-encoding") is None
    assert json.loads(stored.body) == {"api_key": REDACTED, "ok": True}
    assert stored.head.header("content-length") == str(len(stored.body))
    request = Request(method="GET", url="http://127.0.0.1:9/x", headers=(), body=b"")
    path = tmp_path / "c.yaml"
    write_cassette(path, [(request, response)])
    assert b"k-live-1" not in path.read_bytes() and b"!!binary" not in path.read_bytes()
    assert json.loads(load_cassette(path).interactions[0].response.body)["ok"] is True


@pytest.mark.parametrize(
    ("coding", "body"),
    [("gzip", b"not gzip at all, api_key=k-live-2"), ("zstd", b"\x28\xb5\x2f\xfd k-live-2")],
)
def test_a_body_that_cannot_be_decoded_is_not_stored(coding: str, body: bytes) -> None:
    response = _resp(body, ("content-type", "application/json"), ("content-encoding", coding))
    stored = scrub_response(response)
    assert stored.body == b""
    assert stored.head.header("content-encoding") is None
    note = stored.head.header(DROPPED_HEADER)
    assert note is not None and "could not be checked for secrets" in note


def test_sse_keeps_its_events_and_timing_and_loses_its_secrets() -> None:
    body = (
        b'data: {"delta": "Hi", "api_key": "k-live-3"}\n\n'
        b"data: plain text with sk-ant-api03-Zz11Yy22Xx33Ww44Vv55\n\n"
        b": comment Bearer aB3dE5gH7jK9mN1pQ3sT5\n\n"
        b"data: [DONE]\n\n"
    )
    response = Response(
        head=ResponseHead(status=200, headers=(("content-type", "text/event-stream"),)),
        body=body,
        event_offsets_ms=[1.0, 2.0, 3.0, 4.0],
    )
    stored = scrub_response(response)
    for secret in (b"k-live-3", b"Zz11Yy22", b"aB3dE5gH7"):
        assert secret not in stored.body
    assert stored.body.count(b"\n\n") == 4 and stored.body.endswith(b"data: [DONE]\n\n")
    assert list(stored.event_offsets_ms or ()) == [1.0, 2.0, 3.0, 4.0]


def test_rate_limit_counters_and_ordinary_headers_survive() -> None:
    request = Request(method="GET", url="http://127.0.0.1:9/x", headers=(), body=b"")
    response = _resp(
        b"{}",
        ("content-type", "application/json"),
        ("x-ratelimit-remaining-tokens", "149984"),
        ("retry-after", "2"),
        ("set-cookie", "sid=abc; HttpOnly"),
    )
    data = serialize_cassette([(request, response)])
    assert b"149984" in data and b"retry-after" in data and b"sid=abc" not in data


def test_a_scrubbed_recording_matches_the_live_request_with_real_values(tmp_path) -> None:
    live = Request(
        method="POST",
        url=f"http://127.0.0.1:9/v1/keys/{OPENAI}/check?q=AKIAIOSFODNN7EXAMPLE&page=2",
        headers=(("content-type", "application/json"), ("authorization", f"Bearer {OPENAI}")),
        body=json.dumps({"messages": [{"content": f"my key is {OPENAI}"}]}).encode(),
    )
    path = tmp_path / "c.yaml"
    write_cassette(path, [(live, _resp(b"{}", ("content-type", "application/json")))])
    data = path.read_bytes()
    assert OPENAI.encode() not in data and b"AKIAIOSFODNN7EXAMPLE" not in data
    assert b"page=2" in data
    store = CassetteStore([path], match_on=("method", "uri", "body", "headers"))
    assert store.match(live).response.body == b"{}"


def test_user_patterns_redact_the_match_or_its_first_group() -> None:
    add_patterns([r"acmecorp-[0-9]{6}", r"customer (?:no\.|number) ([0-9]{5,})"])
    out = scrub_text("ref acmecorp-123456 for customer number 98765")
    assert out == f"ref {REDACTED} for customer number {REDACTED}"


@pytest.mark.parametrize(
    ("patterns", "message"),
    [(["(unclosed"], "missing ), unterminated subpattern"), (["x*"], "matches the empty string")],
)
def test_a_bad_user_pattern_is_one_located_error(patterns, message) -> None:
    with pytest.raises(ScrubPatternError, match=r"where\[0\]") as info:
        add_patterns(patterns, where="where")
    assert message in str(info.value)


def test_scrub_patterns_in_faultkit_toml(tmp_path) -> None:
    config = tmp_path / "faultkit.toml"
    config.write_text('[scrub]\npatterns = ["tenant-[a-z]{8}"]\n')
    assert load_scrub_patterns(config) == ("tenant-[a-z]{8}",)
    assert scrub_text("for tenant-abcdefgh only") == f"for {REDACTED} only"
    config.write_text('[scrub]\npatterns = ["ok", "[bad"]\n')
    with pytest.raises(ConfigError) as info:
        load_scrub_patterns(config)
    assert str(info.value).startswith(f"{config}: [scrub] patterns[1] '[bad':")
    config.write_text('[scrub]\npattern = ["x"]\n')
    with pytest.raises(ConfigError, match="pattern: unknown field"):
        load_scrub_patterns(config)


def test_the_ledger_shows_urls_and_errors_scrubbed() -> None:
    ledger = Ledger()
    entry = ledger.open(
        route="tools",
        method="GET",
        url="http://127.0.0.1:9/items?key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q&page=2",
        fmt="json",
        model=None,
        body=b"",
        retry_count=None,
        arrival_ms=0.0,
    )
    ledger.finish(entry.id, ending="error", end_ms=1.0, error=f"upstream said: bad key {OPENAI}")
    dumped = json.dumps(ledger.to_json())
    assert "AIzaSy" not in dumped and OPENAI not in dumped
    assert "page=2" in dumped


def test_unmatched_request_messages_do_not_quote_query_secrets() -> None:
    exc = UnmatchedRequest(
        "GET", "http://h/x?api_key=k-live-4", ["c.yaml#0: GET http://h/x?token=t-5"]
    )
    assert "k-live-4" not in str(exc) and "t-5" not in str(exc)


def test_every_faultkit_logger_is_scrubbed() -> None:
    import faultkit.doors.proxy

    named = set()
    for path in Path(faultkit.__file__).parent.rglob("*.py"):
        named |= set(re.findall(r'getLogger\("(faultkit[.\w]*)"\)', path.read_text()))
        if "getLogger(__name__)" in path.read_text():
            rel = path.relative_to(Path(faultkit.__file__).parent.parent).with_suffix("")
            named.add(".".join(rel.parts))
    assert named and named <= set(FAULTKIT_LOGGERS)
    for name in FAULTKIT_LOGGERS:
        assert any(isinstance(f, ScrubFilter) for f in logging.getLogger(name).filters), name


def test_proxy_log_records_are_scrubbed(caplog) -> None:
    log = scrubbed_logger("faultkit.proxy")
    with caplog.at_level(logging.INFO, logger="faultkit.proxy"):
        log.info("error answering %s %s", "GET", "/v1/x?api_key=k-live-6")
    assert "k-live-6" not in caplog.text and "api_key=REDACTED" in caplog.text


def test_scrub_url_keeps_an_ordinary_url_as_the_same_object() -> None:
    url = "http://127.0.0.1:8080/v1/chat/completions"
    assert scrub_url(url) is url


def test_the_proxy_refuses_a_bad_scrub_pattern_in_one_line(tmp_path) -> None:
    (tmp_path / "faultkit.toml").write_text('[scrub]\npatterns = ["ok", "(bad"]\n')
    code, _, err = run_proxy(tmp_path, "--only", "openai")
    assert code == 2
    assert err.strip().splitlines() == [
        f"faultkit proxy: {tmp_path / 'faultkit.toml'}: [scrub] patterns[1] '(bad':"
        " missing ), unterminated subpattern at position 0"
    ]


def test_a_compressed_request_body_is_stored_decoded_and_still_matches(tmp_path) -> None:
    sent = json.dumps({"model": "m", "api_key": "k-live-7", "q": "where?"}).encode()
    live = Request(
        method="POST",
        url="http://127.0.0.1:9/v1/ask",
        headers=(("content-type", "application/json"), ("content-encoding", "gzip")),
        body=gzip.compress(sent),
    )
    path = tmp_path / "c.yaml"
    write_cassette(path, [(live, _resp(b"{}", ("content-type", "application/json")))])
    stored = load_cassette(path).interactions[0].request
    assert stored.header("content-encoding") is None
    assert json.loads(stored.body) == {"model": "m", "api_key": REDACTED, "q": "where?"}
    store = CassetteStore([path], match_on=("method", "uri", "body"))
    assert store.match(live).response.body == b"{}"


def test_load_reports_keep_no_secret_from_urls_warnings_or_errors(tmp_path) -> None:
    result = PhaseResult(
        phase="baseline",
        kind="baseline",
        host="http://127.0.0.1:1/ask?key=k-live-8",
        requests=2,
        errors={"HTTP 401 for /ask?api_key=k-live-9": 1, "HTTP 401 for /ask?api_key=k-x": 1},
    )
    report = LoadReport(
        target="http://127.0.0.1:1/ask?key=k-live-8",
        mode="passthrough",
        route="target",
        users=1,
        rate=1.0,
        duration_s=1.0,
        workers=0,
        locustfile="loadtests/through_proxy.py",
        results=[result],
        overhead=Overhead(p50_ms=0.1, p95_ms=0.2, p99_ms=0.3, note="n"),
        warnings=[f"the target answered 'Incorrect API key provided: {OPENAI}'"],
    )
    paths = write_load_reports(report, tmp_path)
    for path in paths:
        text = path.read_text()
        assert "k-live-8" not in text and "k-live-9" not in text and OPENAI not in text
    again = LoadReport.model_validate(json.loads(paths[0].read_text()))
    assert again.results[0].errors == {"HTTP 401 for /ask?api_key=REDACTED": 2}


def test_a_pattern_added_later_applies_to_urls_seen_before() -> None:
    url = "http://127.0.0.1:9/v1/tenants/zeta-tenant-4711/items?page=2"
    assert scrub_url(url) is url  # remembered as clean
    add_patterns([r"zeta-tenant-[0-9]+"])
    assert scrub_url(url) == "http://127.0.0.1:9/v1/tenants/REDACTED/items?page=2"
