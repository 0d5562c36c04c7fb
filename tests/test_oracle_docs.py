"""docs/oracle.md cannot rot: every verdict, contract field, cases-file key and faultkit.toml
field has its section or row, the thresholds it quotes are the code's, and every example in it
is judged by the real oracle (or grouped by the real ledger) with the result it shows.

The examples are fenced ``yaml`` blocks whose first line is a marker comment:

* ``# oracle-example``: ``contract`` (cases-file form), optional ``scenario`` (``rules`` and
  ``expect`` as in a scenario file: judged as ``faultkit run`` judges a cell, with those rules
  in force), ``result`` (what the runner recorded), ``ledger`` (entries as the JSON report shows
  them), and what must come out: ``verdict``, optionally ``findings`` (every finding's kind,
  worst first) and ``evidence`` (fields of the headline finding, compared exactly);
* ``# ledger-example``: requests in arrival order, each answered as it says before the next
  arrives, and the ``(logical_call, attempt)`` the real :class:`~faultkit.ledger.Ledger` must
  give each.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from faultkit.config import load_routes, load_scrub_patterns
from faultkit.doors.proxy.config import DEFAULT_UPSTREAMS, TcpProxy, Upstream, load_upstreams
from faultkit.ledger import AppliedFault, Ledger, LedgerEntry
from faultkit.oracle import Contract, Result, judge
from faultkit.oracle.checks import KINDS
from faultkit.oracle.checks.base import band
from faultkit.oracle.checks.exercised import scenario_rules
from faultkit.oracle.judge import CHECKS
from faultkit.oracle.verdict import CONTROLLED_KINDS, SEVERITY, UNJUDGED_KINDS
from faultkit.runner.cases import Case, CasesFile
from faultkit.scenario import Expectation, Scenario

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "oracle.md"
TEXT = DOC.read_text(encoding="utf-8")
FENCE = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(title: str) -> str:
    """The text of the ``## title`` section, up to the next ``## `` heading ("" when there is
    none: :func:`test_the_sections_are_there` says so, and collection still succeeds)."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", TEXT, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


SECTIONS = (
    "How a cell is judged",
    "Verdicts",
    "Logical calls and attempts",
    "Thresholds",
    "The cases file",
    "Contract fields",
    "faultkit.toml",
)


