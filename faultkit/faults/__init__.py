"""The fault catalogue: one module per fault, registered here by its ``type`` name.

Adding a fault = one module in this folder + one test module + one line in ``_FAULT_CLASSES``.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.faults.broken_sse import BrokenSSE
from faultkit.faults.http_error import HttpError
from faultkit.faults.latency import Latency
from faultkit.faults.malformed_body import MalformedBody
from faultkit.faults.partial_tool_data import PartialToolData
from faultkit.faults.refusal import Refusal
from faultkit.faults.reset import ConnectionReset
from faultkit.faults.schema_drift import SchemaDrift
from faultkit.faults.slow_first_token import SlowFirstToken
from faultkit.faults.stall import Stall
from faultkit.faults.timeout import Timeout
from faultkit.faults.token_limit import TokenLimit
from faultkit.faults.tool_call import ToolCallFault

_FAULT_CLASSES: list[type[Fault]] = [
    # timing, connection and HTTP-level faults
    Latency,
    SlowFirstToken,
    Stall,
    Timeout,
    ConnectionReset,
    HttpError,
    MalformedBody,
    BrokenSSE,
    # body, stream and meaning-level faults
    ToolCallFault,
    SchemaDrift,
    PartialToolData,
    TokenLimit,
    Refusal,
]

FAULTS: dict[str, type[Fault]] = {cls.model_fields["type"].default: cls for cls in _FAULT_CLASSES}

FaultSpec = Annotated[Union[tuple(_FAULT_CLASSES)], Field(discriminator="type")]  # noqa: UP007

__all__ = ["FAULTS", "Alteration", "Applied", "Fault", "FaultContext", "FaultSpec"]
