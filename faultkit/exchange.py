"""The exchange model: what went over the wire, as immutable values.

Every door (in-process httpx transport, proxy) converts its own request and response types into
these and back, so the engine, formats, faults and oracle never see sockets or httpx types.
Headers are kept as an ordered tuple of pairs because HTTP allows repeated headers
(``set-cookie``) and the order is part of what was recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

Headers = tuple[tuple[str, str], ...]

T = TypeVar("T")


class cached(Generic[T]):
    """A property computed once per instance and kept in its ``__dict__``.

    ``functools.cached_property`` takes a lock on every first access before Python 3.12,
    which cost more than the values it computes here (a request's path, once per request
    through the proxy); nothing computes these from two threads at once that would mind
    computing them twice.
    """

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> T:
        if instance is None:
            return self  # type: ignore[return-value]
        value = instance.__dict__[self.name] = self.function(instance)
        return value


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

    model_config = ConfigDict(frozen=True, ignored_types=(cached,))

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""

    @classmethod
    def from_door(
        cls, method: str, url: str, headers: Headers, body: bytes, index: dict[str, str]
    ) -> Request:
        """A request from values a door's HTTP parser has already typed (``str`` method and
        URL, a tuple of ``(str, str)`` pairs, ``bytes``), with its :attr:`header_index`
        (lowercased name -> first value) built in the door's own pass over the headers.
        Nothing to validate, so none is done: pydantic's validation of the header pairs was a
        twentieth of a proxied request's CPU (``model_construct`` costs more than validating).
        The instance is what validation would have made, field for field."""
        request = _new(cls)
        _set(
            request,
            "__dict__",
            {"method": method, "url": url, "headers": headers, "body": body, "header_index": index},
        )
        _set(request, "__pydantic_fields_set__", set(_REQUEST_FIELDS))
        _set(request, "__pydantic_extra__", None)
        _set(request, "__pydantic_private__", None)
        return request

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Request:
        """A copy; with ``update``, without the values computed from the old fields (the
        :class:`cached` ones live in the instance's ``__dict__``, which pydantic copies)."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            for name in _CACHED_NAMES:
                copy.__dict__.pop(name, None)
        return copy

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive)."""
        return self.header_index.get(name.lower())

    @cached
    def header_index(self) -> dict[str, str]:
        """Lowercased name -> first value, built once: the engine and the ledger ask a request
        for several headers (retry count, idempotency keys), and each scan lowercased every
        name again (a measurable share of a pass-through request's CPU)."""
        index: dict[str, str] = {}
        for key, value in self.headers:
            index.setdefault(key.lower(), value)
        return index

    @cached
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @cached
    def json_body(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


_new = object.__new__
_set = object.__setattr__
_REQUEST_FIELDS = frozenset(Request.model_fields)
_CACHED_NAMES = tuple(n for n, v in vars(Request).items() if isinstance(v, cached))


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
