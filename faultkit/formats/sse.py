"""Server-sent events: split a body into events and write them back, byte-faithfully.

Faults work at the event level (insert between events, edit a ``data:`` payload) so the framing
they emit stays valid unless breaking it is the point. ``SSEEvent.raw`` keeps the original bytes
of an event so an unedited event is replayed exactly as recorded (field order, comments,
``\\r\\n`` line ends and all).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class SSEEvent(BaseModel):
    """One server-sent event: its fields, plus the exact bytes it was recorded as."""

    model_config = ConfigDict(frozen=True)

    event: str | None = None
    data: str | None = None
    id: str | None = None
    retry: int | None = None
    comments: tuple[str, ...] = ()
    raw: bytes | None = None

    def encode(self) -> bytes:
        """Wire bytes of this event, including the blank line that ends it."""
        if self.raw is not None:
            return self.raw
        lines: list[str] = [f":{c}" if c.startswith(" ") else f": {c}" for c in self.comments]
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        if self.data is not None:
            lines.extend(f"data: {part}" for part in self.data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()

    def json(self) -> Any:
        """The ``data`` payload parsed as JSON, or None (``[DONE]``, empty, not JSON)."""
        if not self.data:
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            return None

    def with_json(self, payload: Any) -> SSEEvent:
        """A copy whose data is ``payload`` as compact JSON; the raw bytes are re-encoded."""
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        return self.model_copy(update={"data": data, "raw": None})

    @property
    def is_done_sentinel(self) -> bool:
        return self.data is not None and self.data.strip() == "[DONE]"


def _complete_blocks(body: bytes, i: int = 0) -> tuple[list[bytes], int]:
    """The event blocks of ``body`` that end in a blank line (each keeping it), scanning for
    ends from ``i``, and where the unterminated rest starts."""
    blocks: list[bytes] = []
    start = 0
    n = len(body)
    while i < n:
        # An event ends at a blank line: \n\n, \r\n\r\n or \r\r. A match here is a match
        # in any longer body with this prefix, so a stream can be split as it arrives.
        if body.startswith(b"\r\n\r\n", i):
            end = i + 4
        elif body.startswith(b"\n\n", i) or body.startswith(b"\r\r", i):
            end = i + 2
        else:
            i += 1
            continue
        blocks.append(body[start:end])
        start = i = end
    return blocks, start


def _split_blocks(body: bytes) -> list[bytes]:
    """Split ``body`` into event blocks, each keeping its trailing blank line."""
    blocks, start = _complete_blocks(body)
    if start < len(body):
        blocks.append(body[start:])
    return blocks


class SSEParser:
    """Events out of a stream that arrives in chunks, each as soon as its blank line has:
    the same events :func:`parse_events` finds in the whole body, however it was chunked."""

    def __init__(self) -> None:
        self._buffer = b""
        self._scanned = 0  # where the search for the next blank line resumes

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        # A blank line may straddle chunks: rescan the last three bytes already seen.
        blocks, start = _complete_blocks(self._buffer, max(0, self._scanned - 3))
        self._buffer = self._buffer[start:]
        self._scanned = len(self._buffer)
        return [parse_event(block) for block in blocks if block.strip()]

    def flush(self) -> list[SSEEvent]:
        """The stream ended: an unterminated last block is kept as-is, as in a recording."""
        rest, self._buffer, self._scanned = self._buffer, b"", 0
        return [parse_event(rest)] if rest.strip() else []


def parse_event(block: bytes) -> SSEEvent:
    """Parse one event block (per the WHATWG EventSource rules)."""
    event = ident = None
    retry: int | None = None
    data_lines: list[str] = []
    comments: list[str] = []
    text = block.decode("utf-8", errors="replace")
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            continue
        if line.startswith(":"):
            comments.append(line[1:])
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data_lines.append(value)
        elif field == "event":
            event = value
        elif field == "id":
            ident = value
        elif field == "retry" and value.isdigit():
            retry = int(value)
    return SSEEvent(
        event=event,
        data="\n".join(data_lines) if data_lines else None,
        id=ident,
        retry=retry,
        comments=tuple(comments),
        raw=block,
    )


def parse_events(body: bytes) -> list[SSEEvent]:
    """Every event in an SSE body, in order. A trailing unterminated block is kept as-is."""
    return [parse_event(block) for block in _split_blocks(body) if block.strip()]


def encode_events(events: list[SSEEvent]) -> bytes:
    return b"".join(e.encode() for e in events)
