"""The fault registry is built from the fault modules: each declares its type, category, place
in the search, strategy and description, and nothing else lists it."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
import types
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

import faultkit.faults as faults
from faultkit import ledger
from faultkit.errors import FaultkitError
from faultkit.faults import (
    FAILURE_FAULTS,
    FAULTS,
    MEANING_FAULTS,
    TIMING_FAULTS,
    FaultSpec,
)
from faultkit.faults._search import Limits
from faultkit.faults.base import Fault as BaseFault
from faultkit.strategies import FAULT_STRATEGIES, describe_fault

SPEC = TypeAdapter(FaultSpec)


def test_every_fault_module_is_registered_in_search_order() -> None:
    modules = {
        m.name
        for m in pkgutil.iter_modules(faults.__path__)
        if m.name != "base" and not m.name.startswith("_")
    }
    registered = {cls.__module__.rsplit(".", 1)[-1] for cls in FAULTS.values()}
    # Helper modules (the provider answer a fault edits) define no fault.
    assert registered == modules - {"answer"}
    orders = [cls.search_order for cls in FAULTS.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert next(iter(FAULTS)) == "http_error"  # what a failing search shrinks towards
    assert list(FAULT_STRATEGIES) == list(FAULTS)


def test_the_categories_partition_the_catalogue() -> None:
    assert set(FAULTS) == FAILURE_FAULTS | TIMING_FAULTS | MEANING_FAULTS
    assert not (FAILURE_FAULTS & TIMING_FAULTS or TIMING_FAULTS & MEANING_FAULTS)
    assert not FAILURE_FAULTS & MEANING_FAULTS
    assert {"http_error", "reset", "broken_sse"} <= FAILURE_FAULTS
    assert {"latency", "slow_first_token", "stall"} <= TIMING_FAULTS
    # The ledger (and through it the oracle) reads the same sets.
    assert ledger.FAILURE_FAULTS is FAILURE_FAULTS
    assert ledger.TIMING_FAULTS is TIMING_FAULTS


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_each_strategy_yields_its_own_fault_which_round_trips_and_reads(data: Any) -> None:
    name = data.draw(st.sampled_from(list(FAULTS)))
    fault = data.draw(FAULTS[name].strategy(Limits(max_delay_ms=50, max_event=3), None))
    assert isinstance(fault, FAULTS[name])
    assert SPEC.validate_python(fault.params()) == fault
    words = describe_fault(fault)
    assert words and "\n" not in words
    assert not words.startswith(f"{name}(")  # its own words, not the generic fallback


def test_the_default_description_lists_the_changed_parameters() -> None:
    class Plain(BaseFault):
        """A fault with no words of its own."""

        type: str = "plain"
        size: int = 1

    assert Plain().describe() == "plain"
    assert Plain(size=3).describe() == "plain(size=3)"


def _register(text: str) -> str:
    """Import a fresh copy of the registry with one more fault module; the error it raises."""
    extra = types.ModuleType("faultkit.faults.zz_extra")
    real_iter = pkgutil.iter_modules

    def iter_modules(path: object = None, prefix: str = "") -> object:
        yield from real_iter(path, prefix)
        if path == faults.__path__:
            yield pkgutil.ModuleInfo(None, "zz_extra", False)  # type: ignore[arg-type]

    saved = dict(sys.modules)
    sys.modules[extra.__name__] = extra
    exec(compile(text, "zz_extra.py", "exec"), extra.__dict__)
    pkgutil.iter_modules = iter_modules  # type: ignore[assignment]
    try:
        spec = importlib.util.spec_from_file_location(
            faults.__name__, faults.__file__, submodule_search_locations=faults.__path__
        )
        assert spec and spec.loader
        fresh = importlib.util.module_from_spec(spec)
        with pytest.raises(FaultkitError) as exc:  # the fresh module's own class
            spec.loader.exec_module(fresh)
        return str(exc.value)
    finally:
        pkgutil.iter_modules = real_iter
        sys.modules.clear()
        sys.modules.update(saved)


HEADER = "from typing import Literal\nfrom faultkit.faults.base import Fault\n"


def test_a_fault_without_a_category_stops_the_import_naming_it() -> None:
    error = _register(
        HEADER + "class Odd(Fault):\n"
        '    """Odd."""\n'
        '    type: Literal["odd"] = "odd"\n'
        "    search_order = 999\n"
        "    @classmethod\n"
        "    def strategy(cls, limits, route): ...\n"
    )
    assert error == "faultkit.faults.zz_extra.Odd: category must be one of failure, timing, meaning"


def test_a_fault_without_a_strategy_stops_the_import() -> None:
    error = _register(
        HEADER + "class Odd(Fault):\n"
        '    """Odd."""\n'
        '    type: Literal["odd"] = "odd"\n'
        '    category = "meaning"\n'
        "    search_order = 999\n"
    )
    assert "define the classmethod strategy(limits, route)" in error


def test_a_taken_search_order_or_type_stops_the_import() -> None:
    body = (
        '    """Odd."""\n'
        '    category = "meaning"\n'
        "    @classmethod\n"
        "    def strategy(cls, limits, route): ...\n"
    )
    error = _register(
        HEADER + "class Odd(Fault):\n" + body + '    type: Literal["odd"] = "odd"\n'
        "    search_order = 10\n"
    )
    assert error == "odd and http_error share search_order 10"
    error = _register(
        HEADER + "class Odd(Fault):\n" + body + '    type: Literal["latency"] = "latency"\n'
        "    search_order = 999\n"
    )
    assert error == "fault type 'latency' is declared twice"
