"""Reading cassette files: vcrpy YAML/JSON (version 1) and the dialects found in the wild.

Supported, as found in real recordings (see ``tests/cassettes``):

- vcrpy ``body: {string: ...}`` responses, text or ``!!binary``; gzip/deflate (and br when a
  brotli module is installed) bodies are decoded and ``content-encoding`` is dropped;
- request ``body`` as text, ``!!binary``, null, or an old iterator / ``BytesIO`` body;
- pydantic-ai's ``parsed_body`` (request and response), serialized back to compact JSON bytes;
- pydantic-ai's ``body: {type: json, content: ...}`` with a bare-integer ``status``;
- the old httpx layout (``status_code``, ``content`` already decoded);
- vcrpy's JSON serializer (``.json`` files).

faultkit keeps per-event SSE timing under an interaction-level ``faultkit:`` key that vcrpy
ignores. Every problem is a ``CassetteError`` that names the file and, where it can, the line,
the interaction and the field. A corrupt file is never read as an empty one: vcrpy 9 treats an
empty file as missing and silently re-records it, which is how a CI run ends up on the network.
vcrpy writes ``version: 1`` last, so a file cut anywhere lacks it and is refused; a layout that
puts ``version`` first (pydantic-ai's second one) can only be checked field by field.
"""

from __future__ import annotations

import json
import math
from http import HTTPStatus
from pathlib import Path
from typing import Any

import yaml

from faultkit import yamlfile
from faultkit.cassettes._yaml import compose_yaml, fast_load_yaml
from faultkit.cassettes.model import Cassette, Interaction, source_of
from faultkit.errors import CassetteError
from faultkit.exchange import Headers, Request, Response, ResponseHead
from faultkit.formats.codecs import UndecodableBody, decode_body, split_codings

SUPPORTED_VERSION = 1


class _FieldError(Exception):
    """A malformed field inside interaction ``index``; located and formatted by the caller."""

    def __init__(self, fields: tuple[str, ...], message: str) -> None:
        self.fields = fields
        self.message = message
        super().__init__(message)


