"""Writing: vcrpy's format (vcrpy itself can load and replay it), round trips, atomicity."""

from __future__ import annotations

import json
import os
import re

import httpx
import pytest
import vcr
import vcr.serialize
from _cassette_helpers import REAL_FILES, req, resp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcr.serializers import jsonserializer, yamlserializer

from faultkit.cassettes import load_cassette, serialize_cassette, write_cassette
from faultkit.cassettes import write as write_module
from faultkit.errors import CassetteError

SSE = b'event: delta\ndata: {"t":"Hel"}\n\nevent: delta\ndata: {"t":"lo"}\n\ndata: [DONE]\n\n'
PAIRS = [
    (
        req("https://api.example.com/v1/chat?stream=true", "POST", {"model": "m", "max_tokens": 5}),
        resp(
            SSE,
            headers=(("content-type", "text/event-stream"), ("x-a", "1"), ("x-a", "2")),
            first_byte_ms=101.25,
            event_offsets_ms=(0.0, 12.5, 13.0),
        ),
    ),
    (req("https://api.example.com/v1/blob", "PUT", b"\x00\xff\x10"), resp(b"\x89PNG\r\n", 201)),
    (req("https://api.example.com/v1/none", "GET"), resp(b"", 204, headers=())),
]


def test_round_trip(tmp_path) -> None:
    path = tmp_path / "rt.yaml"
    write_cassette(path, PAIRS)
    loaded = load_cassette(path).interactions
    assert len(loaded) == len(PAIRS)
    for (request, response), got in zip(PAIRS, loaded, strict=True):
        assert got.request == request
        assert got.response.body == response.body
        assert got.response.head.status == response.head.status
        assert got.response.head.headers == response.head.headers
        assert got.response.first_byte_ms == response.first_byte_ms
        assert got.response.event_offsets_ms == response.event_offsets_ms


def test_layout_is_vcrpy_v1_with_readable_sse(tmp_path) -> None:
    path = tmp_path / "rt.yaml"
    write_cassette(path, PAIRS)
    text = path.read_text()
    assert text.startswith("interactions:\n")
    assert text.endswith("version: 1\n")
    assert re.search(r"      string: \|[+-]?\n        event: delta\n", text)  # a literal block
    assert "body: !!binary" in text
    assert "faultkit:\n    first_byte_ms: 101.25\n    event_offsets_ms:" in text
    assert "x-a:\n      - '1'\n      - '2'" in text


def test_vcrpy_deserializes_what_we_write(tmp_path) -> None:
    path = tmp_path / "rt.yaml"
    write_cassette(path, PAIRS)
    requests, responses = vcr.serialize.deserialize(path.read_text(), yamlserializer)
    assert [r.uri for r in requests] == [r.url for r, _ in PAIRS]
    assert requests[1].body == b"\x00\xff\x10"
    assert responses[0]["body"]["string"] == SSE
    assert responses[0]["status"] == {"code": 200, "message": "OK"}
    assert responses[1]["body"]["string"] == b"\x89PNG\r\n"


def test_vcrpy_replays_what_we_write_through_httpx(tmp_path) -> None:
    path = tmp_path / "rt.yaml"
    write_cassette(path, PAIRS)
    with vcr.use_cassette(str(path), record_mode="none"), httpx.Client() as client:
        first = client.post("https://api.example.com/v1/chat?stream=true", json={"x": 1})
        second = client.put("https://api.example.com/v1/blob", content=b"\x00")
    assert first.status_code == 200
    assert first.content == SSE
    assert first.headers.get_list("x-a") == ["1", "2"]
    assert second.status_code == 201
    assert second.content == b"\x89PNG\r\n"


def test_json_target_uses_vcrpys_json_layout(tmp_path) -> None:
    path = tmp_path / "rt.json"
    write_cassette(path, PAIRS[:1])
    _, responses = vcr.serialize.deserialize(path.read_text(), jsonserializer)
    assert responses[0]["body"]["string"] == SSE
    assert load_cassette(path).interactions[0].response.event_offsets_ms == (0.0, 12.5, 13.0)
    with pytest.raises(CassetteError, match="binary body"):
        write_cassette(tmp_path / "bin.json", PAIRS[1:2])


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_real_cassettes_rewrite_and_reload(tmp_path, path) -> None:
    original = load_cassette(path).interactions
    out = tmp_path / path.name
    write_cassette(out, original)
    again = load_cassette(out).interactions
    assert [i.request.url for i in again] == [i.request.url for i in original]
    assert [i.response.head.status for i in again] == [i.response.head.status for i in original]
    requests, _ = vcr.serialize.deserialize(out.read_text(), yamlserializer)
    assert len(requests) == len(original)


_body_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200
) | st.sampled_from(["a\r\nb", "trailing  \nspace ", "\n\nlead", "tab\there\n", " x\n  y\n"])


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_body_text, raw=st.binary(max_size=64))
def test_any_body_round_trips_exactly(tmp_path, body, raw) -> None:
    data = serialize_cassette(
        [
            (
                req(body=raw, method="POST"),
                resp(body.encode(), headers=(("content-type", "text/plain"),)),
            )
        ]
    )
    path = tmp_path / "h.yaml"
    path.write_bytes(data)
    got = load_cassette(path).interactions[0]
    assert got.response.body == body.encode()
    assert got.request.body == raw


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "keep.yaml"
    write_cassette(path, PAIRS[:1])
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write_module.os, "replace", broken_replace)
    with pytest.raises(CassetteError, match=r"keep\.yaml: cannot write cassette"):
        write_cassette(path, PAIRS)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.yaml"]


def test_file_mode_is_kept(tmp_path) -> None:
    path = tmp_path / "mode.yaml"
    write_cassette(path, PAIRS[:1])
    os.chmod(path, 0o640)
    write_cassette(path, PAIRS)
    assert path.stat().st_mode & 0o777 == 0o640


def test_written_json_bodies_are_unchanged_when_there_is_no_secret(tmp_path) -> None:
    body = b'{"usage": {"prompt_tokens": 3, "total_tokens": 9},  "max_tokens": 5}'
    path = tmp_path / "b.yaml"
    write_cassette(path, [(req(method="POST", body=body), resp(body))])
    got = load_cassette(path).interactions[0]
    assert got.request.body == body
    assert json.loads(got.response.body)["usage"]["prompt_tokens"] == 3
