"""Request bodies decoded the way Toxiproxy's Go decoder does, and numbers rendered its way.

What clients depend on: only the first JSON value is read; keys match case-insensitively
(exact match preferred); unknown keys are ignored; ``null`` means "not given"; a type mismatch is
a 400; integer attributes accept only integer literals (``100.0`` is rejected); ``toxicity`` is a
32-bit float rendered in its shortest form (``1``, ``0.2``).
"""

from __future__ import annotations

import json
import struct
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class BodyError(Exception):
    """The body does not decode; the API answers 400 ``bad request body: <message>``."""


class FloatLiteral(float):
    """A JSON number written with a fraction or exponent; keeps its text for error messages."""

    text: str

    def __new__(cls, text: str) -> FloatLiteral:
        value = super().__new__(cls, text)
        value.text = text
        return value


def _reject_constant(name: str) -> Any:
    raise BodyError(f"invalid character '{name[0]}' looking for beginning of value")


_DECODER = json.JSONDecoder(parse_float=FloatLiteral, parse_constant=_reject_constant)


def parse(body: bytes) -> Any:
    """The first JSON value in ``body``; whatever follows it is ignored, like Go's decoder."""
    text = body.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise BodyError("EOF")
    try:
        value, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text):
            raise BodyError("unexpected EOF") from None
        raise BodyError(
            f"invalid character {text[exc.pos]!r} at offset {exc.pos + 1}: {exc.msg}"
        ) from None
    return value


def kind(value: Any) -> str:
    """Go's name for a JSON value's kind, as used in its decode errors."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _number(value: float) -> str:
    return value.text if isinstance(value, FloatLiteral) else str(value)


def as_object(value: Any, go_type: str) -> dict[str, Any]:
    """A JSON object (``null`` counts as an empty one); anything else is a 400."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BodyError(f"json: cannot unmarshal {kind(value)} into Go value of type {go_type}")
    return value


def lookup(obj: dict[str, Any], key: str) -> Any:
    """The value for ``key``: exact match first, else the last case-insensitive match."""
    if key in obj:
        return obj[key]
    found = None
    for name, value in obj.items():
        if name.lower() == key.lower():
            found = value
    return found


def _mismatch(value: Any, field: str, go_type: str) -> BodyError:
    """Go's decode error; a number that does not fit is named by its text (``number 1.5``)."""
    what = f"number {_number(value)}" if kind(value) == "number" else kind(value)
    return BodyError(
        f"json: cannot unmarshal {what} into Go struct field {field} of type {go_type}"
    )


def get_string(obj: dict[str, Any], key: str, field: str) -> str | None:
    value = lookup(obj, key)
    if value is None or isinstance(value, str):
        return value
    raise _mismatch(value, field, "string")


def get_bool(obj: dict[str, Any], key: str, field: str) -> bool | None:
    value = lookup(obj, key)
    if value is None or isinstance(value, bool):
        return value
    raise _mismatch(value, field, "bool")


def get_float32(obj: dict[str, Any], key: str, field: str) -> float | None:
    value = lookup(obj, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _mismatch(value, field, "float32")
    try:
        return to_float32(float(value))
    except (OverflowError, ValueError):
        raise _mismatch(value, field, "float32") from None


def get_int64(obj: dict[str, Any], key: str, field: str) -> int | None:
    value = lookup(obj, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _mismatch(value, field, "int64")
    if isinstance(value, float) or not INT64_MIN <= value <= INT64_MAX:
        raise _mismatch(value, field, "int64")
    return value


def to_float32(value: float) -> float:
    """Round to the nearest 32-bit float, as Toxiproxy stores ``toxicity``."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def float32_json(value: float) -> int | float:
    """The shortest number that reads back as the same 32-bit float: 1 → ``1``, 0.2 → ``0.2``."""
    if value.is_integer() and abs(value) < 1e21:
        return int(value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if to_float32(candidate) == value:
            return candidate
    return value


def dumps(value: Any) -> bytes:
    """Compact JSON, no trailing newline: Toxiproxy's success bodies."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
