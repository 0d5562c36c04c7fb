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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from faultkit.exchange import ResponseHead, with_header
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.detect import request_model
from faultkit.formats.errors import error_response
from faultkit.plan import Plan, error_plan

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

    from faultkit.faults._search import Limits

# What the search tries, most common first: the order hypothesis shrinks towards.
DEFAULT_STATUSES: tuple[int, ...] = (
    429,
    500,
    503,
    502,
    529,
    504,
    408,
    400,
    401,
    403,
    404,
    409,
    413,
    422,
)

# Error kinds a provider really sends for a status, beyond the one the status implies by default
# (which ``error_type=None`` already gives). Keyed by provider, then status.
_ERROR_TYPES: dict[str, dict[int, tuple[str, ...]]] = {
    "openai": {429: ("insufficient_quota",), 503: ("slow_down",)},
    "anthropic": {429: ("enforced_spend_limit_reached",), 400: ("billing_error",)},
}
# Kinds that no retry fixes: the provider sends no retry-after with them.
_NOT_RETRYABLE_KINDS = frozenset({"insufficient_quota", "enforced_spend_limit_reached"})

_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_GATEWAY_REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


class HttpError(Fault):
    """Answer with HTTP ``status`` and the provider's own error body and headers
    (``retry-after``, ``x-should-retry``), as OpenAI, Anthropic and Gemini send them."""

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

    category = "failure"
    search_order = 10

    @classmethod
    def strategy(
        cls, limits: Limits, route: str | None, *, statuses: Sequence[int] = DEFAULT_STATUSES
    ) -> SearchStrategy[Fault]:
        """HTTP errors with the headers a real upstream sends with them (see
        ``faultkit.strategies.http_errors``); on a route named after a provider (``openai``,
        ``anthropic``) that provider's own non-default kinds are tried too."""
        from hypothesis import strategies as st

        provider = route if route in _ERROR_TYPES else None
        draws = _Draws(tuple(statuses), provider, limits.max_retry_after_s)
        return st.composite(_draw)(draws)

    def describe(self) -> str:
        parts = [str(self.status)]
        if self.error_type:
            parts.append(self.error_type)
        if self.retry_after_s is not None:
            parts.append(f"retry-after {self.retry_after_s:g}s")
        if self.retry_after_ms is not None:
            parts.append(f"retry-after-ms {self.retry_after_ms}")
        if self.should_retry is not None:
            parts.append(f"x-should-retry {str(self.should_retry).lower()}")
        if self.body is not None:
            html = self.body.lstrip().startswith("<")
            parts.append("with an HTML page" if html else "with a raw body")
        return " ".join(parts)

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


class _Draws:
    """The choices of one strategy, built once: a composite that creates strategies on every
    draw spends its time validating them."""

    def __init__(self, statuses: Sequence[int], provider: str | None, max_s: float) -> None:
        from hypothesis import strategies as st

        self.statuses = st.sampled_from(tuple(statuses))
        kinds = _ERROR_TYPES.get(provider or "", {})
        self.kinds = {status: st.sampled_from((None, *k)) for status, k in kinds.items()}
        self.no_retry = st.sampled_from((None, False))
        # Whole seconds need a bound of at least 1 s; below that, only retry-after-ms fits.
        seconds = "seconds" if max_s >= 1 else "ms"
        self.hints_usual = st.sampled_from(tuple(dict.fromkeys((seconds, "none", "ms"))))
        self.hints_rare = st.sampled_from(tuple(dict.fromkeys(("none", seconds))))
        self.seconds = st.integers(1, max(1, int(max_s)))
        if max_s >= 1:
            self.millis = st.integers(1, int(max_s * 10)).map(lambda n: n * 100)
        else:
            self.millis = st.integers(1, max(1, int(max_s * 1000)))
        self.should_retry = st.sampled_from((None, True))
        self.gateway = st.booleans()


def _draw(draw: DrawFn, c: _Draws) -> HttpError:
    status = draw(c.statuses)
    error_type = draw(c.kinds[status]) if status in c.kinds else None
    retryable = (status in (408, 409, 429) or status >= 500) and error_type not in (
        _NOT_RETRYABLE_KINDS
    )
    params: dict[str, Any] = {"status": status}
    if error_type is not None:
        params["error_type"] = error_type
    if error_type in _NOT_RETRYABLE_KINDS:
        params["should_retry"] = draw(c.no_retry)
    if retryable:
        # Rate limits and overloads usually say when to come back; other errors usually not.
        hint = draw(c.hints_usual if status in (429, 503, 529) else c.hints_rare)
        if hint == "seconds":
            params["retry_after_s"] = draw(c.seconds)
        elif hint == "ms":
            params["retry_after_ms"] = draw(c.millis)
        # A retryable error says "retry" or nothing; "false" comes with errors no retry fixes.
        params["should_retry"] = draw(c.should_retry)
    if status in _GATEWAY_REASONS and draw(c.gateway):
        # A gateway in front of the provider answers with its own HTML page.
        params["body"] = _GATEWAY_PAGE.format(status=status, reason=_GATEWAY_REASONS[status])
        params["content_type"] = "text/html"
    return HttpError(**params)
