"""The ledger: one entry per request through any door, the evidence every verdict rests on.

An entry says which route and logical call a request belonged to and which attempt it was, which
recording answered it, which faults were applied with their parameters and the values they
removed or altered, when it arrived, when the first byte and the end went out, and how it ended.
Doors fill in timings; the engine fills in everything else. Thread-safe, because the in-process
door serves sync clients from many threads and the proxy serves many connections.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from faultkit.faults.base import Alteration

Ending = Literal["completed", "reset", "timeout", "client_closed", "unmatched", "error", "pending"]


class AppliedFault(BaseModel):
    rule: str
    type: str
    params: dict[str, Any]
    alterations: list[Alteration] = Field(default_factory=list)


class SkippedFault(BaseModel):
    rule: str
    type: str
    reason: str


@dataclass(slots=True, kw_only=True)
class LedgerEntry:
    """One exchange. A plain dataclass, read and written by pydantic (:meth:`model_validate`,
    :meth:`model_dump`, and as a field of pydantic models): the proxy opens one per request
    and updates it as the answer goes out, and a validated model's ``__init__`` and
    ``__setattr__`` cost more per request than the rest of the ledger (callgrind)."""

    id: int
    route: str
    method: str
    url: str
    format: str
    model: str | None = None
    tool: str | None = None
    body_hash: str = ""
    logical_call: int
    attempt: int
    recording: str | None = None
    faults: list[AppliedFault] = field(default_factory=list)
    skipped: list[SkippedFault] = field(default_factory=list)
    status: int | None = None
    retry_after_ms: float | None = None
    arrival_ms: float
    first_byte_ms: float | None = None
    end_ms: float | None = None
    bytes_sent: int = 0
    ending: Ending = "pending"
    error: str | None = None

    @property
    def faulted(self) -> bool:
        return bool(self.faults)

    @classmethod
    def model_validate(cls, data: Any) -> LedgerEntry:
        """An entry from its JSON form (``GET /faultkit/ledger``), validated."""
        return _ENTRY.validate_python(data)

    def model_dump(self, *, mode: Literal["json", "python"] = "python") -> dict[str, Any]:
        return _ENTRY.dump_python(self, mode=mode)


_ENTRY = TypeAdapter(LedgerEntry)
_FAILED_ENDINGS = frozenset({"reset", "timeout", "error", "unmatched"})


def _failed(entry: LedgerEntry) -> bool:
    """Did this exchange fail in a way a client would retry? Pending ones have not."""
    if entry.ending == "pending":
        return False
    return entry.ending in _FAILED_ENDINGS or (entry.status is not None and entry.status >= 400)


class Ledger:
    """Append-only list of entries, with logical-call and attempt bookkeeping per route.

    A retry re-sends the identical request. It is recognised by the SDKs'
    ``x-stainless-retry-count`` header when present, else by the same request arriving again on
    the same route after the previous copy failed (an error status, a reset, a timeout). The
    same request after a success, or while the previous copy is still being answered, is a new
    logical call: under load many users send identical requests, and none of them is a retry.

    ``max_entries`` bounds a long-running ledger (a proxy under load): past it the oldest entry
    is dropped as a new one arrives, and :attr:`dropped` counts them. Ids keep counting, so an
    id always names the same exchange. None (the default) keeps every entry.
    """

    def __init__(self, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError("max_entries must be at least 1 (or None for no limit)")
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: deque[LedgerEntry] = deque()
        self._dropped = 0
        # (route, request hash) -> the latest entry for that exact request
        self._by_digest: dict[tuple[str, str], LedgerEntry] = {}
        self._logical: dict[str, int] = {}

    def open(
        self,
        *,
        route: str,
        method: str,
        url: str,
        fmt: str,
        model: str | None,
        body: bytes,
        tool: str | None = None,
        retry_count: str | None,
        arrival_ms: float,
    ) -> LedgerEntry:
        digest = hashlib.blake2b(method.encode() + url.encode() + body, digest_size=12).hexdigest()
        with self._lock:
            previous = self._by_digest.get((route, digest))
            explicit = retry_count is not None and retry_count.isdigit()
            if previous is not None and (
                (explicit and int(retry_count) > 0)  # type: ignore[arg-type]
                or (not explicit and _failed(previous))
            ):
                logical = previous.logical_call
                attempt = int(retry_count) + 1 if explicit else previous.attempt + 1  # type: ignore[arg-type]
            else:
                logical = self._logical.get(route, 0) + 1
                self._logical[route] = logical
                attempt = 1
            entry = LedgerEntry(
                id=self._dropped + len(self._entries) + 1,
                route=route,
                method=method,
                url=url,
                format=fmt,
                model=model,
                tool=tool,
                body_hash=digest,
                logical_call=logical,
                attempt=attempt,
                arrival_ms=arrival_ms,
            )
            self._entries.append(entry)
            self._by_digest[(route, digest)] = entry
            if self.max_entries is not None and len(self._entries) > self.max_entries:
                self._drop_oldest()
            return entry

    def _drop_oldest(self) -> None:
        old = self._entries.popleft()
        self._dropped += 1
        key = (old.route, old.body_hash)
        if self._by_digest.get(key) is old:
            del self._by_digest[key]

    def _index(self, entry_id: int) -> int:
        """Position of ``entry_id`` in the deque; IndexError when dropped or unknown."""
        index = entry_id - 1 - self._dropped
        if index < 0 or index >= len(self._entries):
            raise IndexError(f"ledger entry {entry_id} is not (or no longer) in the ledger")
        return index

    def finish(
        self,
        entry_id: int,
        *,
        ending: Ending,
        end_ms: float,
        first_byte_ms: float | None = None,
        bytes_sent: int | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            index = entry_id - 1 - self._dropped
            if index < 0:
                return  # dropped from a bounded ledger while it was being answered
            entry = self._entries[index]
            entry.ending = ending
            entry.end_ms = end_ms
            if first_byte_ms is not None:
                entry.first_byte_ms = first_byte_ms
            if bytes_sent is not None:
                entry.bytes_sent = bytes_sent
            if error is not None:
                entry.error = error

    @property
    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._entries)

    def get(self, entry_id: int) -> LedgerEntry:
        with self._lock:
            return self._entries[self._index(entry_id)]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def dropped(self) -> int:
        """Entries dropped to stay within ``max_entries`` (the oldest first)."""
        return self._dropped

    def faults_applied(self) -> list[tuple[LedgerEntry, AppliedFault]]:
        return [(e, f) for e in self.entries for f in e.faults]

    def to_json(self) -> list[dict[str, Any]]:
        return [e.model_dump(mode="json") for e in self.entries]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._dropped = 0
            self._by_digest.clear()
            self._logical.clear()
