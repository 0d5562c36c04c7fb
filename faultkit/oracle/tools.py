"""Which tool a ledger entry ran, and how many steps a user request took: what the loop,
budget and side-effect checks read.

The contract names tools (``forbidden_tools: [issue_refund]``); the ledger sees routes, paths
and methods. A tool request is named, in this order:

1. by the contract's ``tools`` map (``issue_refund: "POST payments.*/refunds"``);
2. by its MCP ``tools/call`` name (the ledger's ``tool``);
3. derived from the run itself: a provider answer asked for tool calls (the ledger's
   ``tool_calls``), and the tool requests that followed it, before the next provider request,
   ran them: one name names them all; as many names as tool calls name them in order (the
   calls the map or MCP already named taken out); otherwise nothing is derived (a guess
   would blame the wrong request). A derived name must also share a word with the request's
   URL path (``issue_refund`` and ``/v1/refunds``, ``freeze_membership`` and
   ``/members/7/freeze``): an app that refuses the call the model
   asked for and looks something else up instead must not be taken for running it.

Steps: a model step is one logical provider call, a tool step one logical tool call (a
retry or a re-ask is an attempt of the same step, judged by the retry checks). An MCP
session's own requests (``initialize``, ``tools/list``, notifications) run no tool and are
not steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from faultkit.ledger import LedgerEntry
from faultkit.oracle.contract import Contract
from faultkit.oracle.facts import is_tool

# The ledger facts these functions read (a check's ``needs``).
TOOL_FACTS = frozenset({"route", "method", "url", "format", "tool", "tool_calls", "arrival_ms"})
STEP_FACTS = frozenset({"route", "logical_call", "format", "tool"})


def runs_a_tool(entry: LedgerEntry) -> bool:
    """Whether a tool-route request runs a tool: every plain tool request does; on an MCP
    route only a ``tools/call``."""
    return entry.format != "mcp" or entry.tool is not None


def tool_names(entries: Iterable[LedgerEntry], contract: Contract) -> dict[int, str]:
    """Entry id -> the name of the tool it ran, for every tool request that can be named."""
    ordered = sorted(entries, key=lambda e: (e.arrival_ms, e.id))
    names: dict[int, str] = {}
    asked: list[str] = []  # the latest provider answer's tool calls
    window: list[LedgerEntry] = []  # the tool requests since that answer
    seen: set[tuple[str, int]] = set()  # logical calls named by the map since that answer
    for entry in ordered:
        if not is_tool(entry, contract.tool_routes):
            _derive(asked, window, names)
            asked, window, seen = list(entry.tool_calls), [], set()
            continue
        if not runs_a_tool(entry):
            continue
        mapped = contract.tool_names_of(entry.method, entry.route, entry.url)
        named = mapped[0] if mapped else entry.tool if entry.format == "mcp" else None
        if named:
            names[entry.id] = named
            # A call named by the map (or MCP) is one of the answer's calls: the rest are
            # derived from what is left.
            if named in asked and (entry.route, entry.logical_call) not in seen:
                asked.remove(named)
            seen.add((entry.route, entry.logical_call))
        else:
            window.append(entry)
    _derive(asked, window, names)
    return names


def _derive(asked: list[str], window: list[LedgerEntry], names: dict[int, str]) -> None:
    asked = [a for a in asked if a]
    if not asked or not window:
        return
    if len(set(asked)) == 1:
        for entry in window:
            if _related(asked[0], entry):
                names[entry.id] = asked[0]
        return
    # One logical call per tool call (a retried request keeps its call's name).
    calls: list[tuple[str, int]] = []
    for entry in window:
        if (entry.route, entry.logical_call) not in calls:
            calls.append((entry.route, entry.logical_call))
    if len(calls) != len(asked):
        return
    by_call = dict(zip(calls, asked, strict=True))
    for entry in window:
        name = by_call[(entry.route, entry.logical_call)]
        if _related(name, entry):
            names[entry.id] = name


# Words of a tool name that say what it does to anything (``get_order``, ``issue_refund``):
# left out when a name is compared with a path, which names the thing.
_VERBS = frozenset(
    "get set lookup look search find fetch list create update delete remove issue run call "  # noqa: SIM905
    "do make send post put add check read write query".split()
)


def _words(text: str) -> set[str]:
    """Lower-case words of a name or a path, a plural's ``s`` dropped, numbers and short
    words left out."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    out = set()
    for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()):
        if len(word) < 3 or word.isdigit():
            continue
        out.add(word[:-1] if word.endswith("s") and len(word) > 3 else word)
    return out


def _related(name: str, entry: LedgerEntry) -> bool:
    """Whether tool ``name`` and ``entry``'s URL path share a word (its verbs aside)."""
    return bool((_words(name) - _VERBS) & _words(urlsplit(entry.url).path))


def steps(entries: Iterable[LedgerEntry], contract: Contract) -> tuple[list, list]:
    """The model steps and the tool steps of a run: each a list of its logical calls, as
    ``(route, logical_call)``, in order of arrival."""
    model: list[tuple[str, int]] = []
    tool: list[tuple[str, int]] = []
    for entry in sorted(entries, key=lambda e: (e.arrival_ms, e.id)):
        key = (entry.route, entry.logical_call)
        if not is_tool(entry, contract.tool_routes):
            if key not in model:
                model.append(key)
        elif runs_a_tool(entry) and key not in tool:
            tool.append(key)
    return model, tool
