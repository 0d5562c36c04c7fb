"""Forwarding to the real upstream (record and passthrough modes), streamed and pooled.

One ``httpx.AsyncClient`` serves every door, so connections to each upstream are kept alive
and reused across requests. The response is handed over as it arrives (``aiter_raw``): the
proxy writes each chunk to its client at once, so an SSE stream passes through unbuffered,
while :class:`Capture` notes when each chunk arrived to time the recording's events.

The request goes up as the client sent it, minus hop-by-hop headers and with
``accept-encoding: identity``: an uncompressed answer can be timed per event, edited by faults
and stored readably, and it costs nothing on loopback or in a test.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from faultkit.doors.timeline import event_offsets_ms
from faultkit.exchange import Request, Response, ResponseHead, without_headers
from faultkit.plan import FRAMING_HEADERS

HOP_BY_HOP = (
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
    "accept-encoding",
    "expect",
)


class UpstreamError(Exception):
    """The upstream could not be reached or broke off; answered to the client as a 502."""


@dataclass
class Capture:
    """A live response as it streams through: head, bytes and when each chunk arrived."""

    head: ResponseHead
    started: float  # monotonic time the request was sent
    head_ms: float
    chunks: list[bytes] = field(default_factory=list)
    marks: list[tuple[int, float]] = field(default_factory=list)
    size: int = 0
    complete: bool = False

    def add(self, chunk: bytes) -> None:
        if chunk:
            self.chunks.append(chunk)
            self.size += len(chunk)
            self.marks.append((self.size, (time.monotonic() - self.started) * 1000))

    @property
    def client_head(self) -> ResponseHead:
        """The head as the door sends it: the door frames the body itself."""
        return self.head.model_copy(
            update={"headers": without_headers(self.head.headers, *FRAMING_HEADERS)}
        )

    def response(self, *, timed: bool = True) -> Response:
        """The captured response, with SSE event timing unless ``timed`` is False (a response
        buffered before faults were applied has already made the client wait once)."""
        body = b"".join(self.chunks)
        response = Response(head=self.head, body=body, first_byte_ms=round(self.head_ms, 3))
        encoding = (self.head.header("content-encoding") or "identity").strip().lower()
        if timed and response.is_sse and encoding == "identity":
            offsets = event_offsets_ms(body, self.marks, self.head_ms)
            response = response.model_copy(update={"event_offsets_ms": offsets})
        return response


class Upstreams:
    """The pooled client every door forwards through."""

    def __init__(self, *, connect_timeout_s: float = 10.0, read_timeout_s: float = 600.0) -> None:
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
            trust_env=False,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def open(self, request: Request) -> tuple[Capture, httpx.Response]:
        """Send ``request`` (its ``url`` is the real upstream URL) and return once the head
        has arrived. The caller reads the body with :func:`stream` and must close it."""
        headers = [*without_headers(request.headers, *HOP_BY_HOP), ("accept-encoding", "identity")]
        upstream_request = self.client.build_request(
            request.method, request.url, headers=headers, content=request.body
        )
        started = time.monotonic()
        try:
            response = await self.client.send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{type(exc).__name__}: {exc or 'no detail'}") from exc
        head = ResponseHead(
            status=response.status_code,
            reason=response.reason_phrase,
            headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw
            ),
        )
        capture = Capture(head=head, started=started, head_ms=(time.monotonic() - started) * 1000)
        return capture, response

    @staticmethod
    async def stream(capture: Capture, response: httpx.Response) -> AsyncIterator[bytes]:
        """The body chunks as they arrive, each noted in ``capture``."""
        try:
            async for chunk in response.aiter_raw():
                capture.add(chunk)
                yield chunk
            capture.complete = True
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{type(exc).__name__}: {exc or 'no detail'}") from exc
        finally:
            await response.aclose()

    async def fetch(self, request: Request) -> Capture:
        """The whole response (for a request a fault will edit)."""
        capture, response = await self.open(request)
        async for _ in self.stream(capture, response):
            pass
        return capture
