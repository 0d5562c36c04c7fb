"""§11.D: toxics CRUD through the API (defaults, validation order, merge on update)."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def proxy(api: httpx.Client) -> str:
    reply = api.post(
        "/proxies", json={"name": "p", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:0"}
    )
    assert reply.status_code == 201
    return "/proxies/p/toxics"


def test_new_proxy_has_no_toxics(api: httpx.Client, proxy: str) -> None:
    reply = api.get(proxy)
    assert (reply.status_code, reply.json()) == (200, [])


def test_create_returns_200_with_the_toxic(api: httpx.Client, proxy: str) -> None:
    body = {
        "name": "foobar",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
        "attributes": {"latency": 100, "jitter": 10},
    }
    reply = api.post(proxy, json=body)
    assert reply.status_code == 200
    expected = {
        "attributes": {"latency": 100, "jitter": 10},
        "name": "foobar",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
    }
    assert reply.json() == expected
    assert list(reply.json()) == ["attributes", "name", "type", "stream", "toxicity"]
    assert api.get(proxy).json() == [expected]
    assert api.get(f"{proxy}/foobar").json() == expected


def test_null_attributes_are_zero(api: httpx.Client, proxy: str) -> None:
    for name in ("latency1", "latency2"):
        body = {"name": name, "type": "latency", "stream": "downstream", "attributes": None}
        assert api.post(proxy, json=body).status_code == 200
    toxics = api.get(proxy).json()
    assert [t["name"] for t in toxics] == ["latency1", "latency2"]
    assert toxics[1]["toxicity"] == 1
    assert toxics[1]["attributes"] == {"latency": 0, "jitter": 0}
    assert all(t["stream"] == "downstream" for t in toxics)


def test_names_are_unique_across_streams(api: httpx.Client, proxy: str) -> None:
    api.post(proxy, json={"name": "foobar", "type": "latency", "stream": "downstream"})
    reply = api.post(proxy, json={"name": "foobar", "type": "slow_close", "stream": "downstream"})
    assert (reply.status_code, reply.json()["error"]) == (409, "toxic already exists")
    reply = api.post(proxy, json={"name": "foobar", "type": "latency", "stream": "upstream"})
    assert reply.status_code == 409
    assert [(t["type"], t["stream"]) for t in api.get(proxy).json()] == [("latency", "downstream")]


def test_default_names(api: httpx.Client, proxy: str) -> None:
    assert (
        api.post(proxy, json={"name": "", "type": "latency", "stream": "upstream"}).json()["name"]
        == "latency_upstream"
    )
    second = api.post(proxy, json={"name": "", "type": "latency", "stream": "downstream"}).json()
    assert second["name"] == "latency_downstream"
    assert (second["toxicity"], second["attributes"]) == (1, {"latency": 0, "jitter": 0})
    third = api.post(proxy, json={"type": "slow_close"}).json()
    assert (third["name"], third["stream"]) == ("slow_close_downstream", "downstream")


def test_stream_is_echoed_as_sent(api: httpx.Client, proxy: str) -> None:
    toxic = api.post(proxy, json={"type": "latency", "stream": "UpStream"}).json()
    assert (toxic["stream"], toxic["name"]) == ("UpStream", "latency_UpStream")


def test_fractional_toxicity_round_trips(api: httpx.Client, proxy: str) -> None:
    assert api.post(proxy, json={"type": "latency", "toxicity": 0.2}).json()["toxicity"] == 0.2
    assert api.get(f"{proxy}/latency_downstream").json()["toxicity"] == 0.2
    assert b'"toxicity":0.2}' in api.get(f"{proxy}/latency_downstream").content


def test_noop_toxic(api: httpx.Client, proxy: str) -> None:
    reply = api.post(proxy, json={"name": "foobar", "type": "noop"})
    assert reply.status_code == 200
    assert reply.json() == {
        "attributes": {},
        "name": "foobar",
        "type": "noop",
        "stream": "downstream",
        "toxicity": 1,
    }


@pytest.mark.parametrize("stream", ["walrustream", ""])
def test_invalid_stream(api: httpx.Client, proxy: str, stream: str) -> None:
    reply = api.post(proxy, json={"type": "latency", "stream": stream})
    assert reply.status_code == 400
    assert reply.json()["error"] == "stream was invalid, can be either upstream or downstream"


@pytest.mark.parametrize("body", [{"type": "bogus"}, {"name": "x"}])
def test_invalid_type(api: httpx.Client, proxy: str, body: dict) -> None:
    reply = api.post(proxy, json=body)
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid toxic type")


@pytest.mark.parametrize("raw", ['"abc"', "1.5", "100.0", "1e2", "true", "9223372036854775808"])
def test_integer_attributes_only(api: httpx.Client, proxy: str, raw: str) -> None:
    body = f'{{"type": "latency", "attributes": {{"latency": {raw}}}}}'
    reply = api.post(proxy, content=body)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("bad request body: ")
    assert api.get(proxy).json() == []


def test_non_object_attributes_are_400(api: httpx.Client, proxy: str) -> None:
    reply = api.post(proxy, json={"type": "latency", "attributes": [1]})
    assert reply.status_code == 400


def test_validation_order_stream_before_type_before_conflict(api: httpx.Client, proxy: str) -> None:
    api.post(proxy, json={"name": "t", "type": "latency"})
    reply = api.post(proxy, json={"name": "t", "type": "bogus", "stream": "walrus"})
    assert reply.json()["error"].startswith("stream was invalid")
    reply = api.post(proxy, json={"name": "t", "type": "bogus"})
    assert reply.json()["error"] == "invalid toxic type"
    reply = api.post(proxy, json={"name": "t", "type": "latency", "attributes": {"latency": "x"}})
    assert reply.status_code == 409


@pytest.mark.parametrize(
    ("toxic_type", "keys"),
    [
        ("latency", ["latency", "jitter"]),
        ("bandwidth", ["rate"]),
        ("slow_close", ["delay"]),
        ("timeout", ["timeout"]),
        ("reset_peer", ["timeout"]),
        ("slicer", ["average_size", "size_variation", "delay"]),
        ("limit_data", ["bytes"]),
        ("noop", []),
    ],
)
def test_attribute_key_sets(api: httpx.Client, proxy: str, toxic_type: str, keys: list) -> None:
    attributes = api.post(proxy, json={"type": toxic_type}).json()["attributes"]
    assert attributes == dict.fromkeys(keys, 0)
    assert list(attributes) == keys


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_update_merges_attributes_and_keeps_toxicity(
    api: httpx.Client, proxy: str, method: str
) -> None:
    api.post(proxy, json={"type": "latency", "attributes": {"latency": 100, "jitter": 10}})
    url = f"{proxy}/latency_downstream"
    first = api.request(method, url, json={"attributes": {"latency": 1000}, "toxicity": 0.5})
    assert first.status_code == 200
    assert (first.json()["toxicity"], first.json()["attributes"]) == (
        0.5,
        {"latency": 1000, "jitter": 10},
    )
    second = api.request(method, url, json={"attributes": {"latency": 500}}).json()
    assert (second["toxicity"], second["attributes"]) == (0.5, {"latency": 500, "jitter": 10})
    assert api.get(url).json() == second
    assert api.request(method, url, json={"attributes": None}).json() == second


def test_update_cannot_change_identity(api: httpx.Client, proxy: str) -> None:
    api.post(proxy, json={"type": "latency"})
    body = {"type": "timeout", "stream": "upstream", "name": "x"}
    toxic = api.patch(f"{proxy}/latency_downstream", json=body).json()
    assert (toxic["name"], toxic["type"], toxic["stream"]) == (
        "latency_downstream",
        "latency",
        "downstream",
    )


def test_update_with_bad_body_changes_nothing(api: httpx.Client, proxy: str) -> None:
    api.post(proxy, json={"type": "latency", "attributes": {"latency": 7}})
    url = f"{proxy}/latency_downstream"
    assert api.patch(url, content=b"").status_code == 400
    assert api.patch(url, json={"attributes": {"latency": 1.5}}).status_code == 400
    assert api.get(url).json()["attributes"]["latency"] == 7


def test_delete(api: httpx.Client, proxy: str) -> None:
    api.post(proxy, json={"type": "latency"})
    reply = api.delete(f"{proxy}/latency_downstream")
    assert (reply.status_code, reply.content) == (204, b"")
    assert api.get(proxy).json() == []


@pytest.mark.parametrize("method", ["GET", "PATCH", "POST", "DELETE"])
def test_missing_toxic_is_404(api: httpx.Client, proxy: str, method: str) -> None:
    reply = api.request(method, f"{proxy}/missing", json={})
    assert (reply.status_code, reply.json()["error"]) == (404, "toxic not found")


def test_listing_order_is_upstream_then_downstream(api: httpx.Client, proxy: str) -> None:
    api.post(proxy, json={"name": "up1", "type": "noop", "stream": "upstream"})
    api.post(proxy, json={"name": "d1", "type": "noop", "stream": "downstream"})
    api.post(proxy, json={"name": "up2", "type": "noop", "stream": "upstream"})
    assert [t["name"] for t in api.get(proxy).json()] == ["up1", "up2", "d1"]
    assert [t["name"] for t in api.get("/proxies/p").json()["toxics"]] == ["up1", "up2", "d1"]


def test_toxic_on_disabled_proxy(api: httpx.Client) -> None:
    api.post(
        "/proxies",
        json={"name": "d", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:0", "enabled": False},
    )
    assert api.post("/proxies/d/toxics", json={"type": "latency"}).status_code == 200


def test_out_of_range_values_are_stored_as_given(api: httpx.Client, proxy: str) -> None:
    toxic = api.post(
        proxy, json={"type": "bandwidth", "toxicity": 2.5, "attributes": {"rate": -1}}
    ).json()
    assert (toxic["toxicity"], toxic["attributes"]) == (2.5, {"rate": -1})
