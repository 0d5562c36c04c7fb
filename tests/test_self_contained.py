"""The test suite needs nothing outside the repository.

A contributor who clones faultkit alone must be able to run every test: no test may read a sibling
checkout (the old ``../shared/cassettes-real``), an absolute machine path, or climb above the
repository root with ``Path(__file__).parents[...]`` / ``.parent`` chains."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".toml", ".json", ".cfg", ".ini", ".md", ".txt"}

# Literal spellings of a path outside the repository.  Assembled from pieces so that this file,
# which names them, is not itself a hit.
OUTSIDE_LITERALS = (
    "/work/" + "shared",
    "shared/" + "cassettes-real",
    "../" + "shared",
    '"shared"' + " /",
    "/" + "work/main",
)
_FILE_ANCHOR = r"Path\(__file__\)(?:\.resolve\(\)|\.absolute\(\))?"
PARENTS_INDEX = re.compile(_FILE_ANCHOR + r"\.parents\[(\d+)\]((?:\.parent)*)")
PARENT_CHAIN = re.compile(_FILE_ANCHOR + r"((?:\.parent)+)")
ROOT_PARENT = re.compile(r"\b(?:REPO|ROOT|REPO_ROOT|PROJECT_ROOT)\.parent\b")


def _test_files() -> list[Path]:
    return sorted(
        path
        for path in TESTS.rglob("*")
        if path.is_file()
        and path.suffix in TEXT_SUFFIXES
        and path != Path(__file__).resolve()
        and "__pycache__" not in path.parts
        and "cassettes-real" not in path.relative_to(TESTS).parts[:1]
    )


def outside_references(path: Path, text: str) -> list[str]:
    """Each way ``text`` (the content of ``path``, a file under the repository) reaches outside it.

    ``Path(__file__).parents[n]`` is the directory ``n + 1`` levels above the file; it is still in
    the repository while ``n + 1`` does not exceed the file's depth below the repository root."""
    depth = len(path.relative_to(REPO).parts)  # .parent steps from the file up to REPO
    found = [f"{literal!r}" for literal in OUTSIDE_LITERALS if literal in text]
    for match in PARENTS_INDEX.finditer(text):
        up = int(match[1]) + 1 + match[2].count(".parent")
        if up > depth:
            found.append(f"{match[0]} climbs {up} levels (the repository root is {depth} up)")
    for match in PARENT_CHAIN.finditer(text):
        up = match[1].count(".parent")
        if up > depth:
            found.append(f"{match[0]} climbs {up} levels (the repository root is {depth} up)")
    found += [f"{match[0]} (above the repository root)" for match in ROOT_PARENT.finditer(text)]
    return found


def test_no_test_file_refers_to_a_path_outside_the_repository() -> None:
    offenders = {
        str(path.relative_to(REPO)): refs
        for path in _test_files()
        if (refs := outside_references(path, path.read_text(errors="replace")))
    }
    assert not offenders, f"tests must be self-contained; outside references: {offenders}"


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("tests/faults/_x.py", 'REAL = Path(__file__).resolve().parents[2].parent / "shared"'),
        ("tests/x.py", "ROOT = Path(__file__).resolve().parent.parent.parent"),
        ("tests/sdk/x.py", 'CASSETTE = "/work/' + 'shared/cassettes-real/a.yaml"'),
        ("tests/x/y.py", "REPO = Path(__file__).parents[2]\nSIBLING = REPO.parent / 'other'"),
        ("tests/x/cases.yaml", "cassette: ../" + "shared/foo.yaml"),
    ],
)
def test_the_guard_sees_each_way_out(relative: str, text: str) -> None:
    assert outside_references(REPO / relative, text)


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("tests/faults/_x.py", 'REAL = Path(__file__).resolve().parents[1] / "cassettes-real"'),
        ("tests/x/y.py", "REPO = Path(__file__).resolve().parents[2]"),
        ("tests/x.py", "REPO = Path(__file__).resolve().parent.parent"),
    ],
)
def test_the_guard_lets_in_repository_paths_through(relative: str, text: str) -> None:
    assert outside_references(REPO / relative, text) == []


def test_the_real_cassettes_are_in_the_repository_with_their_provenance() -> None:
    real = TESTS / "cassettes-real"
    names = sorted(p.name for p in real.glob("*.yaml"))
    readme = (real / "README.md").read_text()
    assert len(names) >= 16
    missing = [name for name in names if f"`{name}`" not in readme]
    assert not missing, f"tests/cassettes-real/README.md gives no provenance for {missing}"
