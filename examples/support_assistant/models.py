"""The data both apps share: the answer they promise, the order data the tool returns, the
declared error, and the reply that carries a decision trace.

``SupportAnswer`` is the output contract: the same schema the apps send the model as
``response_format`` (see :mod:`.protocol`), enforced again on the way out because a model (or a
drifting provider) does not always honour it.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from faultkit.oracle.trace import DecisionTrace

OrderStatus = Literal["pending", "processing", "shipped", "delivered", "cancelled", "unknown"]
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


class SupportAnswer(BaseModel):
    """What the assistant tells the customer. ``eta`` is null when the delivery date is not
    known: an unknown date is said to be unknown, never guessed."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    order_id: str = Field(min_length=1)
    status: OrderStatus
    eta: str | None = Field(pattern=ISO_DATE)
    reply: str = Field(min_length=1)


class GetOrderArgs(BaseModel):
    """Arguments of the ``get_order`` tool call, validated before the tool is called."""

    model_config = ConfigDict(extra="forbid", strict=True)

    order_id: str = Field(pattern=r"^[0-9]{1,12}$")


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    sku: str | None = None
    name: str | None = None
    quantity: int | None = None
    unit_price: float | None = None


class Order(BaseModel):
    """An order as the orders service returns it. Everything but the id may be missing (a
    backend that timed out, a lost join): a missing field is *unknown*, not an error."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: str | None = None
    items: list[OrderItem] | None = None
    total: float | None = None
    currency: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    eta: str | None = None
    updated_at: str | None = None


ErrorCode = Literal[
    "rate_limited",
    "quota_exhausted",
    "provider_unavailable",
    "provider_rejected",
    "invalid_output",
    "invalid_tool_call",
    "order_not_found",
    "tool_unavailable",
    "timeout",
]


class SupportError(Exception):
    """The robust app's declared error: it could not answer, and says why (``code``).

    Declared in the contract (``error_types``), so the oracle counts it as a controlled error.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Reply(NamedTuple):
    """An answer with the trace of how it was reached. A 2-tuple, so faultkit (and any caller
    that unpacks it) finds the trace next to the output."""

    answer: SupportAnswer
    trace: DecisionTrace
