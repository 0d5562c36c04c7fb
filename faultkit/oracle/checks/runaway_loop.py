"""``runaway_loop``: one user request took more model steps, or more tool steps, than the
contract's ``max_steps``.

An agent that keeps calling the same tool, or keeps asking the model again after every tool
answer, never ends on its own; each turn costs a model call and a tool call. Frameworks bound
it (openai-agents' ``max_turns``, pydantic-ai's ``UsageLimits``, LangChain's
``max_iterations``); ``max_steps`` is that bound as the contract states it. A step is a
logical call (:mod:`faultkit.oracle.tools`): retries and re-asks are attempts of one step and
are judged by the retry checks, so a polite retry never counts as a loop.
"""

from __future__ import annotations

from collections import Counter

from faultkit.oracle.checks.base import HURTS_UPSTREAM, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.tools import STEP_FACTS, steps
from faultkit.oracle.verdict import Finding

RUNAWAY_LOOP = Kind("runaway_loop", HURTS_UPSTREAM + 3, "uncontrolled")


def check(ctx: Context) -> list[Finding]:
    limit = ctx.contract.max_steps
    if limit is None:
        return []
    model_steps, tool_steps = steps(ctx.entries, ctx.contract)
    counts = {"model": len(model_steps), "tool": len(tool_steps)}
    over = [what for what, n in counts.items() if n > limit]
    if not over:
        return []
    beyond = {
        key for what in over for key in (model_steps if what == "model" else tool_steps)[limit:]
    }
    ids = [e.id for e in ctx.entries if (e.route, e.logical_call) in beyond]
    asked = Counter(name for e in ctx.entries for name in e.tool_calls if name)
    tool_keys = set(tool_steps)
    repeated = Counter(
        (e.method, e.url) for e in ctx.entries if (e.route, e.logical_call) in tool_keys
    )
    values: dict[str, object] = {
        "max_steps": limit,
        "model_steps": counts["model"],
        "tool_steps": counts["tool"],
    }
    detail = ""
    if asked:
        name, times = asked.most_common(1)[0]
        values["most_asked_tool"] = {"name": name, "times": times}
        detail = f"; the model asked for {name} {times} times"
    if repeated:
        (method, url), times = repeated.most_common(1)[0]
        if times > 1:
            values["most_repeated_request"] = {"request": f"{method} {url}", "times": times}
    took = " and ".join(f"{counts[w]} {w} steps" for w in over)
    return [
        Finding(
            kind="runaway_loop",
            summary=f"one request took {took}, more than max_steps {limit}{detail}",
            entry_ids=ids,
            values=values,
        )
    ]


CHECK = Check(kinds=(RUNAWAY_LOOP,), needs=STEP_FACTS | {"tool_calls", "method", "url"}, run=check)
