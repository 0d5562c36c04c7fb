"""The search: hypothesis runs a trial per generated fault schedule and shrinks the ones the
target does not survive.

A trial is any ``plan -> Verdict`` function (the runner's cell, a test's own world). Each kind
of uncontrolled verdict raises its own exception class, because hypothesis shrinks failures
with different exception types separately: one search reports a crash and a retry storm as two
weaknesses, each with its own minimal schedule.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faultkit.errors import FaultkitError
from faultkit.scenario import Scenario

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.oracle import Verdict

DEFAULT_BUDGET = 200
DATABASE_DIR = Path(".faultkit") / "hypothesis"

Trial = Callable[[Scenario], "Verdict"]


# -- failures as exceptions hypothesis can tell apart -----------------------------------------
class UncontrolledPlan(AssertionError):
    """A plan under which the target was not controlled. Carries the plan and the verdict, and
    prints the full failure report (what pytest and hypothesis show)."""

    def __init__(self, plan: Scenario, verdict: Verdict, report: str) -> None:
        super().__init__(report)
        self.plan = plan
        self.verdict = verdict
        self.report = report


_KINDS: dict[str, type[UncontrolledPlan]] = {}


def _exception_for(kind: str) -> type[UncontrolledPlan]:
    """One exception class per verdict kind: hypothesis shrinks failures with different
    exception types separately, so a crash and a retry storm each get their own minimal plan."""
    cls = _KINDS.get(kind)
    if cls is None:
        name = "Uncontrolled" + "".join(part.title() for part in kind.split("_"))
        cls = type(name, (UncontrolledPlan,), {"__module__": __name__})
        _KINDS[kind] = cls
    return cls


def failure_for(plan: Scenario, verdict: Verdict, repro: str | None = None) -> UncontrolledPlan:
    """The exception describing ``plan``'s failure: verdict, schedule in words, YAML, repro."""
    from faultkit.strategies.describe import failure_report

    report = failure_report(plan, repro=repro or verdict.repro or None, verdict=verdict.explain())
    return _exception_for(verdict.kind)(plan, verdict, report)


def record_event(verdict: Verdict) -> None:
    """Count verdicts in hypothesis's statistics (``--hypothesis-show-statistics``)."""
    try:
        from hypothesis import event
        from hypothesis.control import currently_in_test_context
    except ImportError:  # pragma: no cover - hypothesis is optional outside a search
        return
    if currently_in_test_context():
        event("faultkit verdict", verdict.kind)


# -- the search --------------------------------------------------------------------------------
@dataclass
class Found:
    """One minimal failing schedule: the plan, its verdict, the printed report, where it was
    saved (when it was), and whether re-running it gave the same kind of verdict again (a
    target whose outcome depends on timing may not)."""

    plan: Scenario
    verdict: Verdict
    report: str
    path: Path | None = None
    reproduced: bool = True


@dataclass
class ExploreResult:
    examples: int = 0
    failures: list[Found] = field(default_factory=list)
    seed: int | None = None
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


TARGETED_FROM = 200  # budgets from which the search is steered by :func:`depth`


def depth(verdict: Verdict) -> float:
    """How far into the app's recovery paths a trial went, for the targeted phase: the
    exchanges its findings name, and a bonus when the app retried or fell back."""
    named = {i for finding in verdict.findings for i in finding.entry_ids}
    recovering = verdict.kind in ("retried", "fallback")
    return len(named) + (2.0 if recovering else 0.0)


