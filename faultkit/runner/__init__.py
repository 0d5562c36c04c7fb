"""``faultkit run``: run targets through scenarios and cases, judge every cell, report.

    plan = RunPlan(mode="target", targets=[load_target("myapp.bot:answer")], ...)
    report = run(plan)
    report.matrix()  # scenario -> target -> verdict

The command line lives in :mod:`faultkit.runner.command`; the report formats in
:mod:`faultkit.report`.
"""

from faultkit.runner.cases import Case, CasesFile, load_cases
from faultkit.runner.cells import RunPlan, engine_factory, load_recordings, run_cell
from faultkit.runner.errors import RunError
from faultkit.runner.model import Cell, RunReport
from faultkit.runner.run import run
from faultkit.runner.target import CallableTarget, HttpTarget, Target, call_bounded, load_target

__all__ = [
    "CallableTarget",
    "Case",
    "CasesFile",
    "Cell",
    "HttpTarget",
    "RunError",
    "RunPlan",
    "RunReport",
    "Target",
    "call_bounded",
    "engine_factory",
    "load_cases",
    "load_recordings",
    "load_target",
    "run",
    "run_cell",
]
