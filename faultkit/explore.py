"""``faultkit explore``: let hypothesis search fault schedules for the ones that break the target.

Hand-written scenarios test the failures someone thought of. Exploring runs the target under
many generated schedules (:func:`faultkit.strategies.fault_plans`), judges each run with the
oracle, and when a schedule leaves the target uncontrolled, hypothesis shrinks it to the fewest
and plainest faults that still do. Each kind of uncontrolled verdict (crash, retry storm,
leaked invalid output...) is shrunk on its own, so one search can report several distinct
weaknesses. The minimal schedules are written as scenario files: run them as regressions.

Hypothesis keeps its example database in ``.faultkit/hypothesis/`` so schedules that failed
before are replayed first next time, before any new search.

The same check backs the pytest side: :func:`check_plan` resets a session's engine to a plan,
runs the target, and judges it; :func:`assert_plan_controlled` raises with the shrunk plan as
scenario YAML, its summary in words, and the repro command.

Hypothesis is imported lazily: ``faultkit --help`` and the rest of the CLI never need it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faultkit.errors import FaultkitError
from faultkit.scenario import Scenario

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.engine import Engine
    from faultkit.oracle import Contract, Verdict
    from faultkit.session import FaultkitSession

DEFAULT_BUDGET = 200
DATABASE_DIR = Path(".faultkit") / "hypothesis"
NO_CASE: Any = object()


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


# -- running a plan in a pytest session -------------------------------------------------------
def reset_engine(engine: Engine, plan: Scenario, store: Any = None) -> None:
    """Make ``engine`` run ``plan`` from a clean slate: the plan's rules and seed, an empty
    ledger, call counters at zero and (when ``store`` can) recordings rewound. Clients already
    wired to the engine keep working, which is what lets one pytest fixture serve every
    example hypothesis generates."""
    engine.clear_rules()
    engine.ledger.reset()
    engine.scenario = plan
    engine.seed = plan.seed
    for index, rule in enumerate(plan.rules):
        engine.add_rule(
            rule if rule.name else rule.model_copy(update={"name": plan.rule_label(index)})
        )
    rewind = getattr(store, "rewind", None)
    if callable(rewind):
        rewind()


def _pytest_repro() -> str | None:
    current = os.environ.get("PYTEST_CURRENT_TEST")
    if not current:
        return None
    nodeid = current.rsplit(" (", 1)[0]
    return f"pytest '{nodeid}' (hypothesis replays the saved failure first)"


def check_plan(
    session: FaultkitSession,
    target: Callable[..., Any],
    case: Any = NO_CASE,
    *,
    plan: Scenario | None = None,
    contract: Contract | None = None,
) -> Verdict:
    """Run ``target(case)`` (or ``target()``) under ``plan`` on ``session``'s engine and judge it.

    With a plan the engine is reset to it first (see :func:`reset_engine`); without one the
    session's current rules and ledger are judged as they are."""
    from faultkit.oracle import capture, judge

    if plan is not None:
        reset_engine(session.engine, plan, session.store)
    result = capture(target) if case is NO_CASE else capture(target, case)
    scenario = plan if plan is not None else session.engine.scenario
    verdict = judge(session.engine.ledger, result, contract, scenario)
    _record_event(verdict)
    return verdict


def assert_plan_controlled(
    session: FaultkitSession,
    target: Callable[..., Any],
    case: Any = NO_CASE,
    *,
    plan: Scenario | None = None,
    contract: Contract | None = None,
    repro: str | None = None,
) -> Verdict:
    """:func:`check_plan`, raising :class:`UncontrolledPlan` unless the verdict is controlled
    and allowed. The message holds the verdict and its evidence, the plan in words, the plan
    as scenario YAML to save under ``scenarios/``, and the repro command."""
    __tracebackhide__ = True
    verdict = check_plan(session, target, case, plan=plan, contract=contract)
    if verdict.ok:
        return verdict
    scenario = plan if plan is not None else session.engine.scenario
    raise failure_for(scenario, verdict, repro or _pytest_repro())


def _record_event(verdict: Verdict) -> None:
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
    """One minimal failing schedule: the plan, its verdict, the printed report, and where it
    was saved (when it was)."""

    plan: Scenario
    verdict: Verdict
    report: str
    path: Path | None = None


@dataclass
class ExploreResult:
    examples: int = 0
    failures: list[Found] = field(default_factory=list)
    seed: int | None = None
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


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
) -> ExploreResult:
    """Search ``strategy``'s plans for ones under which ``trial`` gives an uncontrolled verdict.

    ``budget`` is hypothesis's ``max_examples``; ``seed`` fixes the search (None: a fresh
    one); ``database`` is the example-database directory (None: none), and ``key`` keeps
    different targets' examples apart in it. ``repro(plan)`` is the command printed for a found
    plan. Returns every distinct minimal failure, one per verdict kind."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from hypothesis.database import DirectoryBasedExampleDatabase

    if budget < 1:
        raise FaultkitError(f"budget must be at least 1, got {budget}")
    result = ExploreResult(seed=seed)
    db = None
    if database is not None:
        folder = Path(database)
        if key:
            folder = folder / _slug(key)
        db = DirectoryBasedExampleDatabase(str(folder))

    def run_once(plan: Scenario) -> None:
        verdict = trial(plan)
        result.examples += 1
        result.verdicts[verdict.kind] = result.verdicts.get(verdict.kind, 0) + 1
        _record_event(verdict)
        if not verdict.ok:
            raise failure_for(plan, verdict, repro(plan) if repro else None)

    test = settings(
        max_examples=budget,
        deadline=None,
        database=db,
        derandomize=derandomize and seed is None,
        report_multiple_bugs=True,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )(given(plan=strategy)(run_once))
    if seed is not None:
        test = fixed_seed(seed)(test)
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
    return result


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


def _slug(text: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:40] or "target"
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{readable}-{digest}"


def save_failures(
    result: ExploreResult, out_dir: str | Path, *, prefix: str = "explored"
) -> list[Path]:
    """Write each minimal failing plan as ``<prefix>-<verdict>.yaml`` in ``out_dir`` (named
    after its verdict so re-running a search overwrites, not piles up, the same finding)."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FaultkitError(f"{folder}: cannot create: {exc.strerror or exc}") from None
    written: list[Path] = []
    for found in result.failures:
        name = f"{prefix}-{found.verdict.kind.replace('_', '-')}"
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
