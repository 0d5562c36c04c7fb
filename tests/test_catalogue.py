"""Finding and validating scenarios, and the bundled catalogue itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faultkit import catalogue
from faultkit.errors import ScenarioError
from faultkit.scenario import Scenario

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "scenarios"
GOOD = (
    "name: {name}\ndescription: {description}\n"
    "rules:\n  - fault: {{type: latency, latency_ms: 5}}\n"
)


def write(path: Path, name: str, description: str = "A test scenario.") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD.format(name=name, description=description), encoding="utf-8")
    return path


# -- expanding paths ----------------------------------------------------------------------


def test_expand_walks_directories_recursively_and_skips_hidden(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "a")
    b = write(tmp_path / "sub" / "b.yml", "b")
    write(tmp_path / ".hidden" / "c.yaml", "c")
    write(tmp_path / ".d.yaml", "d")
    (tmp_path / "notes.txt").write_text("not a scenario")
    files, problems = catalogue.expand([tmp_path])
    assert files == [a, b]
    assert problems == []


def test_expand_takes_a_named_file_whatever_its_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "scenario.txt", "t")
    assert catalogue.expand([path]) == ([path], [])


def test_expand_reports_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    files, problems = catalogue.expand([tmp_path / "gone.yaml", tmp_path / "empty"])
    assert files == []
    assert problems == [
        f"{tmp_path / 'gone.yaml'}: no such file or directory",
        f"{tmp_path / 'empty'}: no scenario files (*.yaml, *.yml) in this directory",
    ]


def test_expand_lists_a_file_once(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "a")
    assert catalogue.expand([a, tmp_path, a])[0] == [a]


# -- validate -----------------------------------------------------------------------------


def test_validate_collects_problems_from_every_file(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", "good")
    (tmp_path / "bad1.yaml").write_text("name: bad1\nrules:\n  - fault: {type: nope}\n")
    (tmp_path / "bad2.yaml").write_text("name: bad2\nseed: [\n")
    report = catalogue.validate([tmp_path])
    assert not report.ok
    assert [s.name for _, s in report.scenarios] == ["good"]
    assert len(report.files) == 3
    assert report.problems[0].startswith(f"{tmp_path / 'bad1.yaml'}:3: rules[0].fault.type: ")
    assert report.problems[1].startswith(f"{tmp_path / 'bad2.yaml'}:3: invalid YAML: ")


def test_validate_refuses_two_files_with_one_name(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "same")
    second = tmp_path / "b.yaml"
    second.write_text("# comment\nname: same\n")
    report = catalogue.validate([tmp_path])
    assert report.problems == [f"{second}:2: name: scenario name 'same' is already used by {first}"]


# -- lookup by name -----------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with its own ./scenarios, as the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    return tmp_path


def test_resolve_prefers_the_project_scenarios_over_bundled(project: Path) -> None:
    local = write(project / "scenarios" / "429-burst.yaml", "429-burst", "Local override.")
    assert catalogue.resolve("429-burst") == Path("scenarios") / local.name
    assert catalogue.load("429-burst").description == "Local override."


def test_resolve_finds_bundled_scenarios(project: Path) -> None:
    path = catalogue.resolve("429-burst")
    assert path.resolve() == (BUNDLED / "429-burst.yaml").resolve()


def test_resolve_by_name_field_when_the_stem_differs(project: Path) -> None:
    write(project / "scenarios" / "file-name.yaml", "declared-name")
    assert catalogue.resolve("declared-name").name == "file-name.yaml"


def test_resolve_takes_an_existing_path(project: Path) -> None:
    path = write(project / "elsewhere" / "x.yaml", "x")
    assert catalogue.resolve(str(path)) == path


def test_unknown_name_lists_known_names(project: Path) -> None:
    write(project / "scenarios" / "mine.yaml", "mine")
    with pytest.raises(ScenarioError) as info:
        catalogue.resolve("no-such-scenario")
    (problem,) = info.value.problems
    assert problem.startswith("unknown scenario 'no-such-scenario' (searched scenarios, ")
    assert "mine" in problem and "429-burst" in problem


def test_missing_path_is_not_looked_up_as_a_name(project: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        catalogue.resolve("dir/429-burst.yaml")
    assert info.value.problems == ["dir/429-burst.yaml: no such scenario file"]


def test_directory_is_not_a_scenario(project: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory"):
        catalogue.resolve("scenarios")


def test_catalogue_lists_local_then_bundled_with_local_winning(project: Path) -> None:
    write(project / "scenarios" / "429-burst.yaml", "429-burst", "Local override.")
    write(project / "scenarios" / "mine.yaml", "mine")
    report = catalogue.catalogue()
    by_name = {s.name: s for _, s in report.scenarios}
    assert by_name["429-burst"].description == "Local override."
    assert "mine" in by_name and "tool-timeout" in by_name
    assert len(by_name) == len(report.scenarios)


def test_bundled_dir_is_the_checkout_in_an_editable_install() -> None:
    assert catalogue.bundled_dir("scenarios") == BUNDLED
    assert catalogue.bundled_dir("cassettes") == REPO / "cassettes"


# -- summaries ----------------------------------------------------------------------------


def test_summary_lists_fault_types_once_in_rule_order() -> None:
    scenario = Scenario.from_yaml(
        "name: s\ndescription: First sentence. Second one.\nrules:\n"
        "  - fault: {type: latency, latency_ms: 1}\n"
        "  - fault: {type: latency, latency_ms: 2}\n"
    )
    row = catalogue.summarize(scenario)
    assert (row.name, row.rules, row.faults) == ("s", 2, ("latency",))
    assert row.description == "First sentence."


def test_first_sentence_keeps_decimals_and_flattens_lines() -> None:
    assert catalogue.first_sentence("Waits 2.5 s\nper call. Then more.") == "Waits 2.5 s per call."
    assert catalogue.first_sentence("") == ""
    # Abbreviations and parentheses do not end it.
    text = "In the first call (its first tool call, e.g.\n`get_order`), arguments break. More."
    assert catalogue.first_sentence(text) == (
        "In the first call (its first tool call, e.g. `get_order`), arguments break."
    )


# -- the bundled catalogue ----------------------------------------------------------------

REQUIRED = {
    "provider-slowdown",
    "429-burst",
    "529-overload",
    "truncated-stream",
    "malformed-json-output",
    "schema-drift-structured-output",
    "partial-tool-data",
    "tool-timeout",
}


def bundled() -> list[tuple[Path, Scenario]]:
    report = catalogue.validate([BUNDLED])
    assert report.problems == []
    return report.scenarios


def test_bundled_catalogue_is_valid_and_complete() -> None:
    names = {s.name for _, s in bundled()}
    assert names >= REQUIRED


def test_bundled_scenarios_are_documented_and_named_after_their_file() -> None:
    for path, scenario in bundled():
        assert path.stem == scenario.name
        assert len(scenario.description) > 80, f"{path}: say what fails and what a SUT should do"
        assert "controlled SUT" in scenario.description, path
        assert scenario.rules, path
        assert "seed:" in path.read_text(), f"{path}: set the seed explicitly"
        assert scenario.expect.deadline_ms is not None, path


def test_bundled_scenarios_point_editors_at_the_schema() -> None:
    for path, _ in bundled():
        assert path.read_text().startswith("# yaml-language-server: $schema=./schema.json\n")


def test_429_burst_rate_limits_the_first_three_openai_calls() -> None:
    scenario = catalogue.load(BUNDLED / "429-burst.yaml")
    (rule,) = scenario.rules
    # By meaning, not by host: the OpenAI provider wherever its base URL points.
    assert rule.match.provider == "openai"
    assert rule.match.route is None
    assert rule.when.call_range() == (1, 3)
    assert rule.fault.params()["status"] == 429
    assert rule.fault.params()["retry_after_s"] is not None


def test_exported_schema_is_up_to_date() -> None:
    exported = (BUNDLED / "schema.json").read_text(encoding="utf-8")
    assert exported == catalogue.schema_text(), (
        "scenarios/schema.json is stale: run `faultkit scenarios schema -o scenarios/schema.json`"
    )


def test_exported_schema_accepts_the_bundled_scenarios() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json.loads((BUNDLED / "schema.json").read_text(encoding="utf-8"))
    for path, _ in bundled():
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
