"""Reading JSON text as written, before (or without) parsing it: where its structure is, and
where it can be cut. Faults that break JSON (a cut tool call, a corrupted body, a data line
stopped mid-way, an answer cut at the token limit) all need "outside strings" and "a cut that
no longer parses"; this is the one scanner they share."""

from __future__ import annotations

import json

STRUCTURAL = '{[,:"'  # characters after which a cut reads like JSON that stopped mid-way


def structure(text: str, chars: str) -> tuple[list[int], bool]:
    """Positions of ``chars`` in ``text`` outside JSON strings, and whether ``text`` ends
    inside a string. (Bytes are read through ``latin-1``: one character a byte, and the quote
    and backslash bytes never occur inside a UTF-8 sequence.)"""
    positions: list[int] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in chars:
            positions.append(i)
    return positions, in_string


def parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def cut_points(text: str) -> tuple[str, list[int]]:
    """``text`` without trailing space, and the lengths of its proper prefixes that end right
    after a structural character and do not parse (any prefix that does not parse, when none
    does); empty when no prefix qualifies (empty JSON)."""
    body = text.rstrip()
    cuts = [p for p in range(1, len(body)) if body[p - 1] in STRUCTURAL and not parses(body[:p])]
    if not cuts:
        cuts = [p for p in range(1, len(body)) if not parses(body[:p])]
    return body, cuts
