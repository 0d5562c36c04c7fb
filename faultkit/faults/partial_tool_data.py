"""Partial tool data: a tool answers successfully, but with part of its data missing (F23, §5.4).

A tool that timed out on one backend, hit a page limit or lost a join still answers 200 with
well-formed JSON: some fields absent, a list cut short, values null, or (MCP) ``isError: true``
alongside the part it did fetch. The replayed model answer was recorded with the full data, so
a system that does not check its evidence passes the missing values on as fact. The oracle
catches that (``unknown_as_known``) by searching the answer for the values removed here, which
is why every removed or nulled value is recorded with its path and original value.

``op``:

- ``drop_fields``: remove object members (or list items named by path);
- ``cut_lists``: keep the first ``keep`` items of a list (default: drop ``fraction`` of them,
  from the end, as a truncated page looks);
- ``null_values``: set values to ``null``.

``fields`` names what to affect: dotted paths from the root (``orders[*].total``) or plain key
names, which match that key at any depth (``email``). Empty: chosen with the seeded RNG among
the scalar fields (drop/null) or the outermost lists (cut). ``fraction`` is the share of the
candidates affected (or of a list's items, for ``cut_lists``); it defaults to 0.5 for random
choices and to 1 (every match) when ``fields`` is given.

The data is the whole body for a generic JSON tool; for an MCP ``tools/call`` result it is
``structuredContent`` and every JSON ``text`` block that mirrors it, changed alike so the copies
agree. ``is_error`` (MCP) also sets ``isError: true``, keeping the partial content.
"""

from __future__ import annotations

import math
import random
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

Op = Literal["drop_fields", "cut_lists", "null_values"]


def _is_key_name(spec: str) -> bool:
    return not any(c in spec for c in ".[]*")


def _count(fraction: float, n: int) -> int:
    return max(1, min(n, math.floor(fraction * n + 0.5)))


def _matches(doc: Any, fields: list[str]) -> list[Parts]:
    found: dict[Parts, None] = {}
    for spec in fields:
        paths = (
            jsonpath.find_key(doc, spec)
            if _is_key_name(spec)
            else jsonpath.expand(doc, jsonpath.parse_path(spec))
        )
        for parts in paths:
            if parts:
                found.setdefault(parts, None)
    return list(found)


def _without_descendants(paths: list[Parts]) -> list[Parts]:
    """Drop paths that sit inside another path of the list (their ancestor goes anyway)."""
    chosen = set(paths)
    return [p for p in paths if not any(p[:n] in chosen for n in range(len(p)))]


def _doc_order(doc: Any) -> dict[Parts, int]:
    return {parts: i for i, (parts, _) in enumerate(jsonpath.walk(doc))}


def select(
    doc: Any,
    op: Op,
    fields: list[str],
    fraction: float | None,
    keep: int | None,
    rng: random.Random,
) -> list[Parts]:
    """The paths ``op`` affects in ``doc``: fields or list items to drop/null, or (for
    ``cut_lists``) the list items to cut. In document order."""
    order = _doc_order(doc)
    if op == "cut_lists":
        if fields:
            lists = [p for p in _matches(doc, fields) if isinstance(jsonpath.get(doc, p), list)]
        else:
            lists = _without_descendants(
                [p for p in jsonpath.list_paths(doc) if jsonpath.get(doc, p)]
            )
            lists = [rng.choice(lists)] if lists else []
        share = 0.5 if fraction is None else fraction
        cut: list[Parts] = []
        for parts in lists:
            items = jsonpath.get(doc, parts)
            kept = keep if keep is not None else len(items) - _count(share, len(items))
            cut.extend((*parts, i) for i in range(max(0, kept), len(items)))
        return sorted(set(cut), key=order.__getitem__)

    if fields:
        found = _matches(doc, fields)
        share = 1.0 if fraction is None else fraction
    else:
        found = jsonpath.leaf_field_paths(doc)
        share = 0.5 if fraction is None else fraction
    if op == "null_values":
        found = [p for p in found if jsonpath.get(doc, p) is not None]
    found = _without_descendants(found)
    if not found:
        return []
    picked = rng.sample(found, _count(share, len(found))) if share < 1 else found
    return sorted(picked, key=order.__getitem__)


def apply_to(doc: Any, op: Op, targets: list[Parts]) -> tuple[Any, list[tuple[Parts, Any]]]:
    """``doc`` with ``targets`` removed (drop/cut) or nulled; returns the new value and the
    (path, original value) of each target that was present."""
    removed: list[tuple[Parts, Any]] = []
    absent = object()
    present = [(p, jsonpath.get(doc, p, absent)) for p in targets]
    present = [(p, v) for p, v in present if v is not absent]
    if op == "null_values":
        for parts, _ in present:
            doc = jsonpath.set_value(doc, parts, None)
    else:
        # Last first, so deleting a list item never shifts one still to be deleted.
        for parts, _ in reversed(present):
            doc = jsonpath.delete(doc, parts)
    removed.extend(present)
    return doc, removed


