"""``unknown_as_known``: the SUT states as fact something its tools never told it, because a
fault took it away.

Two ways it happens, both read off the ledger's alterations:

**The lost value leaks.** The replayed model answer was recorded with the complete tool data, so
a SUT that does not check what its tools actually returned passes the recorded values on. Each
value a ``partial_tool_data`` fault took away is searched in the answer (not in the trace) by
the rule of :mod:`faultkit.oracle.values`. What counts as taken away, per alteration ``action``:

* ``removed`` / ``nulled``: the original value;
* ``replaced``: the original, when the new value differs (a value swapped for a placeholder);
* ``truncated``: for a cut list, the items no longer in it; for a cut string, the original.

**A default stands in for it.** A field that ``partial_tool_data`` or ``schema_drift`` removed,
nulled or renamed away is present in the answer, under the same field name, with a value the
tool never delivered: ``0.0``, ``"requested"``, ``""``, ``false``, ``[]``, whatever the SUT's
model defaults to. The SUT did not know the value and said it did. Saying it did not know is
right: a null, or a text carrying one of the contract's ``unknown_markers`` (``"unknown"``,
``"n/a"``...), is never flagged. To keep false alarms out:

* a field taken from one item of a list (``orders[1].total``) matches only the answer field at
  the same item (a path ending in ``[1].total``), not a ``total`` about another order;
* a list item that a cut list dropped is not a field (the leak rule covers its values);
* with ``tool_fields`` declared in the contract, only those answer fields count: the others are
  the SUT's own (its ``status`` need not be the tool's ``status``);
* the original value itself is left to the leak rule (and, after schema drift of the model's
  answer, was known from elsewhere).

Never counted, in both rules: a value the SUT had without the tool, found (by the same rule) in
what it was asked (``result.inputs``) or in the URL it called the tool with (``/orders/1042`` ->
``1042``); and an alteration made good by a later complete answer to the same request (the same
logical call, the identical request sent again, a declared fallback route, or for the model's own
answer any later model answer), which did deliver the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faultkit.faults.base import Alteration
from faultkit.formats.jsonpath import (
    JsonPathError,
    Parts,
    expand,
    find_key,
    format_path,
    parse_path,
    walk,
)
from faultkit.ledger import LedgerEntry
from faultkit.oracle.checks.base import MISLEADING, Check, Kind
from faultkit.oracle.checks.silent_tool_failure import marker_pattern
from faultkit.oracle.context import Context
from faultkit.oracle.facts import FAILURE_FACTS, PROVIDER_FORMATS, failed, faults_of, glob_any
from faultkit.oracle.values import field_name, find, same_value
from faultkit.oracle.verdict import Finding

UNKNOWN_AS_KNOWN = Kind("unknown_as_known", MISLEADING, "uncontrolled")

DATA_LOSS_FAULTS = ("partial_tool_data",)
# Faults that take a field away from what the SUT reads; a value stated for it afterwards was
# not delivered.
FIELD_LOSS_FAULTS = ("partial_tool_data", "schema_drift")


def lost_value(alt: Alteration) -> Any:
    """What ``alt`` took away (None when nothing)."""
    if alt.path.replace("]", "").endswith("isError"):
        return None
    if alt.action in ("removed", "nulled"):
        return alt.original
    if alt.action == "replaced":
        return None if same_value(alt.original, alt.value) else alt.original
    if alt.action == "truncated":
        if isinstance(alt.original, list):
            kept = alt.value if isinstance(alt.value, list) else []
            return [item for item in alt.original if item not in kept]
        return alt.original if isinstance(alt.original, str) else None
    return None


def made_good(entry: LedgerEntry, alt: Alteration, ctx: Context) -> bool:
    """A later answer completed without ``alt`` and superseded the altered one: the same
    request again (the same logical call, or the identical request), a declared fallback route,
    or, when the altered answer was the model's, any later model answer."""
    providers = {e.id for e in ctx.provider_entries}
    provider = entry.id in providers
    for later in ctx.entries:
        if later.id <= entry.id or later.ending != "completed" or failed(later):
            continue
        if any(a.path == alt.path for f in later.faults for a in f.alterations):
            continue
        same = later.route == entry.route and (
            later.body_hash == entry.body_hash or later.logical_call == entry.logical_call
        )
        if (
            same
            or glob_any(later.route, ctx.fallback_routes)
            or (provider and later.id in providers)
        ):
            return True
    return False


