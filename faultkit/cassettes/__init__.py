"""Cassettes: vcrpy-compatible recordings, loaded once, indexed, replayed, written atomically."""

from faultkit.cassettes.load import load_cassette, parse_cassette
from faultkit.cassettes.model import Cassette, Interaction
from faultkit.cassettes.store import CassetteStore
from faultkit.cassettes.write import serialize_cassette, write_cassette

__all__ = [
    "Cassette",
    "CassetteStore",
    "Interaction",
    "load_cassette",
    "parse_cassette",
    "serialize_cassette",
    "write_cassette",
]
