"""Matching and playback: FIFO, once/repeat/cycle, uri vs path, bodies, and unmatched errors."""

from __future__ import annotations

import threading

import pytest
from _cassette_helpers import get_block, req, resp, vcr_yaml

from faultkit.cassettes import Cassette, CassetteStore, Interaction, load_cassette, write_cassette
from faultkit.engine import Engine
from faultkit.errors import CassetteError, UnmatchedRequest


def store_of(pairs, **kwargs) -> CassetteStore:
    store = CassetteStore(**kwargs)
    interactions = [
        Interaction(request=r, response=s, index=i, source=f"mem#{i}")
        for i, (r, s) in enumerate(pairs)
    ]
    store.add_cassette(Cassette(path="mem", interactions=interactions))  # type: ignore[arg-type]
    return store


def bodies(store: CassetteStore, request, n: int) -> list[bytes]:
    return [store.match(request).response.body for _ in range(n)]


URL = "https://api.example.com/v1/items"


def test_same_key_plays_in_recorded_order_then_is_unmatched() -> None:
    store = store_of([(req(URL), resp(b"1")), (req(URL), resp(b"2")), (req(URL), resp(b"3"))])
    assert bodies(store, req(URL), 3) == [b"1", b"2", b"3"]
    with pytest.raises(UnmatchedRequest, match="3 matching recordings already played") as info:
        store.match(req(URL))
    assert info.value.closest[0].startswith("mem#")
    assert "[played 1x]" in info.value.closest[0]


def test_repeat_keeps_answering_with_the_last() -> None:
    store = store_of([(req(URL), resp(b"1")), (req(URL), resp(b"2"))], playback="repeat")
    assert bodies(store, req(URL), 4) == [b"1", b"2", b"2", b"2"]


def test_cycle_starts_over() -> None:
    store = store_of([(req(URL), resp(b"1")), (req(URL), resp(b"2"))], playback="cycle")
    assert bodies(store, req(URL), 5) == [b"1", b"2", b"1", b"2", b"1"]


def test_rewind_plays_everything_again() -> None:
    store = store_of([(req(URL), resp(b"1"))])
    store.match(req(URL))
    assert store.unused() == []
    store.rewind()
    assert store.match(req(URL)).response.body == b"1"


def test_method_is_part_of_the_default_key() -> None:
    store = store_of([(req(URL, "GET"), resp(b"get")), (req(URL, "POST"), resp(b"post"))])
    assert store.match(req(URL, "POST")).response.body == b"post"
    assert store.match(req(URL, "get")).response.body == b"get"


def test_uri_is_canonical() -> None:
    store = store_of([(req("https://api.example.com:443/v1/items?b=2&a=1"), resp(b"x"))])
    assert store.match(req("HTTPS://API.Example.com/v1/items?a=1&b=2")).response.body == b"x"


def test_uri_distinguishes_host_port_and_query() -> None:
    store = store_of([(req("https://api.example.com/v1/items?a=1"), resp(b"x"))])
    for other in (
        "https://other.example.com/v1/items?a=1",
        "https://api.example.com:8443/v1/items?a=1",
        "https://api.example.com/v1/items?a=2",
        "https://api.example.com/v1/items",
    ):
        with pytest.raises(UnmatchedRequest):
            store.match(req(other))


def test_path_ignores_the_host_for_a_sut_pointed_elsewhere() -> None:
    recorded = req("https://api.openai.com/v1/chat/completions?x=1&y=2", "POST")
    store = store_of([(recorded, resp(b"ok"))], match_on=("method", "path"))
    live = req("http://127.0.0.1:8123/v1/chat/completions?y=2&x=1", "POST")
    assert store.match(live).response.body == b"ok"
    # vcrpy's ``path`` is the path alone (pytest-recording users rely on it); ``query`` adds
    # the query back.
    other_query = req("http://127.0.0.1:8123/v1/chat/completions?x=9", "POST")
    fresh = store_of([(recorded, resp(b"ok"))], match_on=("method", "path"))
    assert fresh.match(other_query).response.body == b"ok"
    with pytest.raises(UnmatchedRequest, match="differs in query"):
        store_of([(recorded, resp())], match_on=("method", "path", "query")).match(other_query)
    with pytest.raises(UnmatchedRequest, match="differs in path"):
        store_of([(recorded, resp())], match_on=("method", "path")).match(
            req("http://127.0.0.1:8123/v1/responses", "POST")
        )


