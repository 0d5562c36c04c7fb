"""The cassette store: loaded once, indexed by match key, replayed in recorded order.

Every recording is filed under the hash of its match key (see ``keys``). A request computes its
key once and takes the next unplayed recording under that key: O(1) on average, however many
recordings are loaded, where vcrpy scans the whole cassette with every matcher per request.

Recordings that share a key play in recorded order (FIFO), as vcrpy plays them. ``playback``
says what happens once all of them were played:

- ``once`` (vcrpy's default): the request is unmatched, and the error says they were played;
- ``repeat``: keep answering with the last one (vcrpy's ``allow_playback_repeats``, roughly);
- ``cycle``: start over from the first.

The store is thread-safe: the in-process door may be called from several threads at once.
The costly "closest recordings" search runs only when a request is unmatched.
"""

from __future__ import annotations

import difflib
import heapq
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from faultkit.cassettes.keys import KeyFunction, MatchKey, canonical_body
from faultkit.cassettes.load import load_cassette
from faultkit.cassettes.model import Cassette, Interaction, source_of
from faultkit.cassettes.write import write_cassette
from faultkit.errors import CassetteError, UnmatchedRequest
from faultkit.exchange import Request, Response

Playback = Literal["once", "repeat", "cycle"]
PLAYBACKS: tuple[str, ...] = ("once", "repeat", "cycle")

# Matching defaults, declared once, two of them for two jobs:
# a test's own cassette (the pytest marker, FaultkitSession, a bare store) replays as vcrpy
# does: method and URI, each recording once, so a test sees exactly what it recorded;
TEST_MATCH_ON: tuple[str, ...] = ("method", "uri")
TEST_PLAYBACK: Playback = "once"
# an app under chaos (faultkit run's cases file, the proxy, faultkit load) sends several calls
# to one URL, so the body picks the recording, and a retry (the same request again) must get
# its answer again.
APP_MATCH_ON: tuple[str, ...] = ("method", "uri", "body")
APP_PLAYBACK: Playback = "repeat"
CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")
# Where a tool's answer travels back to the model in the next provider request: a tool
# message's ``content`` (Chat Completions; an Anthropic ``tool_result``), a Responses
# ``function_call_output``'s ``output``, a Gemini ``functionResponse``'s ``response``. A fault
# that changed a tool's answer changes these in every request after it, so the engine may match
# such a request with them left out (:meth:`CassetteStore.match_ignoring`), and says so.
TOOL_RESULT_FIELDS: tuple[str, ...] = ("content", "output", "response")


def cassette_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named in ``paths``; directories are searched (recursively) for cassettes."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in CASSETTE_SUFFIXES
                and p.is_file()
                and not p.name.startswith(".")
            )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise CassetteError(f"{path}: cassette file or directory not found")
    return files


COMPARED_URL_CHARS = 512  # of a URL, compared when naming the closest recordings


class _Slot:
    """Recordings (positions in the store) sharing one key, and the next one to play."""

    __slots__ = ("next", "positions")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.next = 0


