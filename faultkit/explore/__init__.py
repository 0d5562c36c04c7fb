"""``faultkit explore``: let hypothesis search fault schedules for the ones that break the target.

Hand-written scenarios test the failures someone thought of. Exploring runs the target under
many generated schedules (:func:`faultkit.strategies.fault_plans`), judges each run with the
oracle, and when a schedule leaves the target uncontrolled, hypothesis shrinks it to the fewest
and plainest faults that still do. Each kind of uncontrolled verdict (crash, retry storm,
leaked invalid output...) is shrunk on its own, so one search can report several distinct
weaknesses. The minimal schedules are written as scenario files: run them as regressions.

- :mod:`faultkit.explore.search`: the search over any ``plan -> Verdict`` trial;
- :mod:`faultkit.explore.check`: the pytest side (``faultkit.assert_controlled(..., plan=)``);
- :mod:`faultkit.explore.command`: the ``faultkit explore`` command line.

Hypothesis keeps its example database in ``.faultkit/hypothesis/`` so schedules that failed
before are replayed first next time. Hypothesis itself is imported only when a search runs:
``faultkit --help`` and the other commands never need it.
"""

from faultkit.explore.check import assert_plan_controlled, check_plan, reset_engine
from faultkit.explore.search import (
    DATABASE_DIR,
    DEFAULT_BUDGET,
    ExploreResult,
    Found,
    Trial,
    UncontrolledPlan,
    explore,
    failure_for,
    save_failures,
)

__all__ = [
    "DATABASE_DIR",
    "DEFAULT_BUDGET",
    "ExploreResult",
    "Found",
    "Trial",
    "UncontrolledPlan",
    "assert_plan_controlled",
    "check_plan",
    "explore",
    "failure_for",
    "reset_engine",
    "save_failures",
]
