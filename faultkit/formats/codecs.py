"""Content-encoding of recorded bodies.

Here, not in :mod:`faultkit.cassettes`: formats and scrubbing decode bodies too, and the
cassette package imports the scrubber (every write is scrubbed), so a codec inside it made
``cassettes -> scrub.bodies -> cassettes`` an import cycle.

vcrpy stores gzip/deflate/br bodies still compressed (as ``!!binary``), with the
``content-encoding`` header kept. faultkit decodes them on load and drops the header, because
faults edit what a body *means* (JSON fields, SSE events) and need the plain bytes; the door
then serves the plain body with a recomputed length, which every HTTP client accepts.

Brotli is decoded only when ``brotli`` or ``brotlicffi`` is installed; without it the body stays
compressed and the header stays, so the client still receives a consistent response.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

try:  # pragma: no cover - optional dependency
    import brotli as _brotli  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    try:
        import brotlicffi as _brotli  # type: ignore[import-not-found,no-redef]
    except ImportError:
        _brotli = None


def _deflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:  # raw deflate without the zlib wrapper, as some servers send it
        return zlib.decompress(data, -zlib.MAX_WBITS)


DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "x-gzip": gzip.decompress,
    "deflate": _deflate,
    "identity": lambda data: data,
}
if _brotli is not None:  # pragma: no cover - depends on the environment
    DECODERS["br"] = _brotli.decompress


class UndecodableBody(ValueError):
    """The body does not decode with the coding its header names."""


def split_codings(value: str) -> list[str]:
    return [c.strip().lower() for c in value.split(",") if c.strip()]


def decode_body(body: bytes, codings: list[str]) -> tuple[bytes, list[str]]:
    """Undo ``codings`` (in header order, so the last applied is undone first).

    Returns the decoded body and the codings that could not be undone (an unsupported coding
    stops decoding there, leaving it and everything applied before it in place).
    """
    remaining = list(codings)
    while remaining:
        coding = remaining[-1]
        decoder = DECODERS.get(coding)
        if decoder is None:
            break
        try:
            body = decoder(body)
        except Exception as exc:  # gzip: OSError/EOFError, zlib.error, brotli's own error
            raise UndecodableBody(f"body is not valid {coding} data ({exc})") from exc
        remaining.pop()
    return body, remaining
