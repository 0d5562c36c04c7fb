"""``faultkit run``: run targets through scenarios and cases, judge every cell, report.

    plan = RunPlan(mode="target", targets=[load_target("myapp.bot:answer")], ...)
    report = run(plan)
    report.matrix()  # scenario -> target -> verdict

The command line lives in :mod:`faultkit.runner.command`; the report formats in
:mod:`faultkit.report`.
"""

from faultkit.runner.cases import Case, CasesFile, load_cases
from faultkit.runner.errors import RunError
from faultkit.runner.model import Cell, RunReport
from faultkit.runner.run import RunPlan, run
from faultkit.runner.target import CallableTarget, HttpTarget, Target, load_target

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
    "load_cases",
    "load_target",
    "run",
]
