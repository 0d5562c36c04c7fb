"""Log records scrubbed before any handler sees them.

The proxy logs request targets (``error answering GET /v1/x?api_key=...``) and upstream
failures, whose text may quote a key. A filter on faultkit's own loggers rewrites each record's
message through :func:`~faultkit.scrub.text.scrub_text`, so every handler (the proxy's stderr,
pytest's caplog, a user's file handler) gets the scrubbed line, and no call site has to
remember to scrub.
"""

from __future__ import annotations

import logging

from faultkit.scrub.text import scrub_text


class ScrubFilter(logging.Filter):
    """Replaces a record's message with its scrubbed text (formatted once, args dropped)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_text(message)
        if scrubbed is not message or record.args:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = ScrubFilter()

# Every logger faultkit logs to. A filter on a logger does not apply to its children, so each
# is named; a test keeps this list in step with the code.
FAULTKIT_LOGGERS = (
    "faultkit.proxy",
    "faultkit.load",
    "faultkit.doors.toxiproxy.api",
    "faultkit.doors.toxiproxy.link",
)


def scrubbed_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the scrub filter attached (once)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def scrub_faultkit_logs() -> None:
    """Attach the scrub filter to every logger in :data:`FAULTKIT_LOGGERS` (idempotent)."""
    for name in FAULTKIT_LOGGERS:
        scrubbed_logger(name)
