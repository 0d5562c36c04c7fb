"""Malformed body: a response whose body is not what its head promises.

Four kinds, each a failure the SDKs do not catch for you (§4.5, §6.7 of the wire-format
reference):

- ``invalid_json``: one structural separator (a ``,`` or ``:`` outside any string, picked with
  the seeded RNG) becomes ``;``. The document keeps its length and almost all its content, like
  a corrupted byte, and no parser accepts it. The SDKs raise a raw ``JSONDecodeError``.
- ``truncated_json``: the body ends early, at fraction ``truncate_at`` of its length (drawn from
  the RNG when not given), like a short ``Content-Length`` or a buffer flushed too soon.
- ``html_200``: a gateway error page (Cloudflare or nginx "502 Bad Gateway") with
  ``content-type: text/html``, on status 200 unless ``status`` says otherwise. On a 200 the
  SDKs *return the HTML string* instead of raising; the app fails later, far from the cause.
- ``empty_body``: the head as recorded, no body at all.

On an SSE stream, ``invalid_json`` and ``truncated_json`` break the JSON of one event's ``data``
(an event picked with the RNG among those carrying JSON) and keep the framing intact, which is
how a broken payload reaches a streaming client; framing faults are ``broken_sse``'s job.
``html_200`` and ``empty_body`` replace the whole stream, as a gateway in front of it would.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import Field

from faultkit.exchange import ResponseHead
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.errors import reason_phrase
from faultkit.formats.jsontext import structure
from faultkit.plan import Plan, error_plan

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits


class MalformedBody(Fault):
    """Break the body: invalid or truncated JSON, an HTML error page, or nothing at all."""

    type: Literal["malformed_body"] = "malformed_body"
    category = "failure"
    search_order = 70
    kind: Literal["invalid_json", "truncated_json", "html_200", "empty_body"]
    truncate_at: float | None = Field(
        None, gt=0, lt=1, description="truncated_json: keep this fraction of the body (0-1)."
    )
    status: int | None = Field(
        None, ge=100, le=599, description="Status to send (html_200 default: 200)."
    )
    page: Literal["cloudflare", "nginx"] = Field(
        "cloudflare", description="html_200: which gateway's error page."
    )

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """Truncated or invalid JSON, an empty body, or a gateway's HTML page on a 200."""
        from hypothesis import strategies as st

        from faultkit.faults._search import optional

        truncated = optional(st.integers(1, 9)).map(
            lambda tenth: cls(
                kind="truncated_json", truncate_at=None if tenth is None else tenth / 10
            )
        )
        html = st.builds(
            lambda status, page: cls(kind="html_200", status=status, page=page),
            optional(st.sampled_from((502, 503, 504))),
            st.sampled_from(("cloudflare", "nginx")),
        )
        return st.one_of(
            truncated, st.just(cls(kind="invalid_json")), st.just(cls(kind="empty_body")), html
        )

    def describe(self) -> str:
        if self.kind == "truncated_json":
            share = f" at {round(self.truncate_at * 100)}%" if self.truncate_at is not None else ""
            return f"body JSON truncated{share}"
        if self.kind == "invalid_json":
            return "body is invalid JSON"
        if self.kind == "empty_body":
            return "empty body"
        return f"{self.page} HTML error page with status {self.status or 200}"

    @property
    def needs_source(self) -> bool:
        return self.kind != "html_200"

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        if self.kind == "html_200":
            return self._html(plan, ctx)
        if plan.head is None:
            return Applied(plan, [])
        if self.kind == "empty_body":
            body = plan.body_bytes()
            new = plan.with_body(b"")
            alteration = Alteration(
                path="response.body", action="removed", original=len(body), value=0
            )
            return Applied(self._with_status(new), [alteration])
        if plan.is_sse:
            return self._break_event(plan, ctx)
        body = plan.body_bytes()
        if self.kind == "truncated_json":
            if len(body) < 2:
                return Applied(plan, [])
            cut = _cut_index(len(body), self.truncate_at, ctx.rng)
            alteration = Alteration(
                path=f"response.body[{cut}:]", action="truncated", original=len(body), value=cut
            )
            return Applied(self._with_status(plan.with_body(body[:cut])), [alteration])
        broken, at = corrupt_json(body, ctx.rng)
        alteration = Alteration(
            path=f"response.body[{at}]",
            action="replaced",
            original=body[at : at + 1].decode("latin-1") if at < len(body) else None,
            value=broken[at : at + 1].decode("latin-1"),
        )
        return Applied(self._with_status(plan.with_body(broken)), [alteration])

    # -- helpers ----------------------------------------------------------------------------
    def _with_status(self, plan: Plan) -> Plan:
        if self.status is None or plan.head is None:
            return plan
        head = plan.head.model_copy(
            update={"status": self.status, "reason": reason_phrase(self.status)}
        )
        return plan.with_head(head)

    def _break_event(self, plan: Plan, ctx: FaultContext) -> Applied:
        events = plan.events()
        candidates = [i for i, e in enumerate(events) if e.json() is not None]
        if not candidates:
            return Applied(plan, [])
        target = ctx.rng.choice(candidates)
        data = events[target].data or ""
        if self.kind == "truncated_json":
            cut = _cut_index(len(data), self.truncate_at, ctx.rng)
            new_data = data[:cut]
            alteration = Alteration(
                path=f"response.events[{target}].data",
                action="truncated",
                original=len(data),
                value=cut,
            )
        else:
            broken, at = corrupt_json(data.encode(), ctx.rng)
            new_data = broken.decode()
            alteration = Alteration(
                path=f"response.events[{target}].data[{at}]",
                action="replaced",
                original=data.encode()[at : at + 1].decode("latin-1"),
                value=";",
            )

        def edit(index: int, event):  # type: ignore[no-untyped-def]
            if index != target:
                return event
            return event.model_copy(update={"data": new_data, "raw": None})

        return Applied(self._with_status(plan.map_events(edit)), [alteration])

    def _html(self, plan: Plan, ctx: FaultContext) -> Applied:
        status = self.status if self.status is not None else 200
        shown = status if status >= 400 else 502
        host = _host(ctx.request.url)
        headers: list[tuple[str, str]] = [("content-type", "text/html; charset=UTF-8")]
        if self.page == "cloudflare":
            ray = "".join(ctx.rng.choice("0123456789abcdef") for _ in range(16))
            headers += [("server", "cloudflare"), ("cf-ray", f"{ray}-SJC")]
            body = cloudflare_page(shown, host, ray)
        else:
            headers.append(("server", "nginx"))
            body = nginx_page(shown)
        head = ResponseHead(status=status, reason=reason_phrase(status), headers=tuple(headers))
        original = {
            "status": plan.head.status if plan.head is not None else None,
            "bytes": len(plan.body_bytes()),
        }
        alteration = Alteration(
            path="response.body",
            action="replaced",
            original=original,
            value={"status": status, "content_type": "text/html"},
        )
        return Applied(error_plan(head, body), [alteration])


