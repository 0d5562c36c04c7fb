"""Lying tool: a tool answers 200, its data well formed and plausible, and wrong.

A tool that reads a stale replica, a cache keyed on the wrong id or a half-migrated column does
not fail: it answers with the shape the client expects and values that are not the truth. The
replayed model answer was recorded with the true values, so a system that does not hold its
answer to what its tools returned in this run passes the recorded value on. The oracle catches
that (``ungrounded_answer``) by searching the answer for the true values taken away here, which
is why every change is recorded with its path, the true value and the lie.

``op``:

- ``shift_number``: a number moved by ``by`` (a share of itself: 0.2 is 20 % more; default a
  drawn 10-50 %, up or down), an integer staying an integer;
- ``swap_values``: two values of the same type trade places (two amounts, two names);
- ``move_date``: an ISO date or date-time moved by ``by`` days (default a drawn 1-30, either
  way), written in its own format;
- ``empty_list``: a list answers ``[]``;
- ``shorten_list``: a list keeps its first ``keep`` items (default: half, at least one).

``fields`` names what to change (dotted paths or plain key names, as ``partial_tool_data``
reads them); empty: chosen with the seeded RNG among the candidates. The data is the whole body
of a JSON tool, or an MCP result's ``structuredContent`` and every JSON ``text`` block that
mirrors it, changed alike.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats import jsonpath, mcp
from faultkit.formats.detect import WireFormat
from faultkit.formats.jsonpath import Parts
from faultkit.plan import Plan

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

Op = Literal["shift_number", "swap_values", "move_date", "empty_list", "shorten_list"]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        _parse_date(value)
    except ValueError:
        return False
    return True


def _parse_date(text: str) -> date | datetime:
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def moved_date(text: str, days: int) -> str:
    """``text`` (an ISO date or date-time) ``days`` later, in the same format."""
    moved = _parse_date(text) + timedelta(days=days)
    if isinstance(moved, datetime):
        out = moved.isoformat()
        if text.endswith("Z") and out.endswith("+00:00"):
            out = out[: -len("+00:00")] + "Z"
        return out
    return moved.isoformat()


def shifted(value: int | float, by: float) -> int | float:
    """``value`` moved by the share ``by``, never equal to it; an integer stays one, a float
    keeps its decimals."""
    if isinstance(value, int):
        new = round(value * (1 + by))
        if new == value:
            new = value + (1 if by >= 0 else -1)
        return new
    text = repr(float(value))
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 2
    new = round(value * (1 + by), min(decimals, 6))
    if new == value:
        new = round(value + (10 ** -min(decimals, 6)) * (1 if by >= 0 else -1), min(decimals, 6))
    return new


def _candidates(doc: Any, op: Op, fields: list[str]) -> list[Parts]:
    paths = (
        jsonpath.match_fields(doc, fields) if fields else [p for p, _ in jsonpath.walk(doc) if p]
    )
    values = [(p, jsonpath.get(doc, p)) for p in paths]
    if op == "shift_number":
        return [p for p, v in values if _is_number(v)]
    if op == "move_date":
        return [p for p, v in values if _is_date(v)]
    if op == "empty_list":
        return [p for p, v in values if isinstance(v, list) and v]
    if op == "shorten_list":
        return [p for p, v in values if isinstance(v, list) and len(v) >= 2]
    return [
        p for p, v in values if jsonpath.is_scalar(v) and v is not None and not isinstance(v, bool)
    ]


def _swap_pair(doc: Any, paths: list[Parts], rng: random.Random) -> list[Parts]:
    """Two paths whose values have the same type and differ (the first such pair in a seeded
    order)."""
    order = list(paths)
    rng.shuffle(order)
    for i, first in enumerate(order):
        a = jsonpath.get(doc, first)
        for second in order[i + 1 :]:
            b = jsonpath.get(doc, second)
            if type(a) is type(b) and a != b:
                return sorted([first, second], key=paths.index)
    return []


class LyingTool(Fault):
    """A tool answers with its usual shape and plausible wrong values."""

    type: Literal["lying_tool"] = "lying_tool"
    category = "meaning"
    search_order = 150
    op: Op = Field(description="shift_number | swap_values | move_date | empty_list | shorten_list")
    fields: list[str] = Field(
        default_factory=list,
        description="Dotted paths or plain key names to change; empty = one chosen at random.",
    )
    by: float | None = Field(
        None,
        description="shift_number: share to move by (0.2 = +20 %); move_date: days. "
        "Default: drawn (10-50 %, 1-30 days, either way).",
    )
    keep: int | None = Field(None, ge=1, description="shorten_list: items kept (default half).")

    formats: ClassVar[frozenset[WireFormat] | None] = frozenset({WireFormat.json, WireFormat.mcp})

    @field_validator("fields")
    @classmethod
    def _valid_fields(cls, fields: list[str]) -> list[str]:
        for spec in fields:
            jsonpath.field_path(spec, root_error="a field must not be empty")
        return fields

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """A wrong value in a tool's answer, the field picked with the scenario's seed."""
        from hypothesis import strategies as st

        return st.builds(
            lambda op: cls(op=op),
            st.sampled_from(
                ("shift_number", "shorten_list", "move_date", "swap_values", "empty_list")
            ),
        )

    def describe(self) -> str:
        where = ", ".join(self.fields) if self.fields else "a field"
        return {
            "shift_number": f"tool lies: {where} shifted",
            "swap_values": f"tool lies: {where} swapped",
            "move_date": f"tool lies: {where} moved in time",
            "empty_list": f"tool lies: {where} empty",
            "shorten_list": f"tool lies: {where} shortened",
        }[self.op]

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        located = mcp.read_message(plan)
        if located is None:
            return Applied(plan, [])
        result = mcp.tool_result(located.value)
        if result is None:
            changes = self._changes(located.value, ctx.rng)
            if not changes:
                return Applied(plan, [])
            new = located.value
            for parts, _, lie in changes:
                new = jsonpath.set_value(new, parts, lie)
            alterations = [self._alteration(jsonpath.join("", p), t, lie) for p, t, lie in changes]
            return Applied(mcp.write_message(plan, located, new), alterations)
        docs = mcp.result_documents(result)
        if not docs:
            return Applied(plan, [])
        primary = docs[0]
        changes = self._changes(primary.value, ctx.rng)
        if not changes:
            return Applied(plan, [])
        alterations: list[Alteration] = []
        for doc in docs:
            value = doc.value
            applied = []
            for parts, truth, lie in changes:
                if jsonpath.exists(value, parts) and jsonpath.get(value, parts) == truth:
                    value = jsonpath.set_value(value, parts, lie)
                    applied.append((parts, truth, lie))
            if not applied:
                continue
            result = mcp.with_document(result, doc, value)
            if doc is primary or doc.value != primary.value:
                alterations.extend(self._alteration(_path(doc, p), t, lie) for p, t, lie in applied)
        message = mcp.with_result(located.value, result)
        return Applied(mcp.write_message(plan, located, message), alterations)

    def _changes(self, doc: Any, rng: random.Random) -> list[tuple[Parts, Any, Any]]:
        """(path, true value, the lie) for each change, in document order."""
        paths = _candidates(doc, self.op, self.fields)
        if self.op == "swap_values":
            pair = _swap_pair(doc, paths, rng)
            if not pair:
                return []
            a, b = (jsonpath.get(doc, p) for p in pair)
            return [(pair[0], a, b), (pair[1], b, a)]
        if not paths:
            return []
        chosen = paths if self.fields else [rng.choice(paths)]
        out = []
        for parts in chosen:
            truth = jsonpath.get(doc, parts)
            out.append((parts, truth, self._lie(truth, rng)))
        return out

    def _lie(self, truth: Any, rng: random.Random) -> Any:
        sign = rng.choice((1, -1))
        if self.op == "shift_number":
            by = self.by if self.by is not None else sign * rng.uniform(0.1, 0.5)
            return shifted(truth, by)
        if self.op == "move_date":
            days = int(self.by) if self.by is not None else sign * rng.randint(1, 30)
            return moved_date(truth, days or 1)
        if self.op == "empty_list":
            return []
        keep = self.keep if self.keep is not None else max(1, len(truth) // 2)
        return truth[: min(keep, len(truth) - 1)]

    def _alteration(self, path: str, truth: Any, lie: Any) -> Alteration:
        action = "truncated" if isinstance(truth, list) else "replaced"
        return Alteration(path=path, action=action, original=truth, value=lie)


def _path(doc: mcp.ResultDocument, parts: Parts) -> str:
    if doc.text is not None:
        return f"{doc.where}::{jsonpath.format_path(parts)}"
    return jsonpath.join(doc.where, parts)