def load_cassette(path: str | Path) -> Cassette:
    """Load one cassette file. Missing, empty or corrupt files raise ``CassetteError``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CassetteError(f"{path}: cassette file not found") from None
    except IsADirectoryError:
        raise CassetteError(f"{path}: is a directory, not a cassette file") from None
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read cassette ({exc.strerror})") from None
    return parse_cassette(raw, path)


def parse_cassette(raw: bytes, path: str | Path) -> Cassette:
    """Parse cassette bytes; ``path`` is used for messages and ``source`` names only."""
    path = Path(path)
    if not raw.strip():
        raise CassetteError(
            f"{path}: cassette file is empty (a cassette has at least 'interactions' and"
            " 'version: 1'; an interrupted write can leave an empty file: re-record it)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CassetteError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start});"
            " the file is corrupt or not a cassette"
        ) from None
    text = text.removeprefix("\ufeff")
    is_json = path.suffix.lower() == ".json"
    data = _parse_json(text, path) if is_json else _parse_yaml(text, path)
    interactions_data = _check_top(data, path)
    interactions: list[Interaction] = []
    for index, item in enumerate(interactions_data):
        try:
            interactions.append(_interaction(item, index, path))
        except _FieldError as exc:
            raise _located(exc, index, path, None if is_json else text) from None
    return Cassette(path=path, interactions=interactions)


# -- document level -----------------------------------------------------------------------------
def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CassetteError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno});"
            " the file may be truncated"
        ) from None


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        return fast_load_yaml(text)
    except yamlfile.YamlRefused as exc:
        raise CassetteError(f"{path}:{exc.line}: not a valid cassette: {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and "could not determine a constructor" in exc.problem:
            problem = (
                f"{exc.problem}; faultkit (like vcrpy's safe loader) only reads the tags"
                " !!binary, !!python/str, !!python/unicode, !!python/tuple"
            )
        raise CassetteError(f"{where}: not a valid cassette: {problem}") from None
    except yaml.YAMLError as exc:
        raise CassetteError(f"{path}: not a valid cassette: {exc}") from None


def _check_top(data: Any, path: Path) -> list[Any]:
    if isinstance(data, list):
        raise CassetteError(
            f"{path}: top level is a list: this is a pre-1.0 vcrpy cassette; re-record it or run"
            " vcrpy's migration script"
        )
    if not isinstance(data, dict):
        raise CassetteError(
            f"{path}: not a cassette (top level is {type(data).__name__}, expected a mapping with"
            " 'interactions' and 'version')"
        )
    if "version" not in data:
        raise CassetteError(
            f"{path}: no 'version' key; vcrpy writes 'version: 1' in every cassette (after"
            " 'interactions'), so the file is probably truncated"
        )
    if data["version"] != SUPPORTED_VERSION:
        raise CassetteError(
            f"{path}: unsupported cassette version {data['version']!r} (faultkit reads vcrpy"
            f" format version {SUPPORTED_VERSION})"
        )
    interactions = data.get("interactions")
    if interactions is None:
        raise CassetteError(f"{path}: no 'interactions' list")
    if not isinstance(interactions, list):
        raise CassetteError(
            f"{path}: 'interactions' must be a list, got {type(interactions).__name__}"
        )
    return interactions


def _located(exc: _FieldError, index: int, path: Path, text: str | None) -> CassetteError:
    field = ".".join(exc.fields) or "(interaction)"
    line = _find_line(text, index, exc.fields) if text is not None else None
    where = f"{path}:{line}" if line is not None else str(path)
    return CassetteError(f"{where}: interaction {index}: {field}: {exc.message}")


def _find_line(text: str, index: int, fields: tuple[str, ...]) -> int | None:
    """Line of the deepest existing node on ``interactions[index].<fields>``; error path only."""
    try:
        node = compose_yaml(text)
    except yaml.YAMLError:
        return None
    node = _child(node, "interactions")
    if not isinstance(node, yaml.SequenceNode) or index >= len(node.value):
        return None
    node = node.value[index]
    for name in fields:
        child = _child(node, name)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


# -- interaction level --------------------------------------------------------------------------
def _interaction(item: Any, index: int, path: Path) -> Interaction:
    if not isinstance(item, dict):
        raise _FieldError((), f"expected a mapping with 'request' and 'response', got {item!r:.60}")
    for part in ("request", "response"):
        if not isinstance(item.get(part), dict):
            raise _FieldError((part,), "missing, or not a mapping")
    first_byte_ms, offsets = _timing(item.get("faultkit"))
    request = _request(item["request"])
    head, body = _response(item["response"])
    response = Response(head=head, body=body, first_byte_ms=first_byte_ms, event_offsets_ms=offsets)
    return Interaction(
        request=request, response=response, index=index, source=source_of(path, index)
    )


def _request(rq: dict[str, Any]) -> Request:
    method = rq.get("method")
    if not isinstance(method, str) or not method:
        raise _FieldError(("request", "method"), "missing or not a string")
    uri = rq.get("uri", rq.get("url"))
    if not isinstance(uri, str) or not uri:
        raise _FieldError(("request", "uri"), "missing or not a string")
    headers = _headers(rq.get("headers"), "request")
    if "parsed_body" in rq:
        body = _json_bytes(rq["parsed_body"], ("request", "parsed_body"))
    else:
        body = _request_body(rq.get("body"))
    return Request(method=method.upper(), url=uri, headers=headers, body=body)


def _request_body(body: Any) -> bytes:
    fields = ("request", "body")
    if body is None:
        return b""
    if isinstance(body, dict):
        if "type" in body:
            return _typed_body(body, fields)
        if "string" in body:
            return _bytes(body["string"], (*fields, "string"))
        raise _FieldError(fields, "a mapping body needs 'type' and 'content', or 'string'")
    if isinstance(body, list):  # an old iterator body: a list of chunks
        return b"".join(_bytes(chunk, fields) for chunk in body)
    return _bytes(body, fields)


def _response(rs: dict[str, Any]) -> tuple[ResponseHead, bytes]:
    headers = _headers(rs.get("headers"), "response")
    plain = False  # body is stored decoded even if the headers still name a content-encoding
    if "status_code" in rs and "status" not in rs:  # httpx cassettes from vcrpy < 6
        status, reason = _status_code(rs["status_code"], ("response", "status_code")), ""
        body = _bytes(rs.get("content"), ("response", "content"))
        plain = True
    else:
        status, reason = _status(rs.get("status"))
        if "parsed_body" in rs:
            body = _json_bytes(rs["parsed_body"], ("response", "parsed_body"))
            plain = True
        else:
            body, plain = _response_body(rs.get("body"))
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    headers, body = _decoded(headers, body, plain)
    if body:
        headers = _fixed_length(headers, len(body))
    return ResponseHead(status=status, reason=reason, headers=headers), body


def _response_body(body: Any) -> tuple[bytes, bool]:
    fields = ("response", "body")
    if body is None:
        return b"", False
    if isinstance(body, dict):
        if "string" in body:
            return _bytes(body["string"], (*fields, "string")), False
        if "type" in body:
            return _typed_body(body, fields), body.get("type") == "json"
        raise _FieldError(fields, "expected 'string', or 'type' and 'content'")
    return _bytes(body, fields), False


def _decoded(headers: Headers, body: bytes, plain: bool) -> tuple[Headers, bytes]:
    """Decode a compressed body, dropping the codings undone from ``content-encoding``."""
    codings: list[str] = []
    for name, value in headers:
        if name.lower() == "content-encoding":
            codings.extend(split_codings(value))
    if not codings:
        return headers, body
    if plain or not body:
        remaining: list[str] = []
    else:
        try:
            body, remaining = decode_body(body, codings)
        except UndecodableBody as exc:
            raise _FieldError(
                ("response", "body"), f"{exc}, but the headers say content-encoding {codings}"
            ) from None
        if remaining == codings:
            return headers, body
    kept = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
    if remaining:
        kept.append(("content-encoding", ", ".join(remaining)))
    return tuple(kept), body


def _fixed_length(headers: Headers, length: int) -> Headers:
    """``content-length`` made true for the body we hold.

    pydantic-ai re-serializes JSON bodies and some projects edit recorded bodies, so the recorded
    length is often stale; a replayed response whose length lies makes clients hang or truncate.
    """
    text = str(length)
    if all(k.lower() != "content-length" or v == text for k, v in headers):
        return headers
    return tuple((k, text if k.lower() == "content-length" else v) for k, v in headers)


def _typed_body(body: dict[str, Any], fields: tuple[str, ...]) -> bytes:
    kind = body.get("type")
    content = body.get("content")
    if kind == "json":
        return _json_bytes(content, (*fields, "content"))
    if kind in ("text", "string", "binary", "bytes"):
        return _bytes(content, (*fields, "content"))
    raise _FieldError((*fields, "type"), f"unknown body type {kind!r} (expected json or text)")


def _status(status: Any) -> tuple[int, str]:
    fields = ("response", "status")
    if isinstance(status, dict):
        reason = status.get("message")
        code = _status_code(status.get("code"), (*fields, "code"))
        return code, reason if isinstance(reason, str) else ""
    if status is None:
        raise _FieldError(fields, "missing (expected {code, message} or an integer)")
    return _status_code(status, fields), ""


def _status_code(code: Any, fields: tuple[str, ...]) -> int:
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 999:
        raise _FieldError(fields, f"expected an HTTP status code, got {code!r}")
    return code


def _headers(raw: Any, part: str) -> Headers:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise _FieldError((part, "headers"), "expected a mapping of name -> list of values")
    out: list[tuple[str, str]] = []
    for name, values in raw.items():
        fields = (part, "headers", str(name))
        if isinstance(values, list | tuple):
            out.extend((str(name), _header_text(v, fields)) for v in values)
        else:
            out.append((str(name), _header_text(values, fields)))
    return tuple(out)


def _header_text(value: Any, fields: tuple[str, ...]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise _FieldError(fields, f"header value must be text, got {type(value).__name__}")


def _bytes(value: Any, fields: tuple[str, ...]) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, possible in a JSON cassette
            return value.encode("utf-8", "surrogatepass")
    raise _FieldError(fields, f"expected text or !!binary, got {type(value).__name__}")


def _json_bytes(value: Any, fields: tuple[str, ...]) -> bytes:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise _FieldError(fields, f"not JSON-serializable ({exc})") from None


def _timing(raw: Any) -> tuple[float | None, tuple[float, ...] | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise _FieldError(("faultkit",), "expected a mapping with first_byte_ms/event_offsets_ms")
    first = raw.get("first_byte_ms")
    if first is not None and not _is_number(first):
        raise _FieldError(
            ("faultkit", "first_byte_ms"), f"expected a time in ms (a number >= 0), got {first!r}"
        )
    offsets = raw.get("event_offsets_ms")
    if offsets is not None:
        if not isinstance(offsets, list) or not all(_is_number(x) for x in offsets):
            raise _FieldError(
                ("faultkit", "event_offsets_ms"), "expected a list of times in ms (numbers >= 0)"
            )
        offsets = tuple(float(x) for x in offsets)
    return (float(first) if first is not None else None), offsets


def _is_number(value: Any) -> bool:
    """A finite, non-negative time in ms."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