def explore(
    trial: Trial,
    strategy: SearchStrategy[Scenario],
    *,
    budget: int = DEFAULT_BUDGET,
    seed: int | None = None,
    database: str | Path | None = None,
    key: str = "",
    repro: Callable[[Scenario], str] | None = None,
    derandomize: bool = False,
    polish: bool = True,
    targeted: bool | None = None,
) -> ExploreResult:
    """Search ``strategy``'s plans for ones under which ``trial`` gives an uncontrolled verdict.

    ``budget`` is hypothesis's ``max_examples``; ``seed`` fixes the search (None: a fresh
    one); ``database`` is the example-database directory (None: none), and ``key`` keeps
    different targets' examples apart in it. ``repro(plan)`` is the command printed for a found
    plan. Returns every distinct minimal failure, one per verdict kind.

    With ``polish`` each finding is re-run, then its rules are dropped one at a time while the
    same kind of failure remains (:func:`polish_plan`): hypothesis stops shrinking every
    finding when one of several stops reproducing, which a target with real timing can do.

    ``targeted`` steers the search by :func:`depth` (None: when ``budget`` is at least
    :data:`TARGETED_FROM`); a search split into parts passes the whole search's choice."""
    from hypothesis import HealthCheck, Phase, given, settings, target
    from hypothesis import seed as fixed_seed
    from hypothesis.database import DirectoryBasedExampleDatabase

    if budget < 1:
        raise FaultkitError(f"budget must be at least 1, got {budget}")
    result = ExploreResult(seed=seed)
    if targeted is None:
        targeted = budget >= TARGETED_FROM
    db = None
    if database is not None:
        folder = Path(database)
        if key:
            folder = folder / slug(key)
        db = DirectoryBasedExampleDatabase(str(folder))

    def run_once(plan: Scenario) -> None:
        verdict = trial(plan)
        # Steer a long search towards schedules that push the app deeper (more exchanges
        # named, retries, fallbacks): a weakness behind a recovery path (a stream broken on
        # the retry after a 429) needs two faults in a row, which blind sampling rarely draws
        # among a dozen fault types (1500 blind draws missed it; steered, found on every seed
        # tried). A short search cannot afford the hill-climbing and samples blindly.
        if targeted:
            target(depth(verdict), label="depth")
        result.examples += 1
        result.verdicts[verdict.kind] = result.verdicts.get(verdict.kind, 0) + 1
        record_event(verdict)
        if not verdict.ok:
            raise failure_for(plan, verdict, repro(plan) if repro else None)

    options = settings(
        max_examples=budget,
        deadline=None,
        database=db,
        derandomize=derandomize and seed is None,
        report_multiple_bugs=True,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    test = given(plan=strategy)(run_once)
    if seed is not None:
        # @seed also switches the database off; the settings applied after it switch it back
        # on, so a seeded search still replays what failed before.
        test = fixed_seed(seed)(test)
    test = options(test)
    try:
        test()
    except UncontrolledPlan as exc:
        result.failures.append(Found(exc.plan, exc.verdict, exc.report))
    except BaseExceptionGroup as group:
        found, others = group.split(UncontrolledPlan)
        if others is not None:
            raise others from None
        for exc in _leaves(found):
            result.failures.append(Found(exc.plan, exc.verdict, exc.report))
    if polish:
        result.failures = [_polished(trial, found, repro) for found in result.failures]
    return result


def part_seed(seed: int, index: int) -> int:
    """The seed of part ``index`` of a search split into parts (``faultkit explore --jobs``):
    part 0 keeps ``seed``, so one part is the plain search; the others are hashed from
    (seed, index), so the parts draw independently and the same seed and ``--jobs`` give the
    same parts again."""
    if index == 0:
        return seed
    digest = hashlib.sha256(f"{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def part_budgets(budget: int, parts: int) -> list[int]:
    """``budget`` shared by ``parts`` searches as evenly as it divides (none gets 0)."""
    parts = max(1, min(parts, budget))
    return [budget // parts + (1 if i < budget % parts else 0) for i in range(parts)]


def _smallness(found: Found) -> tuple[bool, int, int]:
    return (not found.reproduced, len(found.plan.rules), len(found.plan.to_yaml()))


def merge(parts: list[ExploreResult]) -> ExploreResult:
    """One result from independent searches of the same target: schedules and verdicts
    summed, and one failure per verdict kind, the smallest found (reproduced first, then
    fewest rules, then the shortest YAML), as a single search reports one per kind."""
    merged = ExploreResult(seed=parts[0].seed if parts else None)
    best: dict[str, Found] = {}
    for part in parts:
        merged.examples += part.examples
        for kind, count in part.verdicts.items():
            merged.verdicts[kind] = merged.verdicts.get(kind, 0) + count
        for found in part.failures:
            kind = found.verdict.kind
            if kind not in best or _smallness(found) < _smallness(best[kind]):
                best[kind] = found
    merged.failures = list(best.values())
    return merged


def polish_plan(trial: Trial, plan: Scenario, kind: str) -> tuple[Scenario, Verdict | None]:
    """``plan`` made as small as the trial allows while it still gives a ``kind`` verdict:
    rules dropped one at a time, then runs of calls (``calls: "1-2"``) narrowed to one call.
    Returns the plan and its verdict (None: ``plan`` itself did not give ``kind`` again)."""
    verdict = trial(plan)
    if verdict.kind != kind:
        return plan, None
    index = 0
    while index < len(plan.rules):
        candidate = _with_rules(plan, [*plan.rules[:index], *plan.rules[index + 1 :]])
        again = trial(candidate)
        if again.kind == kind:
            plan, verdict = candidate, again
        else:
            index += 1
    for index, rule in enumerate(plan.rules):
        span = rule.when.call_range()
        if span is None or rule.when.nth is not None:
            continue
        for call in range(span[0], span[1] + 1):
            when = rule.when.model_copy(update={"calls": None, "nth": call})
            single = rule.model_copy(update={"when": when, "name": None})
            candidate = _with_rules(plan, [*plan.rules[:index], single, *plan.rules[index + 1 :]])
            again = trial(candidate)
            if again.kind == kind:
                plan, verdict = candidate, again
                break
    return plan, verdict


def _with_rules(plan: Scenario, rules: list[Any]) -> Scenario:
    """``plan`` with ``rules``; a rule without a name gets one. Names are otherwise kept: a
    rule's name seeds its fault's random choices, so renaming it could change what it does
    (a renamed candidate is re-run like any other, and only kept if it still fails)."""
    from faultkit.strategies.describe import summarize
    from faultkit.strategies.plans import name_rules

    data = {**plan.model_dump(), "rules": [r.model_dump() for r in name_rules(rules)]}
    candidate = Scenario.model_validate(data)
    return candidate.model_copy(update={"description": summarize(candidate)})


def _polished(trial: Trial, found: Found, repro: Callable[[Scenario], str] | None) -> Found:
    plan, verdict = polish_plan(trial, found.plan, found.verdict.kind)
    if verdict is None:
        return Found(found.plan, found.verdict, found.report, reproduced=False)
    if plan == found.plan:
        return found
    failure = failure_for(plan, verdict, repro(plan) if repro else None)
    return Found(plan, verdict, failure.report)


def _leaves(group: BaseExceptionGroup | None) -> list[UncontrolledPlan]:
    if group is None:
        return []
    out: list[UncontrolledPlan] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            out.extend(_leaves(exc))
        elif isinstance(exc, UncontrolledPlan):
            out.append(exc)
    return out


def readable(text: str) -> str:
    """``text`` as a file and scenario name: letters, digits and ``_.-``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:40] or "target"


def slug(text: str) -> str:
    """A readable name for ``text`` plus a short hash, so different texts never collide."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{readable(text)}-{digest}"


def schedule_name(prefix: str, found: Found) -> str:
    """``<prefix>-<verdict>-<hash>``: the verdict kind, then a short hash of the schedule
    itself (its seed and rules, not its name or description). Two different schedules of the
    same kind, from two runs or two parts of one, get two names (a second crash found next
    week must not overwrite this week's regression file); the same schedule found again gets
    the same name, so re-running a search overwrites rather than piles up its findings."""
    plan = found.plan.model_dump(mode="json", exclude={"name", "description"})
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:8]
    return f"{prefix}-{found.verdict.kind.replace('_', '-')}-{digest}"


def save_failures(
    result: ExploreResult, out_dir: str | Path, *, prefix: str = "explored"
) -> list[Path]:
    """Write each minimal failing plan as ``<name>.yaml`` in ``out_dir``, its name from
    :func:`schedule_name`."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FaultkitError(f"{folder}: cannot create: {exc.strerror or exc}") from None
    written: list[Path] = []
    for found in result.failures:
        name = schedule_name(prefix, found)
        plan = found.plan.model_copy(update={"name": name})
        path = folder / f"{name}.yaml"
        header = f"# found by faultkit explore: {found.verdict.kind}\n"
        try:
            path.write_text(header + plan.to_yaml(), encoding="utf-8")
        except OSError as exc:
            raise FaultkitError(f"{path}: cannot write: {exc.strerror or exc}") from None
        found.path = path
        written.append(path)
    return written
