"""Moved to :mod:`faultkit.scrub` (one scrubbing module for cassettes, ledger, reports and
logs); kept so imports of ``faultkit.cassettes.scrub`` keep working."""

from faultkit.scrub import (
    REDACTED,
    SECRET_HEADERS,
    scrub_headers,
    scrub_json,
    scrub_url,
    secret_field,
    secret_header,
    secret_param,
)
from faultkit.scrub.bodies import scrub_body, scrub_request, scrub_response

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "scrub_body",
    "scrub_headers",
    "scrub_json",
    "scrub_request",
    "scrub_response",
    "scrub_url",
    "secret_field",
    "secret_header",
    "secret_param",
]
