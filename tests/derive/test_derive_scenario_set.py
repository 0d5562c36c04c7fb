"""catalogue.scenario_set: what ``--scenarios`` names (files, ``derived``, ``catalogue``), and
how a run tells where its scenarios came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from faultkit import catalogue
from faultkit.errors import ScenarioError

TRIP = Path(__file__).resolve().parent / "cassettes" / "trip_desk.yaml"
OWN = "name: {name}\nrules:\n  - fault: {{type: latency, latency_ms: 5}}\n"


def names(chosen: catalogue.ScenarioSet) -> list[str]:
    return [s.name for _, s in chosen.scenarios]


def test_derived_alone_is_the_derived_set_without_files() -> None:
    chosen = catalogue.scenario_set(["derived"], [TRIP])
    assert chosen.origin == "16 scenarios derived from 1 cassette"
    assert all(path is None for path, _ in chosen.scenarios)
    assert "tool-timeout.weather.example" in names(chosen)


def test_a_derived_name_a_file_already_uses_becomes_derived_dot_name(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(OWN.format(name="429-burst"))
    chosen = catalogue.scenario_set([str(tmp_path), "derived"], [TRIP])
    found = names(chosen)
    assert found.count("429-burst") == 1 and "derived.429-burst" in found
    assert "derived.tool-timeout.weather.example" not in found  # no clash, no prefix
    assert chosen.origin == f"1 scenario from {tmp_path}; 16 scenarios derived from 1 cassette"


def test_catalogue_is_the_bundled_catalogue_and_names_narrow_the_set() -> None:
    chosen = catalogue.scenario_set(["catalogue", "derived"], [TRIP], ["derived.429-burst"])
    assert names(chosen) == ["derived.429-burst"]
    assert chosen.origin.startswith("13 scenarios from the bundled catalogue; ")


@pytest.mark.parametrize(
    ("refs", "wanted", "problem"),
    [
        (["derived"], ["nope"], "unknown scenario 'nope' in derived; known: 429-burst, "),
        (["nowhere"], [], "nowhere: no such file or directory"),
    ],
)
def test_problems_are_scenario_errors_in_one_line(
    refs: list[str], wanted: list[str], problem: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        catalogue.scenario_set(refs, [TRIP], wanted)
    assert str(caught.value).startswith(problem)
    assert "\n" not in str(caught.value)
