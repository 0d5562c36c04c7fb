"""A toxic as a proxy holds it: name, type, stream, toxicity, attributes, and the TCP toxic.

Its own module because both sides of the data plane use it: the proxies configure toxics
(:mod:`.proxies`) and a connection's pipeline runs them (:mod:`.link`), which the proxies
import; with the spec inside proxies.py the two imported each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faultkit.doors.toxiproxy.jsonbody import float32_json
from faultkit.doors.toxiproxy.toxics import TcpToxic


@dataclass(frozen=True, eq=False)
class ToxicSpec:
    """A toxic as configured on a proxy. ``toxic`` is None for a bridge toxic."""

    name: str
    type: str
    stream: str  # exactly as the client sent it
    toxicity: float  # a 32-bit float value
    attributes: Mapping[str, Any] = field(default_factory=dict)
    toxic: TcpToxic | None = None

    @property
    def direction(self) -> str:
        return self.stream.lower()

    @property
    def buffer_size(self) -> int:
        return self.toxic.buffer_size if self.toxic else 0

    @property
    def closes_on_removal(self) -> bool:
        return bool(self.toxic and self.toxic.closes_on_removal)

    @property
    def resets_peer(self) -> bool:
        return bool(self.toxic and self.toxic.resets_peer)

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": float32_json(self.toxicity),
        }
