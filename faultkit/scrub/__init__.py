"""Secret scrubbing: the one place that decides what must never reach a file, the ledger, a
report or a log.

vcrpy's ``filter_headers`` covers request headers only; cookies, ``set-cookie``, query keys,
JSON fields, compressed bodies and keys echoed in error texts leak unless every project writes
its own hooks. faultkit scrubs, with the same rules everywhere:

- cassettes, on every write (both doors record through ``CassetteStore.save``):
  :func:`~faultkit.scrub.bodies.scrub_request` / ``scrub_response``;
- the ledger's URL and error text, and so ``GET /faultkit/ledger`` and every report that
  embeds ledger entries: :func:`scrub_url`, :func:`scrub_text`;
- log lines and messages that quote a URL: :func:`scrub_text`.

What is a secret, by name: ``names``; by shape and the user's own patterns: ``text``; in JSON,
URLs and headers: ``structured``; in bodies of every encoding: ``bodies`` (imported from there:
it depends on the SSE parser and the body codecs, and the ledger must not).
"""

from faultkit.scrub.names import (
    SECRET_HEADERS,
    secret_collection,
    secret_field,
    secret_header,
    secret_param,
)
from faultkit.scrub.structured import (
    scrub_at,
    scrub_header_value,
    scrub_headers,
    scrub_json,
    scrub_pairs,
    scrub_param,
    scrub_url,
)
from faultkit.scrub.text import (
    REDACTED,
    ScrubPatternError,
    add_patterns,
    high_entropy,
    scrub_bytes,
    scrub_path,
    scrub_text,
    user_patterns,
)

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "ScrubPatternError",
    "add_patterns",
    "high_entropy",
    "scrub_at",
    "scrub_bytes",
    "scrub_header_value",
    "scrub_headers",
    "scrub_json",
    "scrub_pairs",
    "scrub_param",
    "scrub_path",
    "scrub_text",
    "scrub_url",
    "secret_collection",
    "secret_field",
    "secret_header",
    "secret_param",
    "user_patterns",
]
