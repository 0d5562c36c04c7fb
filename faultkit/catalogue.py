"""Finding, validating and summarising scenario files.

A scenario is referred to by a path (a file, or a directory of files) or by a name. A name is
looked up in ``./scenarios`` first, so a project can add or override scenarios, then in the
catalogue that ships with faultkit. Every problem is collected rather than raised at the first
one, so ``faultkit scenarios validate`` reports all broken files of a directory in one run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from faultkit.errors import ScenarioError
from faultkit.scenario import Scenario, scenario_json_schema
from faultkit.suggest import did_you_mean

SCENARIO_SUFFIXES = (".yaml", ".yml")
LOCAL_DIR = Path("scenarios")

_PACKAGE_DIR = Path(__file__).resolve().parent
_NAME_LINE = re.compile(r"^name\s*:")


def bundled_dir(kind: Literal["scenarios", "cassettes"]) -> Path | None:
    """Where the files shipped with faultkit live, or None when they are missing.

    A wheel carries them in ``faultkit/_bundled/<kind>`` (pyproject force-includes them); an
    editable install or a source checkout has them beside the package. The checkout is only
    trusted when its ``pyproject.toml`` is there too, so an unrelated ``scenarios`` folder next
    to ``site-packages/faultkit`` is never mistaken for the catalogue.
    """
    wheel = _PACKAGE_DIR / "_bundled" / kind
    if wheel.is_dir():
        return wheel
    checkout = _PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / kind).is_dir():
        return checkout / kind
    return None


def search_dirs() -> list[Path]:
    """Directories a scenario name is looked up in, in order: ``./scenarios``, then bundled."""
    dirs: list[Path] = []
    for candidate in (LOCAL_DIR, bundled_dir("scenarios")):
        if candidate is None or not candidate.is_dir():
            continue
        if any(candidate.resolve() == d.resolve() for d in dirs):
            continue
        dirs.append(candidate)
    return dirs


def _is_scenario_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SCENARIO_SUFFIXES


SETS = ("red-team", "model-behaviour")
"""Opt-in sets bundled beside the catalogue (``scenarios/<set>/``), named by their word
(``--scenarios red-team``): they test what a model or an attacker does, not what a broken
network does, so a run takes them only when asked and the catalogue leaves them out."""


def set_dir(name: str) -> Path | None:
    """The bundled directory of set ``name`` (one of :data:`SETS`), or None."""
    bundled = bundled_dir("scenarios")
    if name not in SETS or bundled is None or not (bundled / name).is_dir():
        return None
    return bundled / name


def _files_under(directory: Path) -> Iterator[Path]:
    """Scenario files below ``directory``, sorted, skipping hidden files and folders, and (in
    the bundled catalogue) the opt-in :data:`SETS`."""
    bundled = bundled_dir("scenarios")
    is_catalogue = bundled is not None and directory.resolve() == bundled.resolve()
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if is_catalogue and len(rel.parts) > 1 and rel.parts[0] in SETS:
            continue
        if _is_scenario_file(path):
            yield path


def expand(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Scenario files named by ``paths`` (files, or directories searched recursively).

    Returns the files and a problem for each path that is missing or holds no scenario file.
    A file named explicitly is taken whatever its suffix: the user asked for it.
    """
    files: list[Path] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = list(_files_under(path))
            if not found:
                problems.append(f"{path}: no scenario files (*.yaml, *.yml) in this directory")
        elif path.exists():
            found = [path]
        else:
            problems.append(f"{path}: no such file or directory")
            continue
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, problems


