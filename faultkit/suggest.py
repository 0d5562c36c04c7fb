"""``did you mean 'x'?`` for a mistyped name: one rule for every place a user names something.

Why one module: scenario names, fault types and fault fields are mistyped the same way
(``429-brust``, ``http_eror``, ``latncy_ms``), and each message should offer the same kind of
hint; a second copy of the threshold would drift.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

# difflib's ratio: 0.6 (its default) offers "latency_ms" for "latncy_ms" and "429-burst" for
# "429-brust", and nothing for an unrelated word.
CUTOFF = 0.6


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``, if one is close enough to be a typo of it."""
    if not isinstance(word, str) or not word:
        return None
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=CUTOFF)
    return matches[0] if matches else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` to put before a list of the known names, or ``""``."""
    match = closest(word, choices)
    return f"did you mean {match!r}? " if match is not None else ""


def field_hint(model: type[BaseModel], loc: Sequence[Any]) -> str:
    """``"; did you mean 'x'?"`` for an unknown field at ``loc`` (a pydantic error location)
    in a document validated as ``model``, or ``""``. The model owning the field is found by
    walking ``loc`` through the fields' types (lists, dicts and optionals of models)."""
    owner: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or owner is None:
            continue
        field = owner.model_fields.get(part) if _is_model(owner) else None
        owner = _model_in(field.annotation) if field is not None else None
    if not _is_model(owner):
        return ""
    match = closest(loc[-1] if loc else None, owner.model_fields)
    return f"; did you mean {match!r}?" if match is not None else ""


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds: itself, or inside list[...], dict[str, ...] or X | None."""
    if _is_model(annotation):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