class CassetteStore:
    """Replays recorded interactions for requests; the engine's ``Source``."""

    def __init__(
        self,
        paths: Iterable[str | Path] = (),
        *,
        match_on: Sequence[str] = TEST_MATCH_ON,
        playback: Playback = TEST_PLAYBACK,
        ignore_body_fields: Iterable[str] = (),
        record_to: str | Path | None = None,
        rerecord: bool = False,
    ) -> None:
        """Load every cassette in ``paths`` (files, or directories searched for cassettes).

        ``record_to`` names the file that ``record``/``save`` write (for the record modes of a
        door): loaded if it exists (unless ``rerecord``, which starts it empty so ``save``
        replaces it), an empty cassette if not. It may also appear in ``paths``.
        """
        if playback not in PLAYBACKS:
            raise CassetteError(
                f"unknown playback {playback!r} (use one of {', '.join(PLAYBACKS)})"
            )
        self.playback = playback
        self.key = KeyFunction(match_on, ignore_body_fields)
        self.cassettes: list[Cassette] = []
        self.target: Cassette | None = None
        self._interactions: list[Interaction] = []
        self._keys: list[MatchKey] = []
        self._plays: list[int] = []
        self._index: dict[MatchKey, _Slot] = {}
        self._lock = threading.Lock()
        self._dirty = False
        target = Path(record_to) if record_to is not None else None
        paths = list(paths)
        resolved = target.resolve() if target is not None else None
        if resolved is not None:
            paths = [p for p in paths if Path(p).resolve() != resolved]
        for path in cassette_files(paths):
            if resolved is None or path.resolve() != resolved:
                self.add_cassette(load_cassette(path))
        if target is not None:
            exists = target.exists() and not rerecord
            self.target = load_cassette(target) if exists else Cassette(path=target)
            self.add_cassette(self.target)

    @classmethod
    def for_recording(
        cls,
        path: str | Path,
        *,
        also: Iterable[str | Path] = (),
        match_on: Sequence[str] = TEST_MATCH_ON,
        playback: Playback = TEST_PLAYBACK,
        ignore_body_fields: Iterable[str] = (),
        rerecord: bool = False,
    ) -> CassetteStore:
        """A store whose ``record``/``save`` go to ``path``, also replaying from ``also``.

        A missing file is an empty cassette to record into; an existing one is loaded (and a
        corrupt one is an error, never silently replaced) unless ``rerecord`` is set.
        """
        return cls(
            also,
            match_on=match_on,
            playback=playback,
            ignore_body_fields=ignore_body_fields,
            record_to=path,
            rerecord=rerecord,
        )

    # -- building -----------------------------------------------------------------------------
    def add_cassette(self, cassette: Cassette) -> None:
        with self._lock:
            self.cassettes.append(cassette)
            for interaction in cassette.interactions:
                self._add(interaction, played=False)

    def _add(self, interaction: Interaction, *, played: bool) -> None:
        key = self.key(interaction.request)
        position = len(self._interactions)
        self._interactions.append(interaction)
        self._keys.append(key)
        self._plays.append(1 if played else 0)
        slot = self._index.get(key)
        if slot is None:
            slot = self._index[key] = _Slot()
        slot.positions.append(position)
        if played and slot.next == len(slot.positions) - 1:
            slot.next += 1

    # -- replay -------------------------------------------------------------------------------
    def match(self, request: Request) -> Interaction:
        """The recording that answers ``request``; ``UnmatchedRequest`` if there is none."""
        key = self.key(request)
        with self._lock:
            slot = self._index.get(key)
            position = self._take(slot) if slot is not None else None
            if position is not None:
                self._plays[position] += 1
                return self._interactions[position]
        if slot is None:
            raise self._unmatched(request, key, "")
        count = len(slot.positions)
        raise self._unmatched(
            request,
            key,
            f"{count} matching recording{'s' if count != 1 else ''} already played"
            " (playback='once'; use playback='repeat' or 'cycle' to play them again)",
        )

    def match_ignoring(self, request: Request, fields: Iterable[str]) -> Interaction | None:
        """The recording ``request`` matches with ``fields`` also left out of the body, or
        None. For a request that carries what a fault changed (see
        :data:`TOOL_RESULT_FIELDS`): the rest of the request (method, URI, the conversation's
        shape, the tools, the model) must still match. The first such recording not played yet,
        else (with playback ``repeat`` or ``cycle``) the last one."""
        key = KeyFunction(self.key.match_on, self.key.ignored | frozenset(fields))
        wanted = key(request)
        with self._lock:
            found = [i for i, item in enumerate(self._interactions) if key(item.request) == wanted]
            if not found:
                return None
            fresh = [i for i in found if self._plays[i] == 0]
            if fresh:
                position = fresh[0]
            elif self.playback == "once":
                return None
            else:
                position = found[-1]
            self._plays[position] += 1
            return self._interactions[position]

    def _take(self, slot: _Slot) -> int | None:
        if slot.next < len(slot.positions):
            position = slot.positions[slot.next]
            slot.next += 1
            return position
        if self.playback == "repeat":
            return slot.positions[-1]
        if self.playback == "cycle":
            slot.next = 1
            return slot.positions[0]
        return None

    def rewind(self) -> None:
        """Forget what was played, so the next request starts from the first recording again."""
        with self._lock:
            for slot in self._index.values():
                slot.next = 0
            self._plays = [0] * len(self._plays)

    def unused(self) -> list[Interaction]:
        """Recordings never played, in load order (a stale cassette, or a test that did less)."""
        with self._lock:
            return [i for i, n in zip(self._interactions, self._plays, strict=True) if n == 0]

    def __len__(self) -> int:
        return len(self._interactions)

    def __iter__(self) -> Iterator[Interaction]:
        return iter(list(self._interactions))

    # -- recording ----------------------------------------------------------------------------
    def record(self, request: Request, response: Response) -> Interaction:
        """Add a live exchange to the recording target (written by ``save``).

        The new recording counts as played: it answered the request that produced it.
        """
        with self._lock:
            target = self.target
            if target is None:
                raise CassetteError(
                    "this cassette store has no recording target; build it with"
                    " CassetteStore.for_recording(path)"
                )
            index = len(target.interactions)
            interaction = Interaction(
                request=request,
                response=response,
                index=index,
                source=source_of(target.path, index),
            )
            target.interactions.append(interaction)
            self._add(interaction, played=True)
            self._dirty = True
            return interaction

    def save(self, *, force: bool = False) -> Path | None:
        """Write the recording target (scrubbed, atomically) if anything was recorded."""
        with self._lock:
            target = self.target
            if target is None:
                raise CassetteError("this cassette store has no recording target to save")
            if not (self._dirty or force):
                return None
            write_cassette(target.path, list(target.interactions))
            self._dirty = False
            return target.path

    # -- errors -------------------------------------------------------------------------------
    def _unmatched(self, request: Request, key: MatchKey, reason: str) -> UnmatchedRequest:
        closest = self.closest(request)
        if not reason:
            if not self._interactions:
                reason = "no recordings loaded"
            elif closest:
                differs = self.key.differing(key, self._keys[closest[0]])
                reason = f"closest recording differs in {', '.join(differs) or 'nothing'}"
                reason += f" (match_on={list(self.key.match_on)})"
        lines = []
        for position in closest:
            interaction = self._interactions[position]
            played = self._plays[position]
            note = f" [played {played}x]" if played else ""
            recorded = interaction.request
            lines.append(f"{interaction.source}: {recorded.method} {recorded.url}{note}")
        return UnmatchedRequest(request.method, request.url, lines, reason)

    def closest(self, request: Request, limit: int = 3) -> list[int]:
        """Positions of the recordings most like ``request``: same method first, then URL, then
        body similarity. Linear in the number of recordings: only for the error path."""
        with self._lock:
            candidates = list(enumerate(self._interactions))
        if not candidates:
            return []
        method = request.method.upper()
        use_path = "path" in self.key.match_on and "uri" not in self.key.match_on
        matcher = difflib.SequenceMatcher(autojunk=False)
        # difflib is quadratic in the worst case: a 4 KiB query of one letter cost 0.4 s of
        # CPU per unmatched request. The start of a URL is what tells recordings apart.
        matcher.set_seq2((request.path if use_path else request.url)[:COMPARED_URL_CHARS])

        def url_score(item: tuple[int, Interaction]) -> tuple[bool, float]:
            other = item[1].request
            matcher.set_seq1((other.path if use_path else other.url)[:COMPARED_URL_CHARS])
            return (other.method.upper() == method, round(matcher.ratio(), 3))

        shortlist = heapq.nlargest(max(limit * 4, 10), candidates, key=url_score)
        body = canonical_body(request.body, self.key.ignored)[:4000].decode("utf-8", "replace")
        body_matcher = difflib.SequenceMatcher(autojunk=False)
        body_matcher.set_seq2(body)

        def score(item: tuple[int, Interaction]) -> tuple[bool, float, float]:
            other = canonical_body(item[1].request.body, self.key.ignored)[:4000]
            body_matcher.set_seq1(other.decode("utf-8", "replace"))
            return (*url_score(item), body_matcher.ratio())

        ranked = sorted(shortlist, key=score, reverse=True)
        return [position for position, _ in ranked[:limit]]
