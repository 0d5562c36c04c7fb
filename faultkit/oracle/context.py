"""What every check looks at: the ledger, the SUT's result, the contract, the bounds that follow
from contract and scenario together, and the fault rules that were in force. Built once per
judgement by ``judge``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from faultkit.ledger import LedgerEntry
from faultkit.oracle.contract import Contract
from faultkit.oracle.facts import is_tool
from faultkit.oracle.result import Result
from faultkit.scenario import Rule

# ``harness_error``: what the SUT raised is faultkit's own error (no recording, a broken
# cassette), so the run says nothing about the SUT.
Outcome = Literal["answer", "declared_error", "undeclared_error", "no_answer", "harness_error"]


@dataclass
class Context:
    entries: list[LedgerEntry]
    result: Result
    contract: Contract
    outcome: Outcome
    outcome_reason: str
    deadline_ms: float | None = None
    max_attempts: int | None = None
    fallback_routes: list[str] = field(default_factory=list)
    fallback_models: list[str] = field(default_factory=list)
    tolerance_ms: float = 2.0
    # label (as the ledger names it) -> rule, for every rule in force during the run; None when
    # the caller did not say, so whether any fault fired is not judged.
    rules: dict[str, Rule] | None = None

    @property
    def answer(self) -> Any:
        return self.result.answer

    @cached_property
    def tool_entries(self) -> list[LedgerEntry]:
        return [e for e in self.entries if is_tool(e, self.contract.tool_routes)]

    @cached_property
    def provider_entries(self) -> list[LedgerEntry]:
        return [e for e in self.entries if not is_tool(e, self.contract.tool_routes)]

    @cached_property
    def unmatched_entries(self) -> list[LedgerEntry]:
        """Requests that found no recording: the harness, not the SUT, is incomplete."""
        return [e for e in self.entries if e.ending == "unmatched"]

    @property
    def harness_failed(self) -> bool:
        """faultkit could not run this as written: a request had no recording, or the SUT
        raised one of faultkit's own errors."""
        return self.outcome == "harness_error" or bool(self.unmatched_entries)

    @cached_property
    def output_errors(self) -> list[str]:
        return self.contract.output_errors(self.result.value) if self.outcome == "answer" else []