def test_body_matching_is_canonical_json_without_ignored_fields() -> None:
    recorded = req(
        URL, "POST", {"model": "m", "metadata": {"request_id": "a1", "user": "u"}, "n": 1}
    )
    other = req(URL, "POST", {"model": "m", "metadata": {"request_id": "a1", "user": "u"}, "n": 2})
    store = store_of(
        [(recorded, resp(b"1")), (other, resp(b"2"))],
        match_on=("method", "uri", "body"),
        ignore_body_fields=("request_id",),
    )
    live = req(
        URL, "POST", body=b'{"n": 2,  "metadata": {"user": "u", "request_id": "zz"}, "model": "m"}'
    )
    assert store.match(live).response.body == b"2"
    live_first = req(
        URL, "POST", body=b'{"metadata":{"request_id":"q","user":"u"},"model":"m","n":1}'
    )
    assert store.match(live_first).response.body == b"1"


def test_non_json_bodies_match_by_bytes() -> None:
    store = store_of(
        [
            (req(URL, "POST", b"a=1&b=2"), resp(b"form")),
            (req(URL, "POST", b"\x00\x01"), resp(b"bin")),
        ],
        match_on=("method", "body"),
    )
    assert store.match(req(URL, "POST", b"\x00\x01")).response.body == b"bin"
    with pytest.raises(UnmatchedRequest, match="differs in body"):
        store.match(req(URL, "POST", b"b=2&a=1"))


def test_a_scrubbed_recording_matches_the_live_request_with_real_secrets() -> None:
    recorded = req(URL + "?api_key=REDACTED&page=2", "POST", {"password": "REDACTED", "q": "x"})
    store = store_of([(recorded, resp(b"ok"))], match_on=("method", "uri", "body"))
    live = req(URL + "?page=2&api_key=sk-live-123", "POST", {"q": "x", "password": "hunter2"})
    assert store.match(live).response.body == b"ok"


def test_headers_match_case_insensitively_with_secrets_redacted() -> None:
    recorded = req(
        URL,
        headers=(("Accept", "application/json"), ("Authorization", "REDACTED"), ("X-Tenant", "a")),
    )
    store = store_of([(recorded, resp(b"ok"))], match_on=("method", "uri", "headers"))
    live = req(
        URL,
        headers=(
            ("x-tenant", "a"),
            ("authorization", "Bearer sk-live"),
            ("accept", "application/json"),
        ),
    )
    assert store.match(live).response.body == b"ok"
    other = req(
        URL,
        headers=(
            ("x-tenant", "b"),
            ("authorization", "Bearer sk-live"),
            ("accept", "application/json"),
        ),
    )
    with pytest.raises(UnmatchedRequest, match="differs in headers"):
        store.match(other)


def test_unmatched_names_the_closest_recordings_same_method_first() -> None:
    store = store_of(
        [
            (req("https://api.example.com/v1/items/1"), resp()),
            (req("https://api.example.com/v1/items/2", "POST"), resp()),
            (req("https://api.example.com/v1/users/1"), resp()),
            (req("https://api.example.com/v2/other/thing"), resp()),
            (req("https://elsewhere.test/nothing/alike"), resp()),
        ]
    )
    with pytest.raises(UnmatchedRequest) as info:
        store.match(req("https://api.example.com/v1/items/3"))
    error = info.value
    assert error.method == "GET"
    assert error.url == "https://api.example.com/v1/items/3"
    assert len(error.closest) == 3
    assert error.closest[0] == "mem#0: GET https://api.example.com/v1/items/1"
    assert all(": GET " in line for line in error.closest)  # the POST one ranks after them
    assert "differs in uri" in str(error)


def test_unmatched_on_an_empty_store() -> None:
    with pytest.raises(UnmatchedRequest, match="no recordings loaded") as info:
        CassetteStore().match(req())
    assert info.value.closest == []


def test_unused_and_len() -> None:
    store = store_of([(req(URL + "/1"), resp()), (req(URL + "/2"), resp())])
    assert len(store) == 2
    store.match(req(URL + "/2"))
    assert [i.source for i in store.unused()] == ["mem#0"]


def test_threads_never_play_a_recording_twice() -> None:
    n_threads, per_thread = 8, 50
    store = store_of([(req(URL), resp(str(i).encode())) for i in range(n_threads * per_thread)])
    seen: list[bytes] = []
    lock = threading.Lock()

    def worker() -> None:
        got = [store.match(req(URL)).response.body for _ in range(per_thread)]
        with lock:
            seen.extend(got)

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(str(i).encode() for i in range(n_threads * per_thread))
    assert store.unused() == []


