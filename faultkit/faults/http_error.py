"""HTTP error status with the provider's own error body and headers.

The SDKs decide everything from these: the exception class from the status (429 →
``RateLimitError``, 529 → ``OverloadedError`` / ``InternalServerError``), whether to retry from
``x-should-retry`` and the status, how long to wait from ``retry-after-ms`` / ``retry-after``,
and ``err.code`` / ``err.type`` from the body, which is how a robust application tells a
transient rate limit from an exhausted quota that no retry will fix. The shapes live in
``faultkit.formats.errors`` so the proxy can build the same responses.

The fault answers on its own: no recording or upstream call is needed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from faultkit.exchange import ResponseHead, with_header
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.detect import request_model
from faultkit.formats.errors import error_response
from faultkit.plan import Plan, error_plan


class HttpError(Fault):
    """Answer with HTTP ``status`` and a provider-correct error body."""

    type: Literal["http_error"] = "http_error"
    status: int = Field(ge=400, le=599, description="HTTP status, 400-599 (529 = overloaded).")
    retry_after_s: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Sets the retry-after header, in seconds."
    )
    retry_after_ms: int | None = Field(
        None, ge=0, description="Sets the retry-after-ms header, in milliseconds."
    )
    error_type: str | None = Field(
        None,
        min_length=1,
        description="Provider error type/code, e.g. insufficient_quota, server_is_overloaded, "
        "overloaded_error, enforced_spend_limit_reached.",
    )
    message: str | None = Field(None, description="Error message (default: the provider's).")
    should_retry: bool | None = Field(None, description="Sets x-should-retry: true|false.")
    body: str | None = Field(None, description="Raw body sent instead of the provider's.")
    content_type: str | None = Field(
        None, description="Content type of a raw body (default: HTML if it looks like HTML)."
    )

    @property
    def needs_source(self) -> bool:
        return False

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        head, body = error_response(
            ctx.format,
            self.status,
            model=request_model(ctx.request),
            rng=ctx.rng,
            error_type=self.error_type,
            message=self.message,
            retry_after_s=self.retry_after_s,
            retry_after_ms=self.retry_after_ms,
            should_retry=self.should_retry,
            now_s=ctx.now_s,  # absolute reset times: the wall clock, which only a door has
        )
        if self.body is not None:
            body = self.body.encode()
            head = _with_content_type(head, self.content_type or _guess_type(self.body))
        original = plan.head.status if plan.head is not None else None
        return Applied(
            error_plan(head, body),
            [
                Alteration(
                    path="response.status",
                    action="replaced",
                    original=original,
                    value=self.status,
                )
            ],
        )


def _guess_type(body: str) -> str:
    return "text/html; charset=utf-8" if body.lstrip()[:1] == "<" else "application/json"


def _with_content_type(head: ResponseHead, content_type: str) -> ResponseHead:
    return head.model_copy(
        update={"headers": with_header(head.headers, "content-type", content_type)}
    )
