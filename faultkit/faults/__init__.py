"""The fault catalogue: one module per fault, registered here by its ``type`` name.

Adding a fault = one module in this folder + one test module + one line in ``_FAULT_CLASSES``.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext

# -- timing, connection and HTTP-level faults --
from faultkit.faults.latency import Latency

# -- body, stream and meaning-level faults --

_FAULT_CLASSES: list[type[Fault]] = [
    # -- timing, connection and HTTP-level faults (registry) --
    Latency,
    # -- body, stream and meaning-level faults (registry) --
]

FAULTS: dict[str, type[Fault]] = {cls.model_fields["type"].default: cls for cls in _FAULT_CLASSES}

FaultSpec = Annotated[Union[tuple(_FAULT_CLASSES)], Field(discriminator="type")]  # noqa: UP007

__all__ = ["FAULTS", "Alteration", "Applied", "Fault", "FaultContext", "FaultSpec"]