def test_directories_are_scanned_for_cassettes(tmp_path) -> None:
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "a.yaml").write_text(vcr_yaml(get_block("https://x.test/a", "A")))
    (tmp_path / "b.yml").write_text(vcr_yaml(get_block("https://x.test/b", "B")))
    (tmp_path / "a.yaml.lock").write_text("")
    (tmp_path / ".a.yaml.123.tmp").write_text("partial")
    (tmp_path / "notes.txt").write_text("not a cassette")
    store = CassetteStore([tmp_path])
    assert len(store) == 2
    assert store.match(req("https://x.test/b")).response.body == b"B"
    assert store.match(req("https://x.test/a")).source.endswith("mod/a.yaml#0")


def test_missing_path_and_bad_options_are_errors(tmp_path) -> None:
    with pytest.raises(CassetteError, match="not found"):
        CassetteStore([tmp_path / "missing.yaml"])
    with pytest.raises(CassetteError, match="unknown match_on"):
        CassetteStore(match_on=("method", "colour"))
    with pytest.raises(CassetteError, match="unknown playback"):
        CassetteStore(playback="twice")  # type: ignore[arg-type]


def test_the_store_is_the_engines_source() -> None:
    store = store_of([(req(URL, "POST"), resp({"ok": True}))])
    engine = Engine(source=store)
    _, plan = engine.handle(req(URL, "POST"), "tools", 0.0)
    assert plan.body_bytes() == b'{"ok": true}'
    assert engine.ledger.entries[0].recording == "mem#0"
    with pytest.raises(UnmatchedRequest):
        engine.handle(req(URL, "POST"), "tools", 1.0)
    assert engine.ledger.entries[1].ending == "unmatched"


# -- recording ------------------------------------------------------------------------------------
def test_record_into_a_new_file_then_save(tmp_path) -> None:
    target = tmp_path / "new" / "rec.yaml"
    store = CassetteStore.for_recording(target)
    assert len(store) == 0 and store.save() is None
    recorded = store.record(req(URL), resp(b"live", first_byte_ms=12.0))
    assert recorded.source == f"{target}#0"
    assert store.unused() == []  # it answered the request that produced it
    assert store.save() == target
    loaded = load_cassette(target)
    assert loaded.interactions[0].response.body == b"live"
    assert loaded.interactions[0].response.first_byte_ms == 12.0
    assert CassetteStore([target]).match(req(URL)).response.body == b"live"


def test_new_episodes_keep_what_was_there(tmp_path) -> None:
    target = tmp_path / "rec.yaml"
    write_cassette(target, [(req(URL + "/old"), resp(b"old"))])
    store = CassetteStore.for_recording(target)
    assert store.match(req(URL + "/old")).response.body == b"old"
    store.record(req(URL + "/new"), resp(b"new"))
    store.save()
    assert [i.response.body for i in load_cassette(target).interactions] == [b"old", b"new"]


def test_rerecord_replaces_the_file(tmp_path) -> None:
    target = tmp_path / "rec.yaml"
    write_cassette(target, [(req(URL + "/old"), resp(b"old"))])
    store = CassetteStore.for_recording(target, rerecord=True)
    assert len(store) == 0
    store.record(req(URL + "/new"), resp(b"new"))
    store.save()
    assert [i.response.body for i in load_cassette(target).interactions] == [b"new"]


def test_record_to_alongside_read_only_cassettes(tmp_path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(vcr_yaml(get_block("https://x.test/a", "A")))
    target = tmp_path / "rec.yaml"
    store = CassetteStore([target, other], record_to=target)
    assert store.match(req("https://x.test/a")).response.body == b"A"
    store.record(req(URL), resp(b"n"))
    store.save()
    assert len(load_cassette(target).interactions) == 1
    assert len(load_cassette(other).interactions) == 1


def test_a_corrupt_target_is_not_silently_replaced(tmp_path) -> None:
    target = tmp_path / "rec.yaml"
    target.write_text("interactions:\n- request: {method: GET\n")
    with pytest.raises(CassetteError, match=r"rec\.yaml"):
        CassetteStore.for_recording(target)


def test_record_without_target_is_an_error() -> None:
    with pytest.raises(CassetteError, match="for_recording"):
        CassetteStore().record(req(), resp())


def test_record_target_inside_a_scanned_directory_is_loaded_once(tmp_path) -> None:
    target = tmp_path / "rec.yaml"
    target.write_text(vcr_yaml(get_block("https://x.test/a", "A")))
    store = CassetteStore([tmp_path], record_to=target)
    assert len(store) == 1
    assert store.target is not None and len(store.target.interactions) == 1