@dataclass
class Report:
    """Outcome of loading a set of scenario files: what loaded, and every problem found."""

    files: list[Path] = field(default_factory=list)
    scenarios: list[tuple[Path, Scenario]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _name_line(path: Path) -> int:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if _NAME_LINE.match(line):
                return number
    except (OSError, UnicodeDecodeError):
        pass
    return 1


def validate(paths: Iterable[str | Path]) -> Report:
    """Load every scenario file under ``paths`` and collect all problems, located.

    Besides each file's own errors, two files declaring the same scenario ``name`` is a
    problem: a name must pick one scenario.
    """
    files, problems = expand(paths)
    report = Report(files=files, problems=problems)
    first_by_name: dict[str, Path] = {}
    for file in files:
        try:
            scenario = Scenario.load(file)
        except ScenarioError as exc:
            report.problems.extend(exc.problems)
            continue
        earlier = first_by_name.setdefault(scenario.name, file)
        if earlier is not file:
            report.problems.append(
                f"{file}:{_name_line(file)}: name: scenario name {scenario.name!r} "
                f"is already used by {earlier}"
            )
            continue
        report.scenarios.append((file, scenario))
    return report


def catalogue() -> Report:
    """Every scenario reachable by name: ``./scenarios`` first, then the bundled ones.

    A local scenario with the same name as a bundled one hides it, as name lookup does.
    """
    report = Report()
    dirs = search_dirs()
    if not dirs:
        report.problems.append(
            "no scenario catalogue found: no ./scenarios directory and no bundled scenarios"
        )
        return report
    for directory in dirs:
        part = validate([directory])
        report.files.extend(part.files)
        report.problems.extend(part.problems)
        known = {s.name for _, s in report.scenarios}
        report.scenarios.extend((f, s) for f, s in part.scenarios if s.name not in known)
    return report


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.lower().endswith(SCENARIO_SUFFIXES)


def resolve(ref: str | Path, *, dirs: list[Path] | None = None, bases: Iterable[Path] = ()) -> Path:
    """The scenario file ``ref`` refers to: an existing file, or a name from the catalogue.

    A relative path is tried against each of ``bases`` (e.g. the test's folder), then the
    working directory. A name matches a file stem (``429-burst`` -> ``429-burst.yaml``) first,
    then the ``name`` field inside the files, directory by directory in ``dirs`` (default:
    :func:`search_dirs`) order.
    """
    for base in bases:
        if (base / ref).is_file():
            return base / ref
    path = Path(ref)
    if path.is_file():
        return path
    if path.is_dir():
        raise ScenarioError([f"{path}: is a directory; name one scenario file or name"])
    text = str(ref)
    if _looks_like_path(text):
        raise ScenarioError([f"{path}: no such scenario file"])
    dirs = search_dirs() if dirs is None else dirs
    for directory in dirs:
        for suffix in SCENARIO_SUFFIXES:
            candidate = directory / f"{text}{suffix}"
            if candidate.is_file():
                return candidate
    known: set[str] = set()
    for directory in dirs:
        for file in _files_under(directory):
            known.add(file.stem)
            try:
                name = Scenario.load(file).name
            except ScenarioError:
                continue
            if name == text:
                return file
            known.add(name)
    where = ", ".join(str(d) for d in dirs) or "no catalogue directory exists"
    hint = f"; {did_you_mean(text, known)}available: {', '.join(sorted(known))}" if known else ""
    raise ScenarioError([f"unknown scenario {text!r} (searched {where}){hint}"])


def load(ref: str | Path) -> Scenario:
    """Load the scenario ``ref`` names (see :func:`resolve`); raises ScenarioError, located."""
    return Scenario.load(resolve(ref))


@dataclass(frozen=True)
class Summary:
    """One row of ``faultkit scenarios list``."""

    name: str
    rules: int
    faults: tuple[str, ...]
    description: str


def summarize(scenario: Scenario) -> Summary:
    """Name, rule count, the fault types used (in rule order, once each) and the first
    sentence of the description: enough to pick a scenario from a list."""
    faults = tuple(dict.fromkeys(rule.fault.type for rule in scenario.rules))
    return Summary(scenario.name, len(scenario.rules), faults, first_sentence(scenario.description))


_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.")


def first_sentence(text: str) -> str:
    """Up to the first sentence end outside parentheses that is not an abbreviation's dot, so
    "(..., e.g. `get_order`)" does not end the sentence mid-thought."""
    flat = " ".join(text.split())
    depth = 0
    for i, char in enumerate(flat):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif (
            char in ".!?"
            and depth == 0
            and flat[i + 1 : i + 2] == " "
            and not flat[: i + 1].lower().endswith(_ABBREVIATIONS)
        ):
            return flat[: i + 1]
    return flat


def schema_text() -> str:
    """The scenario JSON Schema as written to ``scenarios/schema.json`` (stable formatting)."""
    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"


# -- the scenario set of a run ---------------------------------------------------------------------
DERIVED = "derived"
"""``--scenarios derived``: the scenarios derived from the run's cassettes."""
BUNDLED = "catalogue"
"""``--scenarios catalogue``: the catalogue bundled with faultkit."""


@dataclass
class ScenarioSet:
    """The scenarios a run uses, each with its file (None when derived), and a line saying
    where they came from (``16 scenarios derived from 3 cassettes``)."""

    scenarios: list[tuple[Path | None, Scenario]]
    origin: str


def scenario_set(
    refs: Sequence[str],
    cassettes: Sequence[Path],
    names: Sequence[str] = (),
    deadline_ms: float | None = None,
) -> ScenarioSet:
    """The scenarios ``refs`` name, narrowed to ``names`` (``--scenario``).

    A ref is a scenario file or directory, or one of the words ``derived`` (the scenarios
    derived from ``cassettes``, see :mod:`faultkit.derive`), ``catalogue`` (the bundled
    catalogue) and the bundled sets' names (:data:`SETS`); they combine. A derived scenario
    whose name a file already uses is renamed ``derived.<name>``, so each name still picks one
    scenario and a repro command that repeats the same refs finds it again. ``deadline_ms``
    (the contract's) is what derived silences outlast. Raises ScenarioError (or
    CassetteError), one line each.
    """
    files = [r for r in refs if r not in (DERIVED, BUNDLED, *SETS)]
    sources = list(files)
    for word in (r for r in refs if r in SETS):
        directory = set_dir(word)
        if directory is None:
            raise ScenarioError([f"--scenarios {word}: the bundled set is missing"])
        files.append(str(directory))
        sources.append(f"the bundled {word} set")
    if BUNDLED in refs:
        bundled = bundled_dir("scenarios")
        if bundled is None:
            raise ScenarioError(["--scenarios catalogue: the bundled catalogue is missing"])
        files.append(str(bundled))
        sources.append("the bundled catalogue")
    report = validate(files) if files else Report()
    if report.problems:
        raise ScenarioError(report.problems)
    found: list[tuple[Path | None, Scenario]] = list(report.scenarios)
    origins = [f"{_plural(len(found), 'scenario')} from {', '.join(sources)}"] if files else []
    if DERIVED in refs:
        derived, loaded = _derived(cassettes, {s.name for _, s in found}, deadline_ms)
        found.extend((None, s) for s in derived)
        origins.append(
            f"{_plural(len(derived), 'scenario')} derived from {_plural(loaded, 'cassette')}"
        )
    where = " and ".join(refs)
    if names:
        known = {s.name for _, s in found}
        missing = [n for n in names if n not in known]
        if missing:
            raise ScenarioError(
                [
                    f"unknown scenario {', '.join(map(repr, missing))} in {where}; "
                    f"{did_you_mean(missing[0], known)}known: {', '.join(sorted(known))}"
                ]
            )
        found = [(p, s) for p, s in found if s.name in names]
    if not found:
        raise ScenarioError([f"no scenarios in {where}"])
    return ScenarioSet(found, "; ".join(origins))


def _derived(
    cassettes: Sequence[Path], taken: set[str], deadline_ms: float | None
) -> tuple[list[Scenario], int]:
    """The derived scenarios (renamed where ``taken``) and how many cassette files they
    come from."""
    # Imported here: deriving reads recordings through the doors' routing, and the proxy's
    # door imports this module.
    from faultkit.derive import derive_scenarios, load_cassettes

    if not cassettes:
        raise ScenarioError(
            [
                "--scenarios derived: no cassettes to derive from; name them in the cases file "
                "(cassettes:) or with --cassettes"
            ]
        )
    loaded = load_cassettes(cassettes)
    scenarios = [
        s.model_copy(update={"name": f"derived.{s.name}"}) if s.name in taken else s
        for s in derive_scenarios(loaded, deadline_ms)
    ]
    return scenarios, len(loaded)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
