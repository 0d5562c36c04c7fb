"""What a cassette holds once loaded: recorded request/response pairs, each with its origin.

``source`` ("<path>#<index>") is what the ledger and every error message show, so a user can
open the file and find the recording that answered (or nearly answered) a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from faultkit.exchange import Request, Response


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded exchange. ``index`` is its position in its cassette file."""

    request: Request
    response: Response
    index: int
    source: str


@dataclass(slots=True)
class Cassette:
    """A cassette file's interactions in recorded order."""

    path: Path
    interactions: list[Interaction] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.interactions)


def source_of(path: Path | str, index: int) -> str:
    return f"{path}#{index}"
