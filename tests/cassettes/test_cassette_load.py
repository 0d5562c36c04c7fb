"""Loading: every dialect, the safe tag list, and errors that name the file, line and field."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path

import pytest
import yaml
from _cassette_helpers import REAL_DIR, get_block, vcr_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from faultkit.cassettes import load_cassette, parse_cassette
from faultkit.cassettes._yaml import dump_yaml, fast_load_yaml, load_yaml
from faultkit.errors import CassetteError


def write(tmp_path: Path, text: str | bytes, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# -- dialects -------------------------------------------------------------------------------------
def test_old_httpx_layout_keeps_decoded_content_and_drops_content_encoding(tmp_path) -> None:
    text = """\
interactions:
- request:
    body: ''
    headers:
      accept: ['*/*']
    method: GET
    uri: https://httpbin.org/gzip
  response:
    content: "{\\"gzipped\\": true}"
    headers:
      Content-Encoding: [gzip]
      Content-Length: ['230']
      Content-Type: [application/json]
    http_version: HTTP/1.1
    status_code: 200
version: 1
"""
    response = load_cassette(write(tmp_path, text)).interactions[0].response
    assert response.head.status == 200
    assert json.loads(response.body) == {"gzipped": True}
    assert response.head.header("content-encoding") is None
    assert response.head.header("content-length") == str(len(response.body))


def test_vcrpy_json_serializer_layout(tmp_path) -> None:
    doc = {
        "interactions": [
            {
                "request": {
                    "body": '{"q": 1}',
                    "headers": {"content-type": ["application/json"]},
                    "method": "POST",
                    "uri": "https://api.example.com/search?b=2&a=1",
                },
                "response": {
                    "body": {"string": '{"hits": []}'},
                    "headers": {"content-type": ["application/json"]},
                    "status": {"code": 201, "message": "Created"},
                },
            }
        ],
        "version": 1,
    }
    interaction = load_cassette(write(tmp_path, json.dumps(doc, indent=4), "c.json")).interactions[
        0
    ]
    assert interaction.request.body == b'{"q": 1}'
    assert interaction.response.head.status == 201
    assert interaction.response.head.reason == "Created"
    assert interaction.source.endswith("c.json#0")


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ],
)
def test_compressed_binary_bodies_are_decoded(tmp_path, coding, compress) -> None:
    payload = b'{"answer": 42}'
    blob = base64.b64encode(compress(payload)).decode()
    text = vcr_yaml(
        "- request: {body: null, headers: {}, method: GET, uri: 'https://x.test/a'}\n"
        "  response:\n"
        f"    body: {{string: !!binary '{blob}'}}\n"
        f"    headers: {{Content-Encoding: [{coding}], Content-Length: ['99']}}\n"
        "    status: {code: 200, message: OK}\n"
    )
    response = load_cassette(write(tmp_path, text)).interactions[0].response
    assert response.body == payload
    assert response.head.header("content-encoding") is None
    assert response.head.header("content-length") == str(len(payload))


def test_unknown_coding_is_kept_with_its_header(tmp_path) -> None:
    text = vcr_yaml(
        "- request: {body: '', headers: {}, method: GET, uri: 'https://x.test/a'}\n"
        "  response:\n"
        "    body: {string: !!binary 'AAEC'}\n"
        "    headers: {content-encoding: [zstd]}\n"
        "    status: {code: 200, message: OK}\n"
    )
    response = load_cassette(write(tmp_path, text)).interactions[0].response
    assert response.body == b"\x00\x01\x02"
    assert response.head.header("content-encoding") == "zstd"


@pytest.mark.parametrize(
    ("body_yaml", "expected"),
    [
        ("null", b""),
        ("''", b""),
        ("'{\"a\": 1}'", b'{"a": 1}'),
        ("!!binary 'AAEC'", b"\x00\x01\x02"),
        ("!!python/str 'text'", b"text"),
        ("!!python/unicode 'caf\u00e9'", "caf\u00e9".encode()),
        ("!!python/object/apply:builtins.iter\n      args: [['ab', 'cd']]", b"abcd"),
        (
            "!!python/object/new:_io.BytesIO\n"
            "      state: !!python/tuple [!!binary 'AAE=', 0, null]",
            b"\x00\x01",
        ),
        ("{type: json, content: {b: 1, a: [1, 2]}}", b'{"b":1,"a":[1,2]}'),
    ],
)
def test_request_body_forms(tmp_path, body_yaml, expected) -> None:
    text = vcr_yaml(
        "- request:\n"
        f"    body: {body_yaml}\n"
        "    headers: {}\n"
        "    method: post\n"
        "    uri: https://x.test/a\n"
        "  response: {body: {string: ok}, headers: {}, status: {code: 200, message: OK}}\n"
    )
    request = load_cassette(write(tmp_path, text)).interactions[0].request
    assert request.body == expected
    assert request.method == "POST"


def test_faultkit_timing_key_loads_into_the_response(tmp_path) -> None:
    text = vcr_yaml(
        "- faultkit: {first_byte_ms: 120.5, event_offsets_ms: [0, 10.25, 30]}\n"
        "  request: {body: '', headers: {}, method: GET, uri: 'https://x.test/s'}\n"
        "  response:\n"
        '    body: {string: "data: 1\\n\\ndata: 2\\n\\ndata: [DONE]\\n\\n"}\n'
        "    headers: {content-type: [text/event-stream]}\n"
        "    status: {code: 200, message: OK}\n"
    )
    response = load_cassette(write(tmp_path, text)).interactions[0].response
    assert response.first_byte_ms == 120.5
    assert response.event_offsets_ms == (0.0, 10.25, 30.0)
    assert response.is_sse


def test_repeated_response_headers_keep_every_value(tmp_path) -> None:
    text = vcr_yaml(
        "- request: {body: '', headers: {}, method: GET, uri: 'https://x.test/a'}\n"
        "  response:\n"
        "    body: {string: ok}\n"
        "    headers: {set-cookie: [a=1, b=2], x-count: [3]}\n"
        "    status: {code: 200, message: ''}\n"
    )
    head = load_cassette(write(tmp_path, text)).interactions[0].response.head
    assert [v for k, v in head.headers if k == "set-cookie"] == ["a=1", "b=2"]
    assert head.header("x-count") == "3"
    assert head.reason == "OK"  # vcrpy < 8.2 left the message empty


# -- errors ---------------------------------------------------------------------------------------
def test_missing_file(tmp_path) -> None:
    with pytest.raises(CassetteError, match=r"nope\.yaml: cassette file not found"):
        load_cassette(tmp_path / "nope.yaml")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file_is_an_error_not_an_empty_cassette(tmp_path, content) -> None:
    path = write(tmp_path, content)
    with pytest.raises(CassetteError, match=rf"{path}: cassette file is empty"):
        load_cassette(path)


def test_non_utf8_names_the_line(tmp_path) -> None:
    path = write(tmp_path, vcr_yaml(get_block("https://x.test/a")).encode() + b"\xff\xfe")
    with pytest.raises(CassetteError, match=rf"{path}:12: not UTF-8"):
        load_cassette(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interactions: []\nversion: 2\n", "unsupported cassette version 2"),
        ("interactions: []\n", "no 'version' key"),
        ("- request: {}\n", "pre-1.0 vcrpy cassette"),
        ("just text\n", "not a cassette"),
        ("version: 1\ninteractions: {a: 1}\n", "'interactions' must be a list"),
        ("version: 1\n", "no 'interactions' list"),
        ("interactions: [\nversion: 1\n", r":3: not a valid cassette"),
    ],
)
def test_document_errors(tmp_path, text, message) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CassetteError, match=message) as info:
        load_cassette(path)
    assert str(path) in str(info.value)


def test_disallowed_python_tag_is_refused_and_never_run(tmp_path) -> None:
    marker = tmp_path / "pwned"
    text = vcr_yaml(
        "- request:\n"
        f"    body: !!python/object/apply:os.system ['touch {marker}']\n"
        "    headers: {}\n"
        "    method: GET\n"
        "    uri: https://x.test/a\n"
        "  response: {body: {string: ok}, headers: {}, status: {code: 200, message: OK}}\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(CassetteError, match=rf"{path}:3: .*python/object/apply:os.system"):
        load_cassette(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("replace", "fragment"),
    [
        (
            "status: {code: 200, message: OK}",
            r"interaction 1: response\.status\.code: expected an HTTP",
        ),
        ("method: GET", r"interaction 1: request\.method: missing"),
        ("headers: {}", r"interaction 1: request\.headers: expected a mapping"),
    ],
)
def test_malformed_interaction_names_index_field_and_line(tmp_path, replace, fragment) -> None:
    broken = get_block("https://x.test/b").replace(
        replace,
        {
            "status: {code: 200, message: OK}": "status: {code: abc, message: OK}",
            "method: GET": "method: null",
            "headers: {}": "headers: [1, 2]",
        }[replace],
    )
    path = write(tmp_path, vcr_yaml(get_block("https://x.test/a"), broken))
    with pytest.raises(CassetteError, match=rf"{path}:1\d: {fragment}"):
        load_cassette(path)


def test_compressed_header_with_plain_body_is_an_error(tmp_path) -> None:
    text = vcr_yaml(
        "- request: {body: '', headers: {}, method: GET, uri: 'https://x.test/a'}\n"
        "  response:\n"
        "    body: {string: 'not gzip'}\n"
        "    headers: {content-encoding: [gzip]}\n"
        "    status: {code: 200, message: OK}\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(
        CassetteError, match=r"interaction 0: response\.body: body is not valid gzip"
    ):
        load_cassette(path)


@pytest.mark.parametrize(
    "name",
    ["llm__test_tool_use_chain_of_two_calls.yaml", "pydantic-ai__test_openai_tool_output.yaml"],
)
def test_truncated_file_is_always_an_error(tmp_path, name) -> None:
    raw = (REAL_DIR / name).read_bytes()
    cuts = sorted({*range(1, len(raw) - 1, max(1, len(raw) // 60)), len(raw) - 2})
    for cut in cuts:
        path = write(tmp_path, raw[:cut], f"cut{cut}.yaml")
        with pytest.raises(CassetteError) as info:
            load_cassette(path)
        assert str(path) in str(info.value), cut


def test_json_syntax_error_names_the_line(tmp_path) -> None:
    path = write(tmp_path, '{\n  "interactions": [\n    {"request": \n', "c.json")
    with pytest.raises(CassetteError, match=rf"{path}:\d+: not valid JSON"):
        load_cassette(path)


def test_parse_cassette_from_bytes_uses_the_given_name() -> None:
    cassette = parse_cassette(vcr_yaml(get_block("https://x.test/a")).encode(), "mem.yaml")
    assert cassette.interactions[0].source == "mem.yaml#0"


# -- the fast YAML builder gives exactly what the full safe loader gives -------------------------
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=20)
    | st.sampled_from(["2020-10-01", "yes", "0x1f", "1_000", "~", "", "<<", "null", "1e3"])
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_values)
def test_fast_loader_equals_full_loader(value) -> None:
    for text in (
        dump_yaml(value),
        yaml.safe_dump(value),
        yaml.safe_dump(value, default_flow_style=True),
    ):
        assert fast_load_yaml(text) == load_yaml(text)


def test_fast_loader_handles_anchors_and_merge_keys() -> None:
    text = "base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2\nlist: [*b, *b]\n"
    assert fast_load_yaml(text) == load_yaml(text)
    assert fast_load_yaml(text)["child"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    ("timing", "field"),
    [
        ("{first_byte_ms: -1}", r"faultkit\.first_byte_ms"),
        ("{first_byte_ms: fast}", r"faultkit\.first_byte_ms"),
        ("{event_offsets_ms: [0, x]}", r"faultkit\.event_offsets_ms"),
        ("[1, 2]", r"faultkit: expected a mapping"),
    ],
)
def test_bad_timing_is_located(tmp_path, timing, field) -> None:
    text = vcr_yaml(
        f"- faultkit: {timing}\n"
        "  request: {body: '', headers: {}, method: GET, uri: 'https://x.test/s'}\n"
        "  response: {body: {string: ok}, headers: {}, status: {code: 200, message: OK}}\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(CassetteError, match=rf"{path}:2: interaction 0: {field}"):
        load_cassette(path)
