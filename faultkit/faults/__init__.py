"""The fault catalogue, found by looking: every module of this folder that defines a
:class:`~faultkit.faults.base.Fault` subclass is a fault, registered by its ``type`` name.

Adding a fault = one module here + one test module; nothing else lists it. From the modules
come :data:`FAULTS` (in search order), :data:`FaultSpec` (the scenario schema's union, so
``scenarios/schema.json`` is regenerated from it), the category sets the oracle reads
(:data:`FAILURE_FAULTS`, :data:`TIMING_FAULTS`, :data:`MEANING_FAULTS`), the search
(``faultkit.strategies.FAULT_STRATEGIES``), the descriptions of a failure report and the
README's faults table (:mod:`faultkit.faults.table`).

Modules are found with :mod:`pkgutil` rather than listed: a list in one place would be the
one thing a new fault has to touch besides itself, and forgetting it would leave a fault
that loads in no scenario. Helper modules (``answer``, ``_search``) define no fault and are
passed over; a module that defines a fault missing a declaration stops the import, naming it.
"""

from __future__ import annotations

import importlib
import pkgutil
import typing
from typing import Annotated, Union, get_args

from pydantic import Field

from faultkit.errors import FaultkitError
from faultkit.faults.base import Alteration, Applied, Category, Fault, FaultContext

CATEGORIES: tuple[Category, ...] = get_args(Category)


class FaultDeclarationError(FaultkitError):
    """A fault module declares something inconsistent (a programming error in faultkit)."""


def _declared(cls: type[Fault]) -> str:
    """``cls``'s type name, once its declarations are checked."""
    where = f"{cls.__module__}.{cls.__name__}"
    literal = typing.get_args(cls.model_fields["type"].annotation)
    if len(literal) != 1 or cls.model_fields["type"].default != literal[0]:
        raise FaultDeclarationError(f'{where}: declare type: Literal["name"] = "name"')
    if getattr(cls, "category", None) not in CATEGORIES:
        raise FaultDeclarationError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    if not isinstance(getattr(cls, "search_order", None), int):
        raise FaultDeclarationError(f"{where}: declare search_order: ClassVar[int]")
    if cls.strategy.__func__ is Fault.strategy.__func__:  # type: ignore[attr-defined]
        raise FaultDeclarationError(f"{where}: define the classmethod strategy(limits, route)")
    if not (cls.__doc__ or "").strip():
        raise FaultDeclarationError(f"{where}: its docstring's first line is its description")
    return literal[0]


def _discover() -> list[type[Fault]]:
    found: dict[str, type[Fault]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, Fault)
                and obj.__module__ == module.__name__
                and not obj.__name__.startswith("_")
            ):
                name = _declared(obj)
                if name in found:
                    raise FaultDeclarationError(f"fault type {name!r} is declared twice")
                found[name] = obj
    orders: dict[int, str] = {}
    for name, cls in found.items():
        if cls.search_order in orders:
            raise FaultDeclarationError(
                f"{name} and {orders[cls.search_order]} share search_order {cls.search_order}"
            )
        orders[cls.search_order] = name
    return sorted(found.values(), key=lambda cls: cls.search_order)


_FAULT_CLASSES = _discover()

FAULTS: dict[str, type[Fault]] = {cls.model_fields["type"].default: cls for cls in _FAULT_CLASSES}

FaultSpec = Annotated[Union[tuple(_FAULT_CLASSES)], Field(discriminator="type")]  # noqa: UP007


def _of(category: Category) -> frozenset[str]:
    return frozenset(name for name, cls in FAULTS.items() if cls.category == category)


# Faults after which the exchange delivered no usable answer at all (the transport or the
# framing broke). A client may legitimately retry these.
FAILURE_FAULTS = _of("failure")
# Faults that only change timing; the exchange's ending says whether the client gave up.
TIMING_FAULTS = _of("timing")
# Faults after which an answer arrived that means something else than the recording.
MEANING_FAULTS = _of("meaning")
# Meaning faults whose answer a client may still act on (``Fault.answer_usable``).
USABLE_FAULTS = frozenset(name for name, cls in FAULTS.items() if cls.answer_usable)

__all__ = [
    "CATEGORIES",
    "FAILURE_FAULTS",
    "FAULTS",
    "MEANING_FAULTS",
    "TIMING_FAULTS",
    "USABLE_FAULTS",
    "Alteration",
    "Applied",
    "Fault",
    "FaultContext",
    "FaultSpec",
]