def lost_values(
    ctx: Context, faults: tuple[str, ...] = DATA_LOSS_FAULTS
) -> list[tuple[LedgerEntry, Alteration, Any]]:
    """Each value a fault of ``faults`` took from what the SUT read, and not made good."""
    out = []
    for entry in ctx.entries:
        for fault in faults_of(entry, *faults):
            for alt in fault.alterations:
                lost = lost_value(alt)
                if lost not in (None, [], {}, "") and not made_good(entry, alt, ctx):
                    out.append((entry, alt, lost))
    return out


@dataclass(frozen=True)
class GoneField:
    """A field a fault took away: its name, and (for a field of one list item) the path tail
    from that item on, which the answer's field must end with (``(1, "total")``)."""

    entry: LedgerEntry
    alt: Alteration
    name: str
    item_tail: Parts


def alteration_parts(alt: Alteration) -> Parts | None:
    """The parts of ``alt``'s path inside the document it altered (after ``::``)."""
    try:
        return parse_path(alt.path.rsplit("::", 1)[-1])
    except JsonPathError:
        return None


def item_tail(parts: Parts) -> Parts:
    """From the last list index on (``orders[1].total`` -> ``(1, "total")``); empty when the
    path goes through no list: the field belongs to the one object there is."""
    indexes = [i for i, p in enumerate(parts) if isinstance(p, int)]
    return parts[indexes[-1] :] if indexes else ()


def ends_with(path: str | Parts, tail: Parts) -> bool:
    if isinstance(path, str):
        try:
            path = parse_path(path)
        except JsonPathError:
            return False
    return not tail or tuple(path[-len(tail) :]) == tail


def gone_field(entry: LedgerEntry, alt: Alteration) -> tuple[str, Parts] | None:
    """(name, item tail) of the field ``alt`` removed, nulled or renamed away; None when it
    took a list item, an MCP ``isError`` flag, a provider's envelope field (``id``, ``model``:
    not data the SUT answers with), or nothing that was there."""
    nulled = alt.action == "replaced" and alt.value is None and alt.original is not None
    if alt.action not in ("removed", "renamed") and not nulled:
        return None
    if entry.format in PROVIDER_FORMATS and "::" not in alt.path:
        return None
    parts = alteration_parts(alt)
    if not parts or not isinstance(parts[-1], str) or parts[-1] in ("*", "isError"):
        return None
    return parts[-1], item_tail(parts)


def gone_fields(ctx: Context) -> list[GoneField]:
    out = []
    for entry in ctx.entries:
        for fault in faults_of(entry, *FIELD_LOSS_FAULTS):
            for alt in fault.alterations:
                gone = gone_field(entry, alt)
                if gone is not None and not made_good(entry, alt, ctx):
                    out.append(GoneField(entry, alt, *gone))
    return out


def _declared_paths(answer: Any, fields: list[str]) -> set[Parts] | None:
    """Answer paths of the contract's declared tool fields (None: none declared)."""
    if not fields:
        return None
    paths: set[Parts] = set()
    for spec in fields:
        try:
            bare = not any(c in spec for c in ".[*")
            paths.update(find_key(answer, spec) if bare else expand(answer, spec))
        except JsonPathError:
            continue
    return paths


def _is_unknown(value: Any, markers: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, str) and markers is not None and bool(markers.search(value))


