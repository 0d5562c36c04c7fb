"""Secrets in request and response bodies, whatever their encoding; what a cassette stores.

A body is scrubbed as what it is: JSON (by name and shape, see ``structured``), a form, an SSE
stream (JSON events structurally, any other event as text), or any other bytes as text. A
compressed body (``content-encoding: gzip``, ``deflate``, ``br`` when a brotli module is
installed) is decoded first and stored decoded, with ``content-encoding`` dropped and
``content-length`` made true: vcrpy stores such bodies as ``!!binary`` and the key in them
reaches the disk unscrubbed. faultkit's loader serves a decoded body plainly, and so does
vcrpy, so a client still reads the replay.

A body that cannot be decoded (bytes that are not the gzip its header names, or ``br`` without
a brotli module) cannot be checked, so it is not stored: the recording keeps an empty body and
an ``x-faultkit-scrubbed`` header saying why. A recording that loses its body is visible in the
cassette; a secret that reaches the disk is not.
"""

from __future__ import annotations

import json

from faultkit.exchange import Headers, Request, Response, ResponseHead
from faultkit.formats.codecs import UndecodableBody, decode_body, split_codings
from faultkit.formats.sse import SSEEvent, encode_events, parse_events
from faultkit.scrub.names import secret_field
from faultkit.scrub.structured import scrub_headers, scrub_json, scrub_pairs, scrub_url
from faultkit.scrub.text import scrub_bytes

DROPPED_HEADER = "x-faultkit-scrubbed"


def _content_type(headers: Headers) -> str:
    for k, v in headers:
        if k.lower() == "content-type":
            return v.split(";")[0].strip().lower()
    return ""


def _codings(headers: Headers) -> list[str]:
    codings: list[str] = []
    for name, value in headers:
        if name.lower() == "content-encoding":
            codings.extend(split_codings(value))
    return [c for c in codings if c != "identity"]


def _decoded(body: bytes, headers: Headers) -> tuple[bytes, Headers]:
    """The body with its content codings undone and the headers to match; a body that will
    not decode becomes empty, with ``x-faultkit-scrubbed`` saying why."""
    codings = _codings(headers)
    if not codings:
        return body, headers
    kept = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
    try:
        body, remaining = decode_body(body, codings)
    except UndecodableBody as exc:
        reason = str(exc)
    else:
        if not remaining:
            return body, _with_length(tuple(kept), len(body))
        reason = f"content-encoding {', '.join(remaining)} cannot be decoded here"
        if "br" in remaining:
            reason += " (install brotli)"
    note = f"body not stored: {reason}, so it could not be checked for secrets"
    return b"", _with_length((*kept, (DROPPED_HEADER, note)), 0)


def _with_length(headers: Headers, length: int) -> Headers:
    """``content-length`` (if the headers have one) made true for a body of ``length``."""
    text = str(length)
    return tuple((k, text if k.lower() == "content-length" else v) for k, v in headers)


def scrub_body(body: bytes, headers: Headers) -> bytes:
    """Scrub a plain (not content-encoded) body by what its content type says it is."""
    if not body:
        return body
    ctype = _content_type(headers)
    if ctype == "text/event-stream":
        return _scrub_sse(body)
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return scrub_bytes(body)
        return scrub_pairs(text, secret_field).encode("utf-8")
    if body.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return scrub_bytes(body)
        new, changed = scrub_json(data)
        if not changed:
            return body
        return json.dumps(new, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return scrub_bytes(body)


def _scrub_sse(body: bytes) -> bytes:
    """Event by event, so the recording keeps its event count (and its timing)."""
    changed = False
    out: list[SSEEvent] = []
    for event in parse_events(body):
        payload = event.json()
        if payload is not None:
            new, sub_changed = scrub_json(payload)
            if sub_changed:
                event = event.with_json(new)
                changed = True
        raw = event.encode()
        scrubbed = scrub_bytes(raw)  # non-JSON data, comments, ids, event names
        if scrubbed is not raw:
            event = SSEEvent(raw=scrubbed)
            changed = True
        out.append(event)
    return encode_events(out) if changed else body


def _scrubbed(body: bytes, headers: Headers) -> tuple[bytes, Headers]:
    plain, headers = _decoded(body, headers)
    new = scrub_body(plain, headers)
    if new is not plain:
        headers = _with_length(headers, len(new))
    return new, scrub_headers(headers)


def scrub_request(request: Request) -> Request:
    url = scrub_url(request.url)
    body, headers = _scrubbed(request.body, request.headers)
    if url is request.url and headers is request.headers and body is request.body:
        return request
    # A new model, not model_copy: copies would carry the original's cached ``json_body``.
    return Request(method=request.method, url=url, headers=headers, body=body)


def scrub_response(response: Response) -> Response:
    head = response.head
    body, headers = _scrubbed(response.body, head.headers)
    if headers is head.headers and body is response.body:
        return response
    return Response(
        head=ResponseHead(status=head.status, reason=head.reason, headers=headers),
        body=body,
        first_byte_ms=response.first_byte_ms,
        event_offsets_ms=response.event_offsets_ms,
    )
