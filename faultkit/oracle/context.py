"""What every check looks at: the ledger, the SUT's result, the contract and the bounds that
follow from contract and scenario together. Built once per judgement by ``judge``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from faultkit.ledger import LedgerEntry
from faultkit.oracle.contract import Contract
from faultkit.oracle.facts import is_tool
from faultkit.oracle.result import Result

Outcome = Literal["answer", "declared_error", "undeclared_error", "no_answer"]


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
    def output_errors(self) -> list[str]:
        return self.contract.output_errors(self.result.value) if self.outcome == "answer" else []
