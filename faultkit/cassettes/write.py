"""Writing cassettes: vcrpy YAML version 1 (or vcrpy's JSON layout), scrubbed, atomically.

The file is what vcrpy itself writes (``interactions`` then ``version: 1``; request body as
text or ``!!binary``; response ``body: {string: ...}``, ``status: {code, message}``, headers as
name -> [values]), so vcrpy and pytest-recording can replay a cassette faultkit recorded. SSE
timing goes under an interaction-level ``faultkit:`` key, which vcrpy ignores. Interactions
loaded from another dialect (pydantic-ai's ``parsed_body``, gzip bodies) are written back in
this layout, with the decoded body.

vcrpy truncates the cassette and writes it in place; a crash or a full disk mid-write destroys
the recording. Here the whole document is serialized in memory first, written to a temporary
file in the same directory, flushed and fsync'd, then renamed over the target with
``os.replace`` (atomic on POSIX), and the directory is fsync'd so the rename survives a power
cut. An ``fcntl.flock`` on the cassette's directory itself keeps two processes (pytest-xdist
workers) from interleaving their writes, so no lock file sits beside the cassettes (where a
filesystem cannot lock a directory, a hidden ``.faultkit.lock`` in it is locked instead). A
reader sees the old file or the new one, never a mix.

A writer killed between creating its temporary file and the rename leaves that file behind
(``.<name>.XXXXXXXX.tmp``, as large as the cassette). Every writer holds the directory lock
from before it creates its temporary file until after the rename, so whoever holds the lock
knows that every such file in the directory belongs to a dead writer: each save removes
them, and so does :func:`remove_stale_temp_files` when recording starts. ``<name>.lock``
files left by earlier faultkit versions go the same way.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from pathlib import Path
from typing import Any

from faultkit.cassettes._yaml import dump_yaml
from faultkit.cassettes.model import Interaction
from faultkit.errors import CassetteError
from faultkit.exchange import Headers, Request, Response
from faultkit.scrub.bodies import scrub_request, scrub_response

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, the rename is still atomic
    fcntl = None  # type: ignore[assignment]

Recorded = Interaction | tuple[Request, Response]


def _pair(item: Recorded) -> tuple[Request, Response]:
    if isinstance(item, Interaction):
        return item.request, item.response
    return item


def _grouped(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def _text_or_bytes(body: bytes) -> str | bytes:
    """Text when the bytes are UTF-8 (readable, as vcrpy writes), else ``!!binary``."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body


def interaction_document(request: Request, response: Response) -> dict[str, Any]:
    head = response.head
    try:
        message = head.reason or HTTPStatus(head.status).phrase
    except ValueError:
        message = head.reason
    doc: dict[str, Any] = {
        "request": {
            "body": _text_or_bytes(request.body),
            "headers": _grouped(request.headers),
            "method": request.method,
            "uri": request.url,
        },
        "response": {
            "body": {"string": _text_or_bytes(response.body)},
            "headers": _grouped(head.headers),
            "status": {"code": head.status, "message": message},
        },
    }
    timing: dict[str, Any] = {}
    if response.first_byte_ms is not None:
        timing["first_byte_ms"] = round(response.first_byte_ms, 3)
    if response.event_offsets_ms is not None:
        timing["event_offsets_ms"] = [round(x, 3) for x in response.event_offsets_ms]
    if timing:
        doc["faultkit"] = timing
    return doc


def serialize_cassette(
    interactions: Iterable[Recorded], *, scrub: bool = True, as_json: bool = False
) -> bytes:
    """The complete cassette file as bytes (YAML, or vcrpy's JSON layout with ``as_json``)."""
    docs = []
    for index, item in enumerate(interactions):
        request, response = _pair(item)
        if scrub:
            request, response = scrub_request(request), scrub_response(response)
        doc = interaction_document(request, response)
        if as_json and (
            isinstance(doc["request"]["body"], bytes)
            or isinstance(doc["response"]["body"]["string"], bytes)
        ):
            raise CassetteError(
                f"interaction {index} has a binary body, which a .json cassette cannot hold"
                " (vcrpy's JSON serializer has the same limit); use a .yaml cassette"
            )
        docs.append(doc)
    document = {"interactions": docs, "version": 1}
    if as_json:
        return (json.dumps(document, indent=4, ensure_ascii=False) + "\n").encode("utf-8")
    return dump_yaml(document).encode("utf-8")


def write_cassette(
    path: str | Path, interactions: Iterable[Recorded], *, scrub: bool = True
) -> None:
    """Serialize ``interactions`` and replace ``path`` with them atomically."""
    path = Path(path)
    data = serialize_cassette(interactions, scrub=scrub, as_json=path.suffix.lower() == ".json")
    atomic_write(path, data)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers only ever see a complete file."""
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with _locked(parent):
            _remove_stale(parent)
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, mode)
                os.replace(tmp, path)
            except BaseException:
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            _fsync_dir(parent)
    except OSError as exc:
        raise CassetteError(f"{path}: cannot write cassette ({exc.strerror or exc})") from None


# What ``tempfile.mkstemp(prefix=".<name>.", suffix=".tmp")`` makes for a cassette name, and
# the sidecar lock files of faultkit before 0.x: both only ever made by a cassette writer.
_STALE = re.compile(r"^\.(.+\.(?:ya?ml|json))\.[a-z0-9_]{8}\.tmp$|^(.+\.(?:ya?ml|json))\.lock$")


def remove_stale_temp_files(directory: str | Path) -> list[Path]:
    """Remove what killed writers left in ``directory`` (see the module docstring); returns
    the files removed. Nothing happens to a directory that does not exist."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    try:
        with _locked(directory):
            return _remove_stale(directory)
    except OSError as exc:
        raise CassetteError(f"{directory}: cannot clean up ({exc.strerror or exc})") from None


def _remove_stale(directory: Path) -> list[Path]:
    """Call with the directory lock held: no live writer has a temporary file then."""
    removed = []
    for entry in os.scandir(directory):
        match = _STALE.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        if match.group(2) is not None and entry.stat().st_size:
            continue  # a "<name>.lock" with content is not one of ours
        with suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory`` (or, where directories cannot be locked,
    on a hidden ``.faultkit.lock`` in it, which is never deleted: removing it would let a
    second writer lock a new inode while a first one still holds the old)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - e.g. NFS, where flock needs a writable file
            os.close(fd)
            fd = os.open(directory / ".faultkit.lock", os.O_WRONLY | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - some platforms cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
