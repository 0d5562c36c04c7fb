"""The project's faultkit settings, read in one place: ``faultkit.toml``, or the
``[tool.faultkit]`` table of ``pyproject.toml``.

Two tables live there: ``upstreams`` (the real services the proxy stands in for; see
``faultkit.doors.proxy.config``) and ``routes``, aliases that let a scenario name a route by
what it is rather than by the host it happens to have in one deployment::

    [routes]
    weather = "weather.*"                 # route: weather  matches weather.eu, weather.us ...
    search = ["search*", "retrieval"]     # several globs: any of them

A rule ``route: weather`` then matches every route matching one of the alias's globs; a route
pattern that is no alias is a glob itself, as before.

A third, ``scrub``, adds the project's own secret patterns to the built-in scrubbing
(:mod:`faultkit.scrub`) of cassettes, the ledger, reports and logs::

    [scrub]
    patterns = ["acme-[0-9a-f]{32}", 'customer_id=([0-9]+)']   # a group: only it is redacted
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from faultkit.errors import FaultkitError
from faultkit.scrub.text import ScrubPatternError, add_patterns

RouteAliases = Mapping[str, tuple[str, ...]]
"""Alias name -> the route globs it stands for."""


class ConfigError(FaultkitError):
    """``faultkit.toml`` / ``[tool.faultkit]`` or an ``--upstream`` option is invalid."""


def read_table(path: Path) -> dict[str, object] | None:
    """The faultkit table of ``path`` (the whole file for faultkit.toml, ``[tool.faultkit]``
    for pyproject.toml), or None if pyproject.toml has none."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("faultkit") if isinstance(tool, dict) else None
        return table if isinstance(table, dict) else None
    return data


def table_name(path: Path, name: str) -> str:
    """How table ``name`` is written in ``path``, for error messages."""
    return f"tool.faultkit.{name}" if path.name == "pyproject.toml" else name


def find_config(start: Path | None = None) -> Path | None:
    """``faultkit.toml`` in ``start`` (default: the working directory), else a
    ``pyproject.toml`` there that has a ``[tool.faultkit]`` table."""
    base = start or Path.cwd()
    own = base / "faultkit.toml"
    if own.is_file():
        return own
    pyproject = base / "pyproject.toml"
    if pyproject.is_file() and read_table(pyproject) is not None:
        return pyproject
    return None


def load_routes(path: Path | None) -> dict[str, tuple[str, ...]]:
    """The ``routes`` aliases of ``path`` (none without a file). Each value is a glob or a
    non-empty list of globs; anything else is a ConfigError naming the file and the alias."""
    if path is None:
        return {}
    table = read_table(path) or {}
    declared = table.get("routes", {})
    where = table_name(path, "routes")
    if not isinstance(declared, dict):
        raise ConfigError(
            f'{path}: [{where}] must be a table of aliases, e.g. weather = "weather.*"'
        )
    aliases: dict[str, tuple[str, ...]] = {}
    for name, value in declared.items():
        globs = (value,) if isinstance(value, str) else value
        if (
            not isinstance(globs, list | tuple)
            or not globs
            or not all(isinstance(g, str) and g for g in globs)
        ):
            raise ConfigError(
                f"{path}: [{where}] {name}: must be a route glob or a non-empty list of globs,"
                f" got {value!r}"
            )
        aliases[name] = tuple(globs)
    return aliases


@lru_cache(maxsize=16)
def _routes_of(start: Path) -> dict[str, tuple[str, ...]]:
    return load_routes(find_config(start))


def project_routes(start: Path | None = None) -> RouteAliases:
    """The route aliases of the project in ``start`` (default: the working directory), read
    once per directory: every engine a test session or a run builds shares them."""
    return _routes_of((start or Path.cwd()).resolve())


def load_scrub_patterns(path: Path | None) -> tuple[str, ...]:
    """The ``[scrub] patterns`` of ``path`` (none without a file), each checked to compile;
    a bad table or pattern is a ConfigError naming the file and the pattern."""
    if path is None:
        return ()
    table = read_table(path) or {}
    declared = table.get("scrub", {})
    where = table_name(path, "scrub")
    if not isinstance(declared, dict):
        raise ConfigError(f'{path}: [{where}] must be a table, e.g. patterns = ["acme-[0-9]+"]')
    unknown = sorted(set(declared) - {"patterns"})
    if unknown:
        raise ConfigError(f"{path}: [{where}] {unknown[0]}: unknown field (known: patterns)")
    patterns = declared.get("patterns", [])
    if not isinstance(patterns, list):
        raise ConfigError(f"{path}: [{where}] patterns: must be a list of regex strings")
    try:
        add_patterns(patterns, where=f"{path}: [{where}] patterns")
    except ScrubPatternError as exc:
        raise ConfigError(str(exc)) from None
    return tuple(patterns)


@lru_cache(maxsize=16)
def _scrub_of(start: Path) -> tuple[str, ...]:
    return load_scrub_patterns(find_config(start))


def project_scrub_patterns(start: Path | None = None) -> tuple[str, ...]:
    """Put the ``[scrub] patterns`` of the project in ``start`` (default: the working
    directory) in force, once per directory; returns them. Every engine calls this, so a
    pytest session, ``faultkit run`` and the proxy scrub the same values."""
    return _scrub_of((start or Path.cwd()).resolve())