def stated_defaults(ctx: Context, given: Any) -> list[dict[str, Any]]:
    """Answer fields stating a value for a field the tool never delivered (the rule above)."""
    answer = ctx.answer
    markers = marker_pattern(ctx.contract.unknown_markers)
    declared = _declared_paths(answer, ctx.contract.tool_fields)
    out: list[dict[str, Any]] = []
    seen: set[Parts] = set()
    for gone in gone_fields(ctx):
        original = gone.alt.original if gone.alt.action != "renamed" else None
        for parts, value in walk(answer):
            if not parts or parts[-1] != gone.name or parts in seen:
                continue
            if not ends_with(parts, gone.item_tail):
                continue
            if declared is not None and parts not in declared:
                continue
            if isinstance(value, dict | list) and value:
                continue  # a structure: its leaves are the leak rule's to judge
            if _is_unknown(value, markers) or same_value(value, original) or value == original:
                continue
            if find(given, value, gone.name):
                continue
            seen.add(parts)
            out.append(
                {
                    "entry": gone.entry.id,
                    "route": gone.entry.route,
                    "path": gone.alt.path,
                    "action": gone.alt.action,
                    "value": original,
                    "found_at": format_path(parts),
                    "found": value,
                    "how": "default",
                }
            )
    return out


def given_values(ctx: Context) -> list[Any]:
    """What the SUT had without its tools: what it was asked, and the URLs it called."""
    return [ctx.result.inputs, [e.url for e in ctx.entries]]


def leaked(ctx: Context, faults: tuple[str, ...]) -> list[dict[str, Any]]:
    """Where a value that a fault of ``faults`` took away turns up in the answer (the rule of
    :mod:`faultkit.oracle.values`), unless the SUT had it without the tool. Shared with
    ``ungrounded_answer``: the true value a lying tool replaced is a value taken away too."""
    hits: list[dict[str, Any]] = []
    given = given_values(ctx)
    for entry, alt, lost in lost_values(ctx, faults):
        # A plain value taken from one list item is that item's fact: only the same item's
        # field says it, not a field of that name elsewhere nor a sentence.
        tail = () if isinstance(lost, dict | list) else item_tail(alteration_parts(alt) or ())
        for hit in find(ctx.answer, lost, field_name(alt.path)):
            if find(given, hit.searched, hit.field):
                continue
            if tail and (
                hit.how == "named" or (hit.how == "field" and not ends_with(hit.path, tail))
            ):
                continue
            hits.append(
                {
                    "entry": entry.id,
                    "route": entry.route,
                    "path": alt.path,
                    "action": alt.action,
                    "value": hit.searched,
                    "found_at": hit.path,
                    "found": hit.found,
                    "how": hit.how,
                }
            )
    return hits


def check(ctx: Context) -> list[Finding]:
    if ctx.outcome != "answer":
        return []
    hits = leaked(ctx, DATA_LOSS_FAULTS)
    hits.extend(stated_defaults(ctx, given_values(ctx)))
    if not hits:
        return []
    ids = list(dict.fromkeys(hit["entry"] for hit in hits))
    return [
        Finding(
            kind="unknown_as_known",
            summary=_summary(hits[0]) + (f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""),
            entry_ids=ids,
            values={"leaked": hits},
        )
    ]


def _summary(hit: dict[str, Any]) -> str:
    where = f"({hit['path']} {hit['action']} in #{hit['entry']})"
    if hit["how"] == "default":
        return (
            f"the answer states {hit['found']!r} at {hit['found_at']}, a field the tool on "
            f"{hit['route']} never delivered {where}, instead of marking it unknown"
        )
    return (
        f"{hit['value']!r}, which the tool on {hit['route']} never delivered {where}, appears "
        f"in the answer at {hit['found_at'] or '(root)'}"
    )


CHECK = Check(
    kinds=(UNKNOWN_AS_KNOWN,),
    needs=frozenset({"id", "route", "url", "logical_call", "body_hash", *FAILURE_FACTS}),
    run=check,
)
