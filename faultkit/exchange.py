"""The exchange model: what went over the wire, as immutable values.

Every door (in-process httpx transport, proxy) converts its own request and response types into
these and back, so the engine, formats, faults and oracle never see sockets or httpx types.
Headers are kept as an ordered tuple of pairs because HTTP allows repeated headers
(``set-cookie``) and the order is part of what was recorded.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

Headers = tuple[tuple[str, str], ...]


def header_value(headers: Headers, name: str) -> str | None:
    """First value of header ``name`` (case-insensitive), or None."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


def without_headers(headers: Headers, *names: str) -> Headers:
    """``headers`` minus every header named in ``names`` (case-insensitive)."""
    drop = {n.lower() for n in names}
    return tuple((k, v) for k, v in headers if k.lower() not in drop)


def with_header(headers: Headers, name: str, value: str) -> Headers:
    """``headers`` with ``name`` set to the single value ``value``."""
    return (*without_headers(headers, name), (name, value))


class Request(BaseModel):
    """An HTTP request as the system under test sent it."""

    model_config = ConfigDict(frozen=True, ignored_types=(cached_property,))

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @cached_property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @cached_property
    def json_body(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


class ResponseHead(BaseModel):
    """Status line and headers of a response."""

    model_config = ConfigDict(frozen=True)

    status: int
    reason: str = ""
    headers: Headers = ()

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


class Response(BaseModel):
    """A complete recorded or upstream response: head, body and, for streams, event timing.

    ``event_offsets_ms`` holds, for an SSE body, the time of each event relative to the first
    byte of the response, so replay can reproduce the recorded pacing. ``first_byte_ms`` is the
    recorded time from request to response head.
    """

    model_config = ConfigDict(frozen=True)

    head: ResponseHead
    body: bytes = b""
    first_byte_ms: float | None = None
    event_offsets_ms: tuple[float, ...] | None = None

    @property
    def content_type(self) -> str:
        return (self.head.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def is_sse(self) -> bool:
        return self.content_type == "text/event-stream"