def _host(url: str) -> str:
    return urlsplit(url).hostname or "localhost"


def _cut_index(length: int, fraction: float | None, rng: random.Random) -> int:
    """Where to cut ``length`` bytes: strictly inside, so something is kept and something lost."""
    frac = fraction if fraction is not None else rng.uniform(0.1, 0.9)
    return min(length - 1, max(1, int(length * frac)))


def corrupt_json(body: bytes, rng: random.Random) -> tuple[bytes, int]:
    """``body`` with one structural ``,`` or ``:`` (outside strings) replaced by ``;``, and the
    position replaced. ``;`` is never valid JSON outside a string, so the result never parses.
    With no separator to corrupt (``{}``, a scalar, an empty body) a stray ``}`` is appended."""
    positions = structure(body.decode("latin-1"), ",:")[0]
    if not positions:
        return body + b"}", len(body)
    at = rng.choice(positions)
    return body[:at] + b";" + body[at + 1 :], at


def nginx_page(status: int) -> bytes:
    """nginx's stock error page, with its CRLF line ends."""
    title = f"{status} {reason_phrase(status)}"
    lines = [
        "<html>",
        f"<head><title>{title}</title></head>",
        "<body>",
        f"<center><h1>{title}</h1></center>",
        "<hr><center>nginx</center>",
        "</body>",
        "</html>",
        "",
    ]
    return "\r\n".join(lines).encode()


def cloudflare_page(status: int, host: str, ray: str) -> bytes:
    """A Cloudflare-style gateway error page (trimmed: no inline CSS)."""
    phrase = reason_phrase(status).capitalize() or "Error"
    return f"""<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html lang="en-US">
<head>
<title>{host} | {status}: {phrase}</title>
<meta charset="UTF-8" />
<meta name="robots" content="noindex, nofollow" />
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details" class="p-0">
    <header class="mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-8">
      <h1 class="inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl">
        <span class="inline-block">{phrase}</span>
        <span class="code-label">Error code {status}</span>
      </h1>
    </header>
    <div class="w-240 lg:w-full mx-auto mb-8 lg:px-8">
      <h2 class="text-3xl font-normal leading-1.3 mb-4">What happened?</h2>
      <p>The web server reported a {phrase.lower()} error.</p>
      <h2 class="text-3xl font-normal leading-1.3 mb-4">What can I do?</h2>
      <p>Please try again in a few minutes.</p>
    </div>
    <div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto">
      <p>
        <span class="cf-footer-item">Cloudflare Ray ID: <strong>{ray}</strong></span>
        <span class="cf-footer-separator">&bull;</span>
        <span class="cf-footer-item">Performance &amp; security by Cloudflare</span>
      </p>
    </div>
  </div>
</div>
</body>
</html>
""".encode()
