"""No secret reaches a cassette file: headers, cookies, query strings, JSON at any depth."""

from __future__ import annotations

import json
import string

from _cassette_helpers import REAL_FILES, req, resp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit.cassettes import load_cassette, serialize_cassette, write_cassette
from faultkit.scrub import scrub_json, scrub_url, secret_field

_secret = st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=40).map(
    lambda s: "SECRETzq" + s
)
_body_key = st.sampled_from(
    [
        "api_key",
        "apiKey",
        "password",
        "passwd",
        "client_secret",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "authorization",
        "authorization_token",
        "x-api-key",
    ]
)
_query_key = st.sampled_from(["api_key", "key", "token", "access_token", "apikey", "sig"])
_path = st.lists(st.sampled_from(["data", "auth", "items", "cfg"]), min_size=0, max_size=3)
_in_list = st.booleans()


def _nest(path: list[str], key: str, value: str, wrap_in_list: bool) -> dict:
    node: dict = {key: value, "max_tokens": 100, "usage": {"prompt_tokens": 3}}
    for name in reversed(path):
        node = {name: [node] if wrap_in_list else node, "model": "gpt-4o"}
    return node


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    secrets=st.lists(_secret, min_size=9, max_size=9, unique=True),
    body_key=_body_key,
    query_key=_query_key,
    path=_path,
    wrap=_in_list,
    sse=st.booleans(),
)
def test_secrets_never_reach_the_file(tmp_path, secrets, body_key, query_key, path, wrap, sse):
    s = secrets
    request = req(
        f"https://u:{s[0]}@api.example.com/v1/x?page=2&{query_key}={s[1]}",
        "POST",
        _nest(path, body_key, s[2], wrap),
        headers=(
            ("authorization", f"Bearer {s[3]}"),
            ("Cookie", f"session={s[4]}; theme=dark"),
            ("x-api-key", s[5]),
            ("content-type", "application/json"),
        ),
    )
    response_json = _nest(path, body_key, s[6], wrap)
    if sse:
        body = f"event: x\ndata: {json.dumps(response_json)}\n\ndata: [DONE]\n\n".encode()
        ctype = "text/event-stream"
    else:
        body = json.dumps(response_json).encode()
        ctype = "application/json"
    response = resp(
        body,
        headers=(
            ("content-type", ctype),
            ("Set-Cookie", f"__cf_bm={s[7]}; path=/"),
            ("set-cookie", f"_cfuvid={s[8]}; HttpOnly"),
        ),
    )
    path_out = tmp_path / "s.yaml"
    write_cassette(path_out, [(request, response)])
    data = path_out.read_bytes()
    for secret in secrets:
        assert secret.encode() not in data
    assert b"SECRETzq" not in data
    # What is not secret survives, and the file still loads and replays.
    loaded = load_cassette(path_out).interactions[0]
    assert b'"max_tokens":100' in loaded.request.body.replace(b" ", b"")
    assert "page=2" in loaded.request.url


def test_counters_and_logprob_tokens_are_not_secrets() -> None:
    body = {
        "max_tokens": 5,
        "max_completion_tokens": 9,
        "usage": {"prompt_tokens": 1, "input_tokens": 2, "total_tokens": 3},
        "logprobs": {"content": [{"token": "Hel", "logprob": -0.1, "bytes": [72]}]},
        "next_page_token": "abc",
    }
    scrubbed, changed = scrub_json(body)
    assert changed
    assert scrubbed["max_tokens"] == 5
    assert scrubbed["usage"] == body["usage"]
    assert scrubbed["logprobs"]["content"][0]["token"] == "Hel"
    assert scrubbed["next_page_token"] == "REDACTED"
    assert not secret_field("max_tokens")
    assert not secret_field("prompt_tokens")
    assert secret_field("clientSecret")


def test_scrub_url_keeps_everything_else_byte_for_byte() -> None:
    url = "https://api.example.com/v1/a%20b?z=1&api_key=abc&x=%2F"
    assert scrub_url(url) == "https://api.example.com/v1/a%20b?z=1&api_key=REDACTED&x=%2F"
    plain = "https://api.example.com/v1/items?page=2"
    assert scrub_url(plain) is plain


def test_form_bodies_are_scrubbed() -> None:
    request = req(
        method="POST",
        body=b"grant_type=refresh_token&refresh_token=rt-1234567890&client_secret=cs-0987",
        headers=(("content-type", "application/x-www-form-urlencoded"),),
    )
    data = serialize_cassette([(request, resp())])
    assert b"rt-1234567890" not in data and b"cs-0987" not in data
    assert b"grant_type=refresh_token" in data


def test_real_cookies_and_account_ids_are_scrubbed(tmp_path) -> None:
    leaks = []
    for path in REAL_FILES:
        for interaction in load_cassette(path).interactions:
            for part in (interaction.request.headers, interaction.response.head.headers):
                for name, value in part:
                    if name.lower() in (
                        "set-cookie",
                        "cookie",
                        "openai-organization",
                        "openai-project",
                        "anthropic-organization-id",
                    ):
                        leaks.append(value)
        out = tmp_path / path.name
        write_cassette(out, load_cassette(path).interactions)
        text = out.read_text()
        for value in leaks:
            assert value not in text, (path.name, value)
    assert any("__cf_bm" in v for v in leaks)  # the corpus really had some
