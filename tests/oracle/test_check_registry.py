"""The verdict tables are derived from the check modules: a check declares its kinds, their
severity and group, and the ledger facts it reads, and nothing else has to list them."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
import sys
import types

import pytest

from faultkit.ledger import LedgerEntry
from faultkit.oracle import checks, verdict
from faultkit.oracle.checks.base import CONTROLLED, LEDGER_FACTS, Check, CheckError, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.contract import Contract
from faultkit.oracle.result import Result
from faultkit.oracle.verdict import Finding

# The ranking docs/oracle.md explains, worst first: the derived tables must keep it exactly.
RANKING = (
    "harness_error",
    "unknown_as_known",
    "silent_tool_failure",
    "invalid_output_leaked",
    "truncated_output_accepted",
    "crash",
    "hang",
    "retry_storm",
    "retried_non_retryable",
    "retry_after_ignored",
    "untraceable",
    "not_exercised",
    "controlled_error",
    "fallback",
    "retried",
    "pass",
)


def test_every_module_in_the_folder_is_a_registered_check() -> None:
    modules = sorted(
        m.name
        for m in pkgutil.iter_modules(checks.__path__)
        if m.name != "base" and not m.name.startswith("_")
    )
    assert sorted(c.name for c in checks.CHECKS) == modules
    for check in checks.CHECKS:
        assert importlib.import_module(f"faultkit.oracle.checks.{check.name}").CHECK is check
    assert importlib.import_module("faultkit.oracle.judge").CHECKS is checks.CHECKS


def test_the_derived_tables_keep_the_documented_ranking() -> None:
    # Kinds declared by later modules (issue 15) slot in between; these keep their order.
    assert [k for k in checks.SEVERITY if k in RANKING] == list(RANKING)
    assert verdict.SEVERITY is checks.SEVERITY
    assert set(verdict.VerdictKind.__args__) == set(checks.SEVERITY)
    assert {"pass", "retried", "fallback", "controlled_error"} <= checks.CONTROLLED_KINDS
    assert {"harness_error", "not_exercised"} <= checks.UNJUDGED_KINDS
    assert verdict.CONTROLLED_KINDS is checks.CONTROLLED_KINDS
    assert verdict.UNJUDGED_KINDS is checks.UNJUDGED_KINDS
    assert [verdict.severity(k) for k in checks.SEVERITY] == list(range(len(checks.SEVERITY)))


def test_checks_run_worst_kind_first() -> None:
    worst = [min(k.severity for k in c.kinds) for c in checks.CHECKS]
    assert worst == sorted(worst)


def test_every_needed_fact_is_a_ledger_field() -> None:
    fields = {f.name for f in dataclasses.fields(LedgerEntry)}
    for check in checks.CHECKS:
        assert check.needs <= fields, check.name
        assert check.needs, f"{check.name} reads no ledger fact?"
    assert fields >= checks.NEEDED_FACTS
    # What any check asks of a failed exchange is recorded by both doors.
    assert {"status", "retry_after_ms", "ending", "faults"} <= checks.NEEDED_FACTS


# Attribute names a check reads that are ledger field names but not of a ledger entry there.
NOT_LEDGER_READS = {"untraceable": {"tool"}}  # ToolOutput.tool, from the decision trace


def test_every_ledger_field_a_check_reads_by_name_is_declared() -> None:
    """A lower bound on ``needs``: a ledger field's name read as an attribute in the check's
    own module (facts read through faultkit.oracle.facts are declared with FAILURE_FACTS)."""
    for check in checks.CHECKS:
        module = importlib.import_module(f"faultkit.oracle.checks.{check.name}")
        tree = ast.parse(inspect.getsource(module))
        read = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        undeclared = (read & LEDGER_FACTS) - check.needs - NOT_LEDGER_READS.get(check.name, set())
        assert not undeclared, f"{check.name} reads {sorted(undeclared)} but does not need them"


def test_a_finding_of_an_undeclared_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown verdict kind 'runaway_lop'"):
        Finding(kind="runaway_lop", summary="typo")


def _ctx() -> Context:
    return Context(
        entries=[],
        result=Result(answer="ok", duration_ms=1.0),
        contract=Contract(),
        outcome="answer",
        outcome_reason="returned an answer",
    )


def test_a_check_that_returns_a_kind_it_did_not_declare_fails_loudly() -> None:
    def run(ctx: Context) -> list[Finding]:
        return [Finding(kind="crash", summary="not mine")]

    check = Check(
        kinds=(Kind("fallback_x", CONTROLLED + 9, "controlled"),), needs=frozenset({"id"}), run=run
    )
    with pytest.raises(CheckError, match=r"found \['crash'\], which it does not declare"):
        check(_ctx())


def test_a_check_must_name_real_ledger_facts() -> None:
    with pytest.raises(CheckError, match=r"needs unknown ledger facts \['statsu'\]"):
        Check(kinds=(Kind("x", 99, "uncontrolled"),), needs=frozenset({"statsu"}), run=_ctx)


def _registry_with(module_text: str) -> str:
    """Import a fresh copy of the registry with one more module in the folder; the error."""
    extra = types.ModuleType("faultkit.oracle.checks.zz_extra")
    exec(compile(module_text, "zz_extra.py", "exec"), extra.__dict__)
    real_iter = pkgutil.iter_modules

    def iter_modules(path: object = None, prefix: str = "") -> object:
        yield from real_iter(path, prefix)
        if path == checks.__path__:
            yield pkgutil.ModuleInfo(None, "zz_extra", False)  # type: ignore[arg-type]

    saved = dict(sys.modules)
    sys.modules["faultkit.oracle.checks.zz_extra"] = extra
    pkgutil.iter_modules = iter_modules  # type: ignore[assignment]
    try:
        spec = importlib.util.spec_from_file_location(
            checks.__name__, checks.__file__, submodule_search_locations=checks.__path__
        )
        assert spec and spec.loader
        fresh = importlib.util.module_from_spec(spec)
        with pytest.raises(CheckError) as exc:
            spec.loader.exec_module(fresh)
        return str(exc.value)
    finally:
        pkgutil.iter_modules = real_iter
        sys.modules.clear()
        sys.modules.update(saved)


def test_a_new_module_without_a_check_stops_the_import_naming_it() -> None:
    error = _registry_with("HELPER = 1\n")
    assert "zz_extra: a module in faultkit/oracle/checks/ must define CHECK" in error


def test_two_kinds_with_one_severity_stop_the_import() -> None:
    error = _registry_with(
        "from faultkit.oracle.checks.base import MISLEADING, Check, Kind\n"
        "CHECK = Check(kinds=(Kind('leaky', MISLEADING, 'uncontrolled'),),\n"
        "              needs=frozenset({'id'}), run=lambda ctx: [])\n"
    )
    assert "leaky (" in error and "share severity 10" in error


def test_a_controlled_kind_above_an_uncontrolled_one_stops_the_import() -> None:
    error = _registry_with(
        "from faultkit.oracle.checks.base import HURTS_UPSTREAM, Check, Kind\n"
        "CHECK = Check(kinds=(Kind('fine_really', HURTS_UPSTREAM + 7, 'controlled'),),\n"
        "              needs=frozenset({'id'}), run=lambda ctx: [])\n"
    )
    assert "every controlled verdict kind must rank below every other kind" in error