class PartialToolData(Fault):
    """Remove, cut or null part of a tool's answer (optionally flagging an MCP error)."""

    type: Literal["partial_tool_data"] = "partial_tool_data"
    category = "meaning"
    search_order = 110
    op: Op = Field(description="drop_fields | cut_lists | null_values")
    fields: list[str] = Field(
        default_factory=list,
        description="Dotted paths or plain key names to affect; empty = chosen at random.",
    )
    fraction: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Share of candidates (or list items) affected; default 0.5, 1 with fields.",
    )
    keep: int | None = Field(None, ge=0, description="cut_lists: how many items to keep.")
    is_error: bool = Field(False, description="MCP: also set isError: true.")

    formats: ClassVar[frozenset[WireFormat] | None] = frozenset({WireFormat.json, WireFormat.mcp})

    @classmethod
    def strategy(
        cls, limits: Limits, route: str | None, *, mcp: bool = False
    ) -> SearchStrategy[Fault]:
        """Part of a tool's answer missing, the fields picked with the scenario's seed.
        ``mcp`` also tries flagging the result ``isError`` (MCP tools only). For faults over a
        recorded answer's own fields, use ``faultkit.strategies.partial_tool_data(payload)``."""
        from hypothesis import strategies as st

        from faultkit.faults._search import optional

        return st.builds(
            lambda op, fraction, is_error: cls(op=op, fraction=fraction, is_error=is_error),
            st.sampled_from(("drop_fields", "null_values", "cut_lists")),
            optional(st.sampled_from((0.5, 1.0, 0.25))),
            st.booleans() if mcp else st.just(False),
        )

    def describe(self) -> str:
        fields = ", ".join(self.fields) if self.fields else None
        if self.op == "drop_fields":
            text = f"tool data: {fields} dropped" if fields else "tool data: some fields dropped"
        elif self.op == "null_values":
            text = f"tool data: {fields} null" if fields else "tool data: some values null"
        else:
            kept = f" to {self.keep} items" if self.keep is not None else ""
            text = (
                f"tool data: list {fields} cut{kept}" if fields else f"tool data: a list cut{kept}"
            )
        return text + (" (isError)" if self.is_error else "")

    @field_validator("fields")
    @classmethod
    def _valid_fields(cls, fields: list[str]) -> list[str]:
        for spec in fields:
            jsonpath.field_path(spec, root_error="a field must not be empty")
        return fields

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        located = mcp.read_message(plan)
        if located is None:
            return Applied(plan, [])
        result = mcp.tool_result(located.value)
        if result is None:
            new, alterations = self._cut(located.value, "", ctx.rng)
            if not alterations:
                return Applied(plan, [])
            return Applied(mcp.write_message(plan, located, new), alterations)

        alterations: list[Alteration] = []
        docs = mcp.result_documents(result)
        if docs:
            primary = docs[0]
            targets = select(primary.value, self.op, self.fields, self.fraction, self.keep, ctx.rng)
            for doc in docs:
                new_value, removed = apply_to(doc.value, self.op, targets)
                if not removed:
                    continue
                result = mcp.with_document(result, doc, new_value)
                # A mirror of the primary document holds the same values: record them once.
                if doc is primary or doc.value != primary.value:
                    alterations.extend(self._record(doc, removed))
        if self.is_error and result.get("isError") is not True:
            alterations.append(
                Alteration(
                    path="result.isError",
                    action="replaced",
                    original=result.get("isError"),
                    value=True,
                )
            )
            result = {**result, "isError": True}
        if not alterations:
            return Applied(plan, [])
        message = mcp.with_result(located.value, result)
        return Applied(mcp.write_message(plan, located, message), alterations)

    def _cut(self, doc: Any, prefix: str, rng: random.Random) -> tuple[Any, list[Alteration]]:
        targets = select(doc, self.op, self.fields, self.fraction, self.keep, rng)
        new, removed = apply_to(doc, self.op, targets)
        return new, [self._alteration(jsonpath.join(prefix, p), v) for p, v in removed]

    def _record(
        self, doc: mcp.ResultDocument, removed: list[tuple[Parts, Any]]
    ) -> list[Alteration]:
        def path(parts: Parts) -> str:
            if doc.text is not None:
                return f"{doc.where}::{jsonpath.format_path(parts)}"
            return jsonpath.join(doc.where, parts)

        return [self._alteration(path(p), v) for p, v in removed]

    def _alteration(self, path: str, original: Any) -> Alteration:
        if self.op == "null_values":
            return Alteration(path=path, action="replaced", original=original, value=None)
        return Alteration(path=path, action="removed", original=original)
