"""Which tool a ledger entry ran, and how many steps a user request took: what the loop,
budget and side-effect checks read.

The contract names tools (``forbidden_tools: [issue_refund]``); the ledger sees routes, paths
and methods. A tool request is named, in this order:

1. by the contract's ``tools`` map (``issue_refund: "POST payments.*/refunds"``);
2. by its MCP ``tools/call`` name (the ledger's ``tool``);
3. derived from the run itself: a provider answer asked for tool calls (the ledger's
   ``tool_calls``), and the tool requests that followed it, before the next provider request,
   ran them: one name names them all; as many names as tool calls name them in order;
   otherwise nothing is derived (a guess would blame the wrong request).

Steps: a model step is one logical provider call, a tool step one logical tool call (a
retry or a re-ask is an attempt of the same step, judged by the retry checks). An MCP
session's own requests (``initialize``, ``tools/list``, notifications) run no tool and are
not steps.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    for entry in ordered:
        if not is_tool(entry, contract.tool_routes):
            _derive(asked, window, names)
            asked, window = list(entry.tool_calls), []
            continue
        if not runs_a_tool(entry):
            continue
        mapped = contract.tool_names_of(entry.method, entry.route, entry.url)
        if mapped:
            names[entry.id] = mapped[0]
        elif entry.format == "mcp" and entry.tool:
            names[entry.id] = entry.tool
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
        names[entry.id] = by_call[(entry.route, entry.logical_call)]


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
