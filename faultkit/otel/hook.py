"""The one place an applied fault is announced: the engine calls :func:`fault_applied` right
after it records the fault in the ledger entry, for every door (in-process, proxy, TCP front),
so an exporter sees each injected fault exactly once, with the values the ledger keeps
(alterations already scrubbed).

Listeners are plain callables (:mod:`faultkit.otel.export` adds the OpenTelemetry one); none
registered costs one truthiness test per fault. A listener that raises is dropped from that
call's concern: an exporter must never break the exchange it reports on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faultkit.exchange import Request
    from faultkit.ledger import AppliedFault, LedgerEntry


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One fault the engine applied: the ledger entry it went into, the fault as recorded,
    the scenario name and seed that chose it, and the W3C trace context the request carried
    (``traceparent``/``tracestate``), so a door in another process can attach the fault to
    the app's trace."""

    entry: LedgerEntry
    fault: AppliedFault
    scenario: str
    seed: int
    trace_context: dict[str, str] = field(default_factory=dict)


FaultListener = Callable[[FaultEvent], None]

_LISTENERS: list[FaultListener] = []
_LOCK = threading.Lock()


def add_fault_listener(listener: FaultListener) -> Callable[[], None]:
    """Call ``listener`` for every fault applied from now on; returns its remover."""
    with _LOCK:
        _LISTENERS.append(listener)

    def remove() -> None:
        with _LOCK:
            if listener in _LISTENERS:
                _LISTENERS.remove(listener)

    return remove


def fault_applied(
    entry: LedgerEntry,
    fault: AppliedFault,
    scenario: str,
    seed: int,
    request: Request | None = None,
) -> None:
    if not _LISTENERS:
        return
    context = {}
    if request is not None:
        for name in ("traceparent", "tracestate"):
            value = request.header(name)
            if value:
                context[name] = value
    event = FaultEvent(
        entry=entry, fault=fault, scenario=scenario, seed=seed, trace_context=context
    )
    for listener in list(_LISTENERS):
        try:
            listener(event)
        except Exception:  # an exporter never breaks the exchange (module doc)
            continue


OTLP_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def export_from_environment() -> tuple[Callable[[], None] | None, str | None]:
    """For a door process (``faultkit proxy``): when an ``OTEL_EXPORTER_OTLP_*ENDPOINT``
    variable is set, export applied faults there as spans (:func:`faultkit.otel.export.
    export_to_otlp`). Returns (the function that stops and flushes, or None; a one-line note
    for the user, or None): the note says where faults go, or that faultkit[otel] is missing."""
    endpoint = next((os.environ[v] for v in OTLP_VARIABLES if os.environ.get(v)), None)
    if endpoint is None:
        return None, None
    try:
        from faultkit.otel.export import export_to_otlp

        stop = export_to_otlp()
    except ImportError as exc:
        return None, (
            f"OTEL_EXPORTER_OTLP_ENDPOINT is set, but {exc.name} is missing: injected faults "
            "are not exported (pip install 'faultkit[otel]')"
        )
    return stop, f"injected faults are exported as OpenTelemetry spans to {endpoint}"
