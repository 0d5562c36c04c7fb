"""Dotted paths into JSON values: parse, format, get, set, delete, rename and enumerate.

Faults name what they changed with paths a user can read and paste back into a scenario
(``choices[0].message.content``, ``order.items[2].price``), and scenarios name what to change the
same way. The syntax is the everyday one: ``.key`` for an object member, ``[n]`` for a list item,
``["odd.key"]`` for a member whose name is not a plain word, and ``*`` / ``[*]`` as a wildcard in
patterns (``orders[*].price``).

Editing functions never mutate their input: they copy the containers along the path and share
everything else, so a recorded body can be edited many times without being damaged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from faultkit.errors import FaultkitError

Key = str | int
Parts = tuple[Key, ...]

WILDCARD = "*"
_MISSING: Any = object()
_PLAIN = re.compile(r"[A-Za-z_$][A-Za-z0-9_$\-]*")


class JsonPathError(FaultkitError, ValueError):
    """A path is not valid syntax, or does not fit the value it is applied to."""


def parse_path(path: str) -> Parts:
    """``"order.items[2].price"`` -> ``("order", "items", 2, "price")``. The empty string is
    the root. ``*`` and ``[*]`` stay as the wildcard ``"*"``."""
    parts: list[Key] = []
    i, n = 0, len(path)
    expect_name = True  # at the start or right after a dot, a bare name may follow
    while i < n:
        ch = path[i]
        if ch == "[":
            end = path.find("]", i)
            if path.startswith('["', i) or path.startswith("['", i):
                quote = path[i + 1]
                close = _closing_quote(path, i + 2, quote)
                if close < 0 or not path.startswith("]", close + 1):
                    raise JsonPathError(f"unterminated quoted key at offset {i} in {path!r}")
                raw = path[i + 2 : close]
                parts.append(json.loads(f'"{raw}"') if quote == '"' else raw)
                i = close + 2
            elif end < 0:
                raise JsonPathError(f"missing ']' at offset {i} in {path!r}")
            else:
                inner = path[i + 1 : end].strip()
                if inner == WILDCARD:
                    parts.append(WILDCARD)
                elif inner.lstrip("-").isdigit():
                    parts.append(int(inner))
                else:
                    raise JsonPathError(
                        f"list index must be an integer or '*', got [{inner}] in {path!r}"
                    )
                i = end + 1
            expect_name = False
        elif ch == ".":
            if expect_name and parts:
                raise JsonPathError(f"empty segment at offset {i} in {path!r}")
            i += 1
            expect_name = True
            if i >= n:
                raise JsonPathError(f"path ends with '.' in {path!r}")
        else:
            if not expect_name:
                raise JsonPathError(f"expected '.' or '[' at offset {i} in {path!r}")
            end = i
            while end < n and path[end] not in ".[":
                end += 1
            parts.append(path[i:end])
            i = end
            expect_name = False
    return tuple(parts)


def field_path(path: str, *, root_error: str) -> Parts:
    """``path`` as a scenario gives it for one field. A plain ``ValueError`` (which pydantic
    reports against the scenario field) for bad syntax, or with ``root_error`` when the path
    names the whole document rather than a field in it."""
    try:
        parts = parse_path(path)
    except JsonPathError as exc:
        raise ValueError(str(exc)) from None
    if not parts:
        raise ValueError(root_error)
    return parts


def _closing_quote(path: str, start: int, quote: str) -> int:
    i = start
    while i < len(path):
        if path[i] == "\\":
            i += 2
            continue
        if path[i] == quote:
            return i
        i += 1
    return -1


def format_path(parts: Parts | list[Key]) -> str:
    """The inverse of :func:`parse_path`: ``("a", 0, "b")`` -> ``"a[0].b"``."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part == WILDCARD:
            out.append("[*]")
        elif _PLAIN.fullmatch(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def join(prefix: str, parts: Parts | list[Key]) -> str:
    """``prefix`` and ``parts`` as one readable path (``"result.structuredContent" + ("a",)``)."""
    tail = format_path(parts)
    if not prefix:
        return tail
    if not tail:
        return prefix
    return f"{prefix}{tail}" if tail.startswith("[") else f"{prefix}.{tail}"


def _as_parts(path: str | Parts | list[Key]) -> Parts:
    return parse_path(path) if isinstance(path, str) else tuple(path)


# -- reading ------------------------------------------------------------------------------------
def get(value: Any, path: str | Parts, default: Any = _MISSING) -> Any:
    """The value at ``path``. Without ``default``, a missing path raises :class:`JsonPathError`."""
    current = value
    for part in _as_parts(path):
        found, current = _step(current, part)
        if not found:
            if default is _MISSING:
                raise JsonPathError(f"no value at {format_path(_as_parts(path))!r}")
            return default
    return current


def exists(value: Any, path: str | Parts) -> bool:
    absent = object()
    return get(value, path, absent) is not absent


def _step(current: Any, part: Key) -> tuple[bool, Any]:
    if isinstance(part, int) and not isinstance(part, bool):
        if isinstance(current, list) and -len(current) <= part < len(current):
            return True, current[part]
        return False, None
    if isinstance(current, dict) and part in current:
        return True, current[part]
    return False, None


def walk(value: Any, prefix: Parts = ()) -> Iterator[tuple[Parts, Any]]:
    """Every (path, value) in ``value``, root first, in document order (pre-order)."""
    yield prefix, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, (*prefix, i))


