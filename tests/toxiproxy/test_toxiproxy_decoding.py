"""Request decoding the Go way, number rendering, and address parsing."""

from __future__ import annotations

import pytest

from faultkit.doors.toxiproxy import addresses, jsonbody


def test_only_the_first_json_value_is_read() -> None:
    assert jsonbody.parse(b' {"a": 1} {"b": 2} trailing') == {"a": 1}


@pytest.mark.parametrize(
    ("body", "message"), [(b"", "EOF"), (b"  \n", "EOF"), (b"{", "unexpected EOF")]
)
def test_empty_or_truncated_bodies(body: bytes, message: str) -> None:
    with pytest.raises(jsonbody.BodyError, match=message):
        jsonbody.parse(body)


def test_nan_is_not_json() -> None:
    with pytest.raises(jsonbody.BodyError):
        jsonbody.parse(b"NaN")


def test_keys_match_case_insensitively_exact_first() -> None:
    assert jsonbody.lookup({"Enabled": False, "enabled": True}, "enabled") is True
    assert jsonbody.lookup({"ENABLED": False}, "enabled") is False
    assert jsonbody.lookup({}, "enabled") is None


def test_int64_rejects_fractions_and_overflow() -> None:
    obj = jsonbody.parse(b'{"a": 100, "b": 100.0, "c": 9223372036854775808, "d": "1"}')
    assert jsonbody.get_int64(obj, "a", "T.a") == 100
    for key in "bcd":
        with pytest.raises(jsonbody.BodyError, match="cannot unmarshal"):
            jsonbody.get_int64(obj, key, f"T.{key}")
    with pytest.raises(jsonbody.BodyError, match=r"number 100\.0"):
        jsonbody.get_int64(obj, "b", "T.b")


@pytest.mark.parametrize(
    ("value", "rendered"), [(1.0, "1"), (0.2, "0.2"), (0.5, "0.5"), (2.5, "2.5"), (-1.0, "-1")]
)
def test_float32_renders_shortest(value: float, rendered: str) -> None:
    f32 = jsonbody.to_float32(value)
    assert jsonbody.dumps(jsonbody.float32_json(f32)).decode() == rendered


@pytest.mark.parametrize(
    ("address", "parts"),
    [("localhost:80", ("localhost", "80")), ("[::1]:9", ("::1", "9")), (":7", ("", "7"))],
)
def test_split_host_port(address: str, parts: tuple[str, str]) -> None:
    assert addresses.split_host_port(address) == parts


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("local373", "address local373: missing port in address"),
        ("::1", "address ::1: too many colons in address"),
    ],
)
def test_split_host_port_errors(address: str, message: str) -> None:
    with pytest.raises(addresses.AddressError, match=message):
        addresses.split_host_port(address)


async def test_resolve_prefers_ipv4_and_defaults_the_host() -> None:
    assert await addresses.canonical("localhost:3310", "127.0.0.1") == "127.0.0.1:3310"
    assert await addresses.canonical("", "127.0.0.1") == "127.0.0.1:0"
    assert await addresses.canonical(":5", "127.0.0.1") == "127.0.0.1:5"
    assert await addresses.canonical("[::1]:5", "127.0.0.1") == "[::1]:5"
    with pytest.raises(addresses.AddressError, match="invalid port"):
        await addresses.canonical("localhost:70000", "127.0.0.1")
