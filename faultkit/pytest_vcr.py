"""pytest-recording's cassettes for the ``faultkit`` fixture, with or without pytest-recording.

Why: a team that already records with pytest-recording has tests marked ``@pytest.mark.vcr``
and cassettes at ``<vcr_cassette_dir>/<test>.yaml``; faultkit must replay those files as they
are, without a second set of names. So the ``faultkit`` fixture reads the same things
pytest-recording reads:

- the test's cassette directory: the ``vcr_cassette_dir`` fixture when a module or conftest
  overrides it, else faultkit's own default (``<test dir>/cassettes/<module>``, the same path
  pytest-recording uses, moved by ``--faultkit-cassette-dir``);
- the cassette name: ``@pytest.mark.default_cassette("name")``, else ``[Class.]test[param]``
  with the characters pytest-recording replaces replaced the same way;
- extra cassettes: the positional arguments of every ``vcr`` marker, relative to that
  directory (``@pytest.mark.vcr("shared.yaml")``);
- ``match_on`` from the ``vcr`` markers and the ``vcr_config`` fixture (vcrpy's names are
  faultkit's names), unless ``@pytest.mark.faultkit(match_on=...)`` says otherwise.

Nothing here imports pytest-recording: fixtures are looked up by name, so a module that defines
``vcr_cassette_dir`` itself works the same when the plugin is absent.

How faultkit and vcrpy share a test (both active, the test marked ``vcr``): a request sent
through a client faultkit handed out is faultkit's alone. faultkit's transports are
``httpx.BaseTransport`` subclasses, which vcrpy does not patch, and when faultkit forwards (its
record modes) it calls httpx's transport underneath vcrpy's patch
(:func:`faultkit.doors.unpatched.unpatched_transport`),
so vcrpy neither answers nor records it: one request, one handler, one recording (scrubbed by
faultkit). A request from any other client is vcrpy's, as before, without faults;
:func:`vcrpy_requests` names such requests so the plugin can warn (or fail, under
``--faultkit-block-network``). Recording is per tool: ``--faultkit-record-mode`` records
faultkit's requests, pytest-recording's ``--record-mode`` records vcrpy's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faultkit.errors import FaultkitError

_UNSAFE = re.compile(r"[<>?%*:|\"'/\\]")


@dataclass(frozen=True)
class CassettePaths:
    """Where the faultkit fixture looks for a test's recordings when its marker names none."""

    default: Path
    extras: tuple[Path, ...] = ()
    match_on: tuple[str, ...] = ()


def fixture_value(request: pytest.FixtureRequest, name: str) -> Any:
    """A fixture's value, or None when no plugin, conftest or module defines it."""
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return None


def cassette_name(item: pytest.Item) -> str:
    """pytest-recording's default name: ``[Class.]test_name[param]`` with the characters a
    file name cannot hold replaced by ``-``; ``@pytest.mark.default_cassette`` overrides it."""
    marker = item.get_closest_marker("default_cassette")
    if marker is not None:
        if not marker.args:
            raise FaultkitError("@pytest.mark.default_cassette needs the cassette name")
        return str(marker.args[0])
    cls = getattr(item, "cls", None)
    name = f"{cls.__name__}.{item.name}" if cls is not None else item.name
    return _UNSAFE.sub("-", name)


def _with_suffix(name: str) -> str:
    # vcrpy's path transformer: ".yaml" is added unless the name already ends with it.
    return name if name.endswith(".yaml") else name + ".yaml"


def _recording_default_dir(item: pytest.Item) -> Path:
    """The directory pytest-recording's own ``vcr_cassette_dir`` fixture returns."""
    return item.path.parent / "cassettes" / item.path.stem


def cassettes_for(request: pytest.FixtureRequest, faultkit_root: Path) -> CassettePaths:
    """The test's default cassette, the ``vcr`` markers' extras and their ``match_on``.

    ``faultkit_root`` is faultkit's cassette root (``--faultkit-cassette-dir`` or
    ``<test dir>/cassettes``); a ``vcr_cassette_dir`` fixture returning anything but
    pytest-recording's default wins over it, because the module asked for that directory.
    """
    item = request.node
    directory = faultkit_root / item.path.stem
    overridden = fixture_value(request, "vcr_cassette_dir")
    if overridden is not None:
        overridden = Path(os.fspath(overridden))
        if overridden.resolve() != _recording_default_dir(item).resolve():
            directory = overridden
    markers = list(item.iter_markers("vcr"))
    extras = tuple(
        path if path.is_absolute() else directory / path
        for marker in markers
        for path in map(Path, marker.args)
    )
    return CassettePaths(
        default=directory / _with_suffix(cassette_name(item)),
        extras=tuple(dict.fromkeys(extras)),
        match_on=_match_on(request, markers) if markers else (),
    )


def _match_on(request: pytest.FixtureRequest, markers: Iterable[pytest.Mark]) -> tuple[str, ...]:
    """``match_on`` as pytest-recording merges it: the closest ``vcr`` marker first, then
    ``vcr_config``."""
    for marker in markers:
        if "match_on" in marker.kwargs:
            return tuple(marker.kwargs["match_on"])
    config = fixture_value(request, "vcr_config") or {}
    return tuple(config.get("match_on", ()))


def vcr_cassette(request: pytest.FixtureRequest) -> Any:
    """pytest-recording's active vcrpy cassette for this test (None: not installed, not
    marked ``vcr``, or ``--disable-recording``)."""
    if request.node.get_closest_marker("vcr") is None:
        return None
    cassette = fixture_value(request, "vcr")
    # pytest-vcr's ``vcr`` fixture is a VCR object, not a cassette: nothing to count there.
    if not all(hasattr(cassette, a) for a in ("play_count", "play_counts", "data")):
        return None
    return cassette


@dataclass(frozen=True)
class VcrCounts:
    """How many requests a vcrpy cassette had played and recorded when the test began."""

    played: int
    recorded: int


def vcr_counts(cassette: Any) -> VcrCounts:
    return VcrCounts(played=int(cassette.play_count), recorded=len(cassette.data))


def vcrpy_requests(cassette: Any, before: VcrCounts) -> list[str]:
    """``METHOD URL (played|recorded by vcrpy)`` for each request vcrpy handled since
    ``before``: requests from a client faultkit did not hand out."""
    lines: list[str] = []
    if int(cassette.play_count) > before.played:
        for index, count in sorted(cassette.play_counts.items()):
            req = cassette.requests[index]
            lines.extend(f"{req.method} {req.uri} (played by vcrpy)" for _ in range(count))
    for req, _response in cassette.data[before.recorded :]:
        lines.append(f"{req.method} {req.uri} (recorded by vcrpy)")
    return lines