def is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def field_paths(value: Any) -> list[Parts]:
    """Paths of every object member at any depth (the things that can be renamed or dropped)."""
    return [p for p, _ in walk(value) if p and isinstance(p[-1], str)]


def leaf_paths(value: Any) -> list[Parts]:
    """Paths of every scalar (string, number, bool, null) at any depth, list items included."""
    return [p for p, v in walk(value) if p and is_scalar(v)]


def leaf_field_paths(value: Any) -> list[Parts]:
    """Paths of object members whose value is a scalar."""
    return [p for p, v in walk(value) if p and isinstance(p[-1], str) and is_scalar(v)]


def list_paths(value: Any) -> list[Parts]:
    """Paths of every list at any depth (the root too, as ``()``)."""
    return [p for p, v in walk(value) if isinstance(v, list)]


def object_paths(value: Any) -> list[Parts]:
    """Paths of every object at any depth (the root too, as ``()``)."""
    return [p for p, v in walk(value) if isinstance(v, dict)]


def expand(value: Any, pattern: str | Parts) -> list[Parts]:
    """Concrete paths in ``value`` that match ``pattern`` (``*`` matches any key or index)."""
    results: list[Parts] = [()]
    for part in _as_parts(pattern):
        nxt: list[Parts] = []
        for prefix in results:
            node = get(value, prefix)
            if part == WILDCARD:
                if isinstance(node, dict):
                    nxt.extend((*prefix, k) for k in node)
                elif isinstance(node, list):
                    nxt.extend((*prefix, i) for i in range(len(node)))
            else:
                found, _ = _step(node, part)
                if found:
                    index = part
                    if isinstance(part, int) and part < 0:
                        index = len(node) + part
                    nxt.append((*prefix, index))
        results = nxt
    return results


def find_key(value: Any, name: str) -> list[Parts]:
    """Paths of every object member named ``name``, at any depth."""
    return [p for p in field_paths(value) if p[-1] == name]


def match_fields(value: Any, fields: list[str]) -> list[Parts]:
    """The paths in ``value`` that ``fields`` name, each once, in the order named: a plain key
    name (``email``) matches that member at any depth, anything else is a path pattern
    (``orders[*].total``). The one reading of a fault's ``fields`` parameter."""
    found: dict[Parts, None] = {}
    for spec in fields:
        is_key = not any(c in spec for c in ".[]*")
        paths = find_key(value, spec) if is_key else expand(value, parse_path(spec))
        for parts in paths:
            if parts:
                found.setdefault(parts, None)
    return list(found)


# -- editing (each returns a new value; the input is never mutated) -------------------------------
def set_value(value: Any, path: str | Parts, new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``path``. The parent must exist; an object member is
    created when missing, a list index must exist."""
    parts = _as_parts(path)
    if not parts:
        return new
    return _update(value, parts, lambda parent, key: _assign(parent, key, new, parts))


def delete(value: Any, path: str | Parts) -> Any:
    """A copy of ``value`` without the member or list item at ``path`` (which must exist)."""
    parts = _as_parts(path)
    if not parts:
        raise JsonPathError("cannot delete the root value")

    def remove(parent: Any, key: Key) -> None:
        found, _ = _step(parent, key)
        if not found:
            raise JsonPathError(f"no value at {format_path(parts)!r}")
        del parent[key]

    return _update(value, parts, remove)


def rename(value: Any, path: str | Parts, new_name: str) -> Any:
    """A copy of ``value`` whose member at ``path`` is called ``new_name``, in the same position
    among its siblings (so the drift is the name, not the order)."""
    parts = _as_parts(path)
    if not parts or not isinstance(parts[-1], str):
        raise JsonPathError(f"only object members can be renamed, not {format_path(parts)!r}")
    parent = get(value, parts[:-1])
    if not isinstance(parent, dict) or parts[-1] not in parent:
        raise JsonPathError(f"no member at {format_path(parts)!r}")
    if new_name != parts[-1] and new_name in parent:
        raise JsonPathError(f"cannot rename {format_path(parts)!r}: {new_name!r} already exists")
    renamed = {(new_name if k == parts[-1] else k): v for k, v in parent.items()}
    return set_value(value, parts[:-1], renamed)


def _assign(parent: Any, key: Key, new: Any, parts: Parts) -> None:
    fits_object = isinstance(parent, dict) and isinstance(key, str)
    fits_list = (
        isinstance(parent, list) and isinstance(key, int) and -len(parent) <= key < len(parent)
    )
    if not (fits_object or fits_list):
        raise JsonPathError(f"cannot set {format_path(parts)!r}: its parent does not fit")
    parent[key] = new


def _update(value: Any, parts: Parts, edit: Any) -> Any:
    """Copy the containers along ``parts[:-1]`` and call ``edit(parent_copy, last_key)``."""
    root = _shallow(value)
    node = root
    for depth, part in enumerate(parts[:-1]):
        found, child = _step(node, part)
        if not found or is_scalar(child):
            raise JsonPathError(f"no container at {format_path(parts[: depth + 1])!r}")
        child = _shallow(child)
        node[part] = child
        node = child
    if is_scalar(node):
        raise JsonPathError(f"no container at {format_path(parts[:-1])!r}")
    edit(node, parts[-1])
    return root


def _shallow(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value
