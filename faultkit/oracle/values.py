"""Finding a value in an answer: did data the SUT never received (or should not trust) get out?

The rule, chosen to catch real leaks without flagging coincidences:

* A **distinctive** value is a string of at least :data:`MIN_TEXT_CHARS` characters that is not
  a placeholder (``"null"``, ``"unknown"``, ``"n/a"``...), or a number written with at least
  :data:`MIN_NUMBER_DIGITS` digits (``129.99``, ``1042``; not ``7`` or ``42``). Booleans and
  null are never distinctive.
* A distinctive value is found when it appears anywhere in the answer: as a value of any field
  (numbers compare by value, strings case-insensitively), or inside a text (as a whole word or
  number: ``"ship"`` is not found in ``"shipped"``, ``129.99`` is found in ``"$129.99 total"``).
* Any other value (``True``, ``3``, ``"UPS"``) is found only when a field *of the same name*
  holds exactly that value (``{"in_stock": true}`` for a removed ``in_stock: true``): the same
  fact, not a coincidence.
* A short number (``18``, ``7.5``) is also found where the text ties it to the field: inside a
  text field of the same name (``{"eta_days": "18 days"}``), or in any text next to a word of
  the field's name (``"arrives in 18 days"`` or ``"ETA: 18"`` for ``eta_days``). Next to means
  at most :data:`NEAR_WORDS` words away with no other number in between, so ``"1 of 3 items"``
  does not tie ``1`` to ``items``. Name words are the name's parts split at ``_``, ``-`` and
  camelCase, of 3 letters or more and not a generic word (:data:`GENERIC_NAME_WORDS`); a
  plural ``s`` is ignored (``day`` ties to ``days``). A bare ``1`` in a text that does not name
  the field is never a hit: short numbers are everywhere.
* A container (object or list) is searched leaf by leaf, each leaf under its own field name.
* Null is never searched: a field that is null in the answer says "unknown", which is right.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from faultkit.formats.jsonpath import JsonPathError, format_path, parse_path, walk

MIN_TEXT_CHARS = 4
MIN_NUMBER_DIGITS = 3
NEAR_WORDS = 3
GENERIC_NAME_WORDS = frozenset(
    {"the", "and", "for", "num", "number", "value", "val", "data", "info", "field"}
)
PLACEHOLDERS = frozenset(
    {"null", "none", "true", "false", "n/a", "na", "unknown", "nan", "undefined", "-", "tbd"}
)


@dataclass(frozen=True)
class Hit:
    """Where a searched value turned up: the answer path, the value there, and how it matched
    (``field`` = same field name and value; ``value`` = equal value elsewhere; ``text`` = inside
    a string; ``named`` = a short number in a text that names its field)."""

    searched: Any
    field: str | None
    path: str
    found: Any
    how: str

    def describe(self) -> str:
        where = self.path or "(the whole answer)"
        if self.how == "text":
            return f"{self.searched!r} appears in the text at {where}"
        if self.how == "named":
            return f"{self.searched!r} appears next to {self.field!r} in the text at {where}"
        return f"{self.searched!r} is the value of {where}"


def field_name(path: str) -> str | None:
    """The last member name in an alteration path (``result.order.eta`` -> ``eta``). A path
    into JSON held in a string (``choices[0].message.content::order.total``) counts from the
    inner document."""
    path = path.rsplit("::", 1)[-1]
    try:
        parts = parse_path(path)
    except JsonPathError:
        words = re.findall(r"[A-Za-z_][A-Za-z0-9_\-]*", path)
        return words[-1] if words else None
    names = [p for p in parts if isinstance(p, str) and p != "*"]
    return names[-1] if names else None


def number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def distinctive(value: Any) -> bool:
    if is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return sum(ch.isdigit() for ch in number_text(value)) >= MIN_NUMBER_DIGITS
    if isinstance(value, str):
        text = value.strip()
        return len(text) >= MIN_TEXT_CHARS and text.casefold() not in PLACEHOLDERS
    return False


def same_value(a: Any, b: Any) -> bool:
    """Equality that respects kinds: ``True`` is not ``1``, ``"42"`` is not ``42``; strings
    compare trimmed and case-insensitively."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return False