def verdict_sections() -> dict[str, str]:
    """``### `kind``` heading -> its text (up to the next ``###`` or ``##``)."""
    body = section("Verdicts")
    parts = re.split(r"^### `([a-z_]+)`.*\n", body, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table_names(text: str) -> list[str]:
    """The names in the first column of every Markdown table row (`` `name` ``)."""
    return re.findall(r"^\| `([^`]+)`", text, re.MULTILINE)


def blocks(text: str, marker: str) -> list[dict[str, Any]]:
    return [
        yaml.safe_load(body) for body in FENCE.findall(text) if body.startswith(f"# {marker}\n")
    ]


# -- (a) everything has its place ---------------------------------------------------------------


def test_the_sections_are_there() -> None:
    missing = [title for title in SECTIONS if not re.search(f"^## {re.escape(title)}$", TEXT, re.M)]
    assert not missing, f"docs/oracle.md lacks: {missing}"


def test_the_readme_links_this_page() -> None:
    assert "(docs/oracle.md)" in (REPO / "README.md").read_text(encoding="utf-8")


def test_every_link_within_the_page_has_its_heading() -> None:
    """GitHub's anchors: the heading lower-cased, punctuation but ``-`` dropped, spaces as ``-``."""
    headings = re.findall(r"^#+ (.+)$", TEXT, re.M)
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
    links = set(re.findall(r"\]\(#([^)]+)\)", TEXT))
    assert links and links <= anchors, sorted(links - anchors)


def test_every_verdict_has_a_section_in_severity_order() -> None:
    assert list(verdict_sections()) == list(SEVERITY)


def test_the_ranking_lists_every_kind_worst_first_one_band_per_item() -> None:
    """ "The worst finding wins": each numbered item names the kinds of one severity band
    (faultkit/oracle/checks/base.py), in the order of SEVERITY."""
    ranking = re.search(
        r"The order, worst first:\n\n(.*?)\n\n", section("How a cell is judged"), re.S
    )
    assert ranking, "the ranking list is missing"
    items = re.split(r"^\d+\. ", ranking.group(1), flags=re.M)[1:]
    listed = [re.findall(r"`([a-z_]+)`", item.split(":")[0]) for item in items]
    by_band: dict[int, list[str]] = {}
    for name in SEVERITY:
        by_band.setdefault(band(KINDS[name].severity), []).append(name)
    assert listed == list(by_band.values())


def test_each_section_says_which_group_its_verdict_is_in() -> None:
    for kind, _ in verdict_sections().items():
        heading = re.search(rf"^### `{kind}` — (.*)$", TEXT, re.MULTILINE)
        assert heading, kind
        group = (
            "unjudged"
            if kind in UNJUDGED_KINDS
            else "controlled"
            if kind in CONTROLLED_KINDS
            else "uncontrolled"
        )
        assert heading.group(1).startswith(group), (kind, heading.group(1))


def test_the_check_table_is_the_judges() -> None:
    """Each check in the judge's order, with the kinds its module declares."""
    rows = re.findall(r"^\| \d+ \| `checks/(\w+)\.py` \| ([^|]*) \|", TEXT, re.M)
    documented = [(name, re.findall(r"`([a-z_]+)`", kinds)) for name, kinds in rows]
    assert documented == [(check.name, [k.name for k in check.kinds]) for check in CHECKS]


def test_every_contract_field_is_documented() -> None:
    assert sorted(table_names(section("Contract fields"))) == sorted(Contract.model_fields)


def test_every_cases_file_key_is_documented() -> None:
    keys = [name for name, field in CasesFile.model_fields.items() if not field.exclude]
    documented = table_names(section("The cases file"))
    assert sorted(k for k in documented if not k.startswith("cases[].")) == sorted(keys)
    assert sorted(k.removeprefix("cases[].") for k in documented if k.startswith("cases[].")) == (
        sorted(Case.model_fields)
    )


def test_every_scenario_expectation_field_is_documented() -> None:
    documented = table_names(section("How a cell is judged"))
    assert {f"expect.{name}" for name in Expectation.model_fields} <= set(documented)


def subsection(parent: str, title: str) -> str:
    """The text of ``### title`` inside ``## parent``, up to the next heading."""
    match = re.search(
        rf"^### {re.escape(title)}\n(.*?)(?=^##|\Z)", section(parent), re.MULTILINE | re.DOTALL
    )
    return match.group(1) if match else ""


def test_every_faultkit_toml_field_is_documented() -> None:
    upstreams = table_names(subsection("faultkit.toml", "`[upstreams.NAME]`"))
    assert sorted(upstreams) == sorted(set(Upstream.model_fields) - {"name"})  # NAME is the name
    assert table_names(subsection("faultkit.toml", "`[scrub]`")) == ["patterns"]
    proxies = table_names(subsection("faultkit.toml", "`[proxies.NAME]`"))
    assert sorted(proxies) == sorted(set(TcpProxy.model_fields) - {"name"})


def test_the_faultkit_toml_examples_load(tmp_path: Path) -> None:
    """Each ``toml`` example, as a project's faultkit.toml and as pyproject's [tool.faultkit],
    is read by the real loaders without a problem."""
    examples = re.findall(r"^```toml\n(.*?)^```", section("faultkit.toml"), re.M | re.S)
    assert len(examples) == 3
    for text in examples:
        own = tmp_path / "faultkit.toml"
        own.write_text(text, encoding="utf-8")
        nested = re.sub(r"^\[", "[tool.faultkit.", text, flags=re.M)
        pyproject = tmp_path / "pyproject.toml"
        pyproject.write_text(nested, encoding="utf-8")
        for path in (own, pyproject):
            upstreams = {u.name for u in load_upstreams(path)}
            routes = load_routes(path)
            patterns = load_scrub_patterns(path)
            built_in = {u.name for u in DEFAULT_UPSTREAMS}
            assert upstreams > built_in or routes or patterns, text


def test_the_thresholds_are_the_codes() -> None:
    rows = re.findall(r"^\| `([\w.]+)\.(\w+)` \| ([^|]+) \|", section("Thresholds"), re.M)
    assert len(rows) >= 8
    for module, name, shown in rows:
        value = getattr(__import__(module, fromlist=[name]), name)
        documented = yaml.safe_load(shown.strip())
        if isinstance(value, frozenset | tuple):
            value, documented = sorted(value), sorted(documented)
        assert documented == value, f"{module}.{name}"


def documented_defaults(title: str) -> list[tuple[str, str]]:
    """(name, default column) of each top-level row of the section's table."""
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", section(title), re.M)
    return [(name, shown.strip()) for name, shown in rows]


def test_the_documented_defaults_are_the_codes() -> None:
    """The default column of the cases-file and contract tables says what ``CasesFile()`` and
    ``Contract()`` hold ("none" is None; a literal in backticks is the value)."""
    cases_defaults = CasesFile().model_dump(mode="json")
    for name, shown in documented_defaults("The cases file"):
        if shown.startswith("none"):
            assert cases_defaults[name] is None, name
        elif shown.startswith("`"):
            assert yaml.safe_load(shown.strip("`")) == cases_defaults[name], name
    defaults = Contract().model_dump(mode="json")
    for name, shown in documented_defaults("Contract fields"):
        if shown.startswith("none"):
            assert defaults[name] is None, name
        elif shown.startswith("`") and name != "unknown_markers":
            assert yaml.safe_load(shown.strip("`")) == defaults[name], name
    markers = re.search(r"default markers are (.*?)\.\n", TEXT, re.DOTALL)
    assert markers, "the default unknown markers are listed"
    assert re.findall(r"`([^`]+)`", markers.group(1)) == defaults["unknown_markers"]


# -- (b) every example is what the code does ----------------------------------------------------

EXAMPLES = [
    pytest.param(kind, example, id=f"{kind}-{i}")
    for kind, text in verdict_sections().items()
    for i, example in enumerate(blocks(text, "oracle-example"), 1)
]


def test_every_verdict_has_an_example() -> None:
    assert {kind for kind, _ in (p.values for p in EXAMPLES)} == set(SEVERITY)


@pytest.fixture
def examples_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Contract classes in the examples are the bundled example app's, imported as a user's
    cases file imports them: from the working directory."""
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))


@pytest.mark.usefixtures("examples_importable")
@pytest.mark.parametrize(("kind", "example"), EXAMPLES)
def test_example_is_judged_as_documented(kind: str, example: dict[str, Any]) -> None:
    assert example["verdict"] == kind, "an example sits in its own verdict's section"
    contract = Contract.model_validate(example.get("contract") or {})
    result = Result.model_validate(example["result"])
    entries = [LedgerEntry.model_validate(entry) for entry in example["ledger"]]
    scenario, rules = None, None
    if "scenario" in example:
        scenario = Scenario.model_validate({"name": "doc-example", **example["scenario"]})
        rules = scenario_rules(scenario)
    verdict = judge(entries, result, contract, scenario, rules=rules)
    explained = verdict.explain()
    assert verdict.kind == kind, explained
    if "findings" in example:
        assert [f.kind for f in verdict.findings] == example["findings"], explained
    headline = verdict.headline.model_dump(mode="json")
    for name, shown in (example.get("evidence") or {}).items():
        assert headline[name] == shown, f"{name}: {json.dumps(headline[name])}"


LEDGER_EXAMPLES = blocks(section("Logical calls and attempts"), "ledger-example")


def test_there_are_ledger_examples() -> None:
    assert len(LEDGER_EXAMPLES) >= 2


@pytest.mark.parametrize("example", LEDGER_EXAMPLES, ids=lambda e: e["name"])
def test_ledger_example_groups_as_documented(example: dict[str, Any]) -> None:
    ledger = Ledger()
    now = 0.0
    for request in example["requests"]:
        fmt = request.get("format", "openai_chat")
        body = request["body"]
        entry = ledger.open(
            route=request.get("route", "openai"),
            method=request.get("method", "POST"),
            url=request.get("url", "https://api.openai.com/v1/chat/completions"),
            fmt=fmt,
            model=body.get("model") if isinstance(body, dict) else None,
            body=json.dumps(body).encode(),
            retry_count=request.get("x-stainless-retry-count"),
            arrival_ms=now,
        )
        entry.status = request.get("status", 200)
        entry.faults = [AppliedFault.model_validate(f) for f in request.get("faults", [])]
        ledger.finish(entry.id, ending="completed", end_ms=now + 5)
        now += 500
    got = [[e.logical_call, e.attempt] for e in ledger.entries]
    assert got == [r["expect"] for r in example["requests"]]
