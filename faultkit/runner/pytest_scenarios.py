"""``@pytest.mark.faultkit_scenarios(PATH, ...)``: run a test once per scenario.

Every scenario file under the paths (directories are searched recursively, like ``faultkit
scenarios validate``) becomes one parametrization of the test, with the scenario's name as its
id (``test_x[429-burst]``), and the ``faultkit`` fixture of that run uses that scenario. A
relative path is looked up beside the test file, then in the rootdir. A broken scenario file
is a collection error naming the file, line and field.

The pytest plugin re-exports the hook and the fixture defined here; the ``faultkit`` fixture
depends on ``faultkit_scenario``, which is how the parametrization reaches it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faultkit import catalogue
from faultkit.errors import FaultkitError, ScenarioError
from faultkit.scenario import Scenario

MARKER = "faultkit_scenarios"
FIXTURE = "faultkit_scenario"
MARKER_HELP = (
    "faultkit_scenarios(*paths): run the test once per scenario file under the paths "
    "(the faultkit fixture uses that scenario)"
)


def register(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


def _resolve(raw: str | Path, test_dir: Path, rootdir: Path) -> Path:
    path = Path(raw)
    if path.is_absolute():
        return path
    for base in (test_dir, rootdir):
        if (base / path).exists():
            return base / path
    return test_dir / path


def scenarios_for(paths: list[str | Path], test_dir: Path, rootdir: Path) -> list[Scenario]:
    """The scenarios under ``paths``, in file order; ScenarioError listing every problem."""
    resolved = [_resolve(p, test_dir, rootdir) for p in paths]
    report = catalogue.validate(resolved)
    if report.problems:
        raise ScenarioError(report.problems)
    return [scenario for _, scenario in report.scenarios]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    markers = list(metafunc.definition.iter_markers(MARKER))
    if not markers:
        return
    paths = [p for marker in markers for p in marker.args]
    where = f"@pytest.mark.{MARKER} on {metafunc.definition.name}"
    if not paths:
        pytest.fail(f"faultkit: {where}: give at least one scenario path", pytrace=False)
    if FIXTURE not in metafunc.fixturenames:
        pytest.fail(
            f"faultkit: {where}: the test must use the faultkit fixture (or {FIXTURE})",
            pytrace=False,
        )
    try:
        scenarios = scenarios_for(paths, metafunc.definition.path.parent, metafunc.config.rootpath)
    except FaultkitError as exc:
        pytest.fail(f"faultkit: {where}:\n{exc}", pytrace=False)
    metafunc.parametrize(FIXTURE, scenarios, ids=[s.name for s in scenarios], indirect=True)


@pytest.fixture
def faultkit_scenario(request: pytest.FixtureRequest) -> Scenario | None:
    """The scenario this run of a ``faultkit_scenarios`` test uses (None without the marker)."""
    return getattr(request, "param", None)