def _pattern(value: Any) -> re.Pattern[str]:
    if is_number(value):
        # 138.0 is quoted as "138", "138.0" or "138.00 EUR": trailing zeros are the same number.
        text = number_text(value)
        zeros = "0*" if "." in text else r"(?:\.0+)?"
        return re.compile(rf"(?<![\d.]){re.escape(text)}{zeros}(?![\d]|\.\d)")
    text = re.escape(value.strip())
    left = r"(?<!\w)" if value.strip()[:1].isalnum() else ""
    right = r"(?!\w)" if value.strip()[-1:].isalnum() else ""
    return re.compile(left + text + right, re.IGNORECASE)


def leaves(value: Any, name: str | None) -> Iterator[tuple[str | None, Any]]:
    """(field name, scalar) for every scalar in ``value``; list items keep their list's name."""
    for parts, item in walk(value):
        if isinstance(item, dict | list):
            continue
        names = [p for p in parts if isinstance(p, str)]
        yield (names[-1] if names else name), item


def find(
    answer: Any, target: Any, name: str | None = None, *, exact_type: bool = False
) -> list[Hit]:
    """Every place ``target`` (under field ``name``) shows up in ``answer``, by the rule above.

    With ``exact_type`` only a leaf of the very same JSON type counts and texts are not
    searched: for a retyped value, ``"129.99"`` passed on is the drift, ``129.99`` (coerced
    back) or a sentence quoting it is not."""
    hits: list[Hit] = []
    answer_leaves = [
        (format_path(parts), parts, item)
        for parts, item in walk(answer)
        if not isinstance(item, dict | list)
    ]
    for leaf_name, leaf in leaves(target, name):
        if leaf is None:
            continue
        wide = distinctive(leaf)
        pattern = _pattern(leaf) if wide and not exact_type else None
        for path, parts, item in answer_leaves:
            item_name = next((p for p in reversed(parts) if isinstance(p, str)), None)
            if exact_type:
                same = type(item) is type(leaf) and item == leaf
                if same and (wide or (leaf_name and item_name == leaf_name)):
                    hits.append(Hit(leaf, leaf_name, path, item, "value"))
                continue
            if same_value(item, leaf) and (wide or (leaf_name and item_name == leaf_name)):
                hits.append(Hit(leaf, leaf_name, path, item, "field" if not wide else "value"))
            elif wide and is_number(item) and isinstance(leaf, str) and number_text(item) == leaf:
                hits.append(Hit(leaf, leaf_name, path, item, "value"))
            elif wide and isinstance(item, str) and pattern is not None and pattern.search(item):
                hits.append(Hit(leaf, leaf_name, path, item, "text"))
            elif not wide and leaf_name and is_number(leaf) and isinstance(item, str):
                if item_name == leaf_name and any(
                    same_value(float(n), leaf) for n in _NUMBER.findall(item)
                ):
                    hits.append(Hit(leaf, leaf_name, path, item, "field"))
                elif named_number(item, leaf, leaf_name):
                    hits.append(Hit(leaf, leaf_name, path, item, "named"))
    return hits


_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d]|\.\d)")


def name_words(name: str) -> set[str]:
    """The words of a field name a text may use for it: ``eta_days`` -> ``{eta, day}``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    words = {_stem(w) for w in re.split(r"[\W_]+", spaced) if len(w) >= 3}
    return {w for w in words if w not in GENERIC_NAME_WORDS and not w.isdigit()}


def _stem(word: str) -> str:
    word = word.casefold()
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def named_number(text: str, number: int | float, name: str) -> bool:
    """Whether ``text`` states ``number`` next to a word of field ``name`` (the rule above)."""
    words = name_words(name)
    if not words:
        return False
    tokens = _TOKEN.findall(text)
    for i, token in enumerate(tokens):
        if not token[0].isdigit() or float(token) != number:
            continue
        for step in (-1, 1):
            for j in range(i + step, i + step * (NEAR_WORDS + 1), step):
                if j < 0 or j >= len(tokens) or tokens[j][0].isdigit():
                    break
                if _stem(tokens[j]) in words:
                    return True
    return False
