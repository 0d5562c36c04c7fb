"""Secrets found by what they look like, in any text: error messages, SSE lines, logs.

Key names miss a key that an error message echoes (``"Incorrect API key provided:
sk-..."``), a token inside a sentence (``"use Bearer eyJ..."``), or a non-JSON SSE
``data:`` line. These shapes are redacted wherever text is stored or shown:

- provider keys: ``sk-...`` (OpenAI, ``sk-proj-``, ``sk-ant-...`` Anthropic), Stripe-style
  ``sk_live_...``, Google ``AIza...``, GitHub ``ghp_...``/``github_pat_...``, Slack ``xox?-``;
- ``Bearer <token>`` and ``Basic <base64>`` (the scheme word is kept);
- AWS access key ids (``AKIA...``/``ASIA...``);
- JWT-like tokens (``eyJ<b64>.<b64>.<b64>``);
- URL query values whose name is a secret (``?api_key=...``, ``&token=...``), in any URL
  inside the text, and ``name: value`` / ``name=value`` / ``"name": "value"`` pairs whose
  name is a secret (a JSON answer quoted in an error message, a log line), lists too;
- a long high-entropy token (16+ characters, letters and digits, >= 3 bits per character)
  shortly after a key-like word (``token``, ``secret``, ``password``, ``api key`` ...);
- the user's own patterns (:func:`add_patterns`; ``[scrub] patterns`` in faultkit.toml).

Patterns are ASCII-only and run on ``str``; :func:`scrub_bytes` reads bytes as UTF-8, or as
Latin-1 when they are not (one byte per character, so the bytes around a match are kept).

User patterns are process-wide on purpose: a value the user declared secret is secret in every
cassette, ledger, report and log the process writes, and one registry cannot be forgotten on one
of those paths the way a parameter threaded through each constructor can.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

from faultkit.scrub.names import secret_collection, secret_field, secret_param

REDACTED = "REDACTED"


class ScrubPatternError(ValueError):
    """A user scrub pattern is not a valid regular expression.

    A ``ValueError``, not a ``FaultkitError``: :mod:`faultkit.errors` scrubs the URL in its
    ``UnmatchedRequest`` message with this package, so this package must not import it back.
    faultkit.toml's patterns reach the user as a ``ConfigError`` (:mod:`faultkit.config`)."""


_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"sk-[A-Za-z0-9_\-]{16,}"  # OpenAI sk-..., sk-proj-..., Anthropic sk-ant-api03-...
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe-style
    r"|AIza[A-Za-z0-9_\-]{30,}"  # Google API keys
    r"|(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"  # GitHub
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"  # AWS access key ids
    r"|eyJ[A-Za-z0-9_\-]{9,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"  # JWT-like
    r")",
    re.ASCII,
)
_SCHEME = re.compile(r"(?i)\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9\-._~+/]{12,}=*)", re.ASCII)
_QUERY_PAIR = re.compile(r"([?&;])([A-Za-z0-9_.\-\[\]%]{1,64})=([^&\s\"'#<>,;]+)", re.ASCII)
_KEYWORD = re.compile(
    r"(?i)(?=[ackpst])(?<![A-Za-z])(?:api[\s_-]?keys?|apikeys?|access[\s_-]?keys?|private[\s_-]?keys?|secret(?:s|[\s_-]?keys?)?"
    r"|tokens?|passwords?|passwd|credentials?|authori[sz]ation|auth|session[\s_-]?id|key|signature)"
    r"(?![A-Za-z])"
    r"[\s\"'`:=,()\[\]{}\w-]{0,24}?"
    r"(?<![A-Za-z0-9+/_\-.~])([A-Za-z0-9+/_\-.~]{16,}=*)",
    re.ASCII,
)
# ``"access_token": "..."``, ``password=...``, ``api_keys: ["...", "..."]`` inside free text
# (a JSON answer quoted in an error, an SSE stream kept as a string, a log line).
_NAMED = re.compile(
    r"""(?P<q>["']?)(?<![A-Za-z0-9_.\-])(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63}+)(?P=q)"""
    r"""[ \t]*[:=][ \t]*"""
    # The value is looked at, not consumed: "data: client_secret=..." must still find the
    # second name after the first, which is no secret.
    r"""(?=(?P<value>"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|\[[^\]\n]*\]|[^\s,;&"'<>{}\[\]()]+))""",
    re.ASCII,
)
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"' + r"|'[^'\n]*'")
_MIN_ENTROPY = 3.0
# What every built-in shape needs: an "=" or ":" (a named pair), 12+ key characters in a row,
# or whitespace before 12+ token characters ("Bearer a.b~c/d+e..."). Text with none of them is
# returned at once: the ledger scrubs every URL path on the proxy's per-request path, and
# "/v1/chat/completions" should cost a fraction of a microsecond.
_LONG_RUN = re.compile(r"[A-Za-z0-9_\-]{12,}", re.ASCII)
_SPACED_TOKEN = re.compile(r"\s[\"'(]?[A-Za-z0-9_\-.~+/]{12}", re.ASCII)


def _may_hold_secret(text: str) -> bool:
    return (
        "=" in text
        or ":" in text
        or _LONG_RUN.search(text) is not None
        or (
            (" " in text or "\t" in text or "\n" in text) and _SPACED_TOKEN.search(text) is not None
        )
    )


_user_patterns: tuple[re.Pattern[str], ...] = ()
_user_sources: set[str] = set()
_user_lock = threading.Lock()


def entropy_bits(token: str) -> float:
    """Shannon entropy per character of ``token`` (an English word has ~2.5-3, a random
    base64 token ~4-5)."""
    counts = Counter(token)
    total = len(token)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def high_entropy(token: str) -> bool:
    """A token that looks random: letters and digits mixed, and >= 3 bits per character."""
    core = token.rstrip("=")
    return (
        any(c.isdigit() for c in core)
        and any(c.isalpha() for c in core)
        and entropy_bits(core) >= _MIN_ENTROPY
    )


def add_patterns(patterns: Iterable[str], where: str = "scrub patterns") -> None:
    """Also redact every match of these regular expressions (the user's own secrets: an
    internal token format, a customer id). A pattern with groups has only its first group
    redacted (``password is (\\S+)`` keeps the words). Process-wide and idempotent.
    ``ScrubPatternError`` names ``where`` and the pattern when one does not compile."""
    global _user_patterns
    compiled = []
    for index, source in enumerate(patterns):
        if not isinstance(source, str) or not source:
            raise ScrubPatternError(f"{where}[{index}]: expected a non-empty regex string")
        try:
            pattern = re.compile(source)
        except re.error as exc:
            raise ScrubPatternError(f"{where}[{index}] {source!r}: {exc}") from None
        if pattern.search(""):
            raise ScrubPatternError(f"{where}[{index}] {source!r}: matches the empty string")
        compiled.append(pattern)
    with _user_lock:
        new = [p for p in compiled if p.pattern not in _user_sources]
        _user_sources.update(p.pattern for p in new)
        _user_patterns = (*_user_patterns, *new)
        if new:
            for clear in _CACHE_CLEARS:
                clear()


def user_patterns() -> tuple[str, ...]:
    """The user patterns in force, as given."""
    return tuple(p.pattern for p in _user_patterns)


def _user_sub(match: re.Match[str]) -> str:
    if match.re.groups:
        start, end = match.span(1)
        if start < 0:
            return match.group(0)
        base = match.start(0)
        text = match.group(0)
        return text[: start - base] + REDACTED + text[end - base :]
    return REDACTED


def _scheme_sub(match: re.Match[str]) -> str:
    token = match.group(3)
    if token == REDACTED or (not any(c.isdigit() for c in token) and len(token) < 20):
        return match.group(0)  # "Bearer realm", "token expired": a word, not a credential
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def _pair_sub(match: re.Match[str]) -> str:
    value = match.group(3)
    if value == REDACTED or not secret_param(match.group(2)):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}={REDACTED}"


def _named_value(name: str, value: str) -> str | None:
    """The scrubbed value of a ``name: value`` pair in text, or None to keep it."""
    if value.startswith("["):
        if not secret_collection(name):
            return None
        new = _QUOTED.sub(lambda m: m.group(0)[0] + REDACTED + m.group(0)[0], value)
        return None if new == value else new
    if not secret_field(name) or value.strip("\"'") == REDACTED:
        return None
    quote = value[0] if value[0] in "\"'" else ""
    return f"{quote}{REDACTED}{quote}"


def _scrub_named(text: str) -> str:
    out: list[str] = []
    done = 0
    for match in _NAMED.finditer(text):
        start, end = match.span("value")
        if start < done:
            continue  # inside a value already replaced
        new = _named_value(match.group("name"), match.group("value"))
        if new is not None:
            out += [text[done:start], new]
            done = end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _keyword_sub(match: re.Match[str]) -> str:
    token = match.group(1)
    if not high_entropy(token):
        return match.group(0)
    start = match.start(1) - match.start(0)
    return match.group(0)[:start] + REDACTED


def scrub_text(text: str) -> str:
    """``text`` with every secret-shaped value replaced by ``REDACTED`` (the same object
    when nothing was found)."""
    if not text:
        return text
    if not _may_hold_secret(text):
        out = text
        for pattern in _user_patterns:
            out = pattern.sub(_user_sub, out)
        return text if out == text else out
    out = _PREFIXED.sub(REDACTED, text)
    out = _SCHEME.sub(_scheme_sub, out)
    if "=" in out:
        out = _QUERY_PAIR.sub(_pair_sub, out)
    if "=" in out or ":" in out:
        out = _scrub_named(out)
    out = _KEYWORD.sub(_keyword_sub, out)
    for pattern in _user_patterns:
        out = pattern.sub(_user_sub, out)
    return text if out == text else out


@lru_cache(maxsize=1024)
def _scrub_short(text: str) -> str:
    return scrub_text(text)


# Caches of scrubbed values, emptied when the user adds patterns (they change the answers).
_CACHE_CLEARS: list[Callable[[], None]] = [_scrub_short.cache_clear]


def when_patterns_change(clear: Callable[[], None]) -> None:
    """Call ``clear`` (a cache's ``cache_clear``) whenever :func:`add_patterns` adds one."""
    _CACHE_CLEARS.append(clear)


def scrub_path(path: str) -> str:
    """:func:`scrub_text` for a URL path, remembered for short paths: the ledger and the match
    key scrub the path of every request, and a test or a load run sends a few paths many
    times. Bounded (1024 paths of at most 512 characters); cleared when patterns change."""
    return _scrub_short(path) if len(path) <= 512 else scrub_text(path)


def scrub_bytes(data: bytes) -> bytes:
    """:func:`scrub_text` over bytes: UTF-8 text, or any bytes read as Latin-1."""
    if not data:
        return data
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        encoding = "latin-1"
    out = scrub_text(text)
    return data if out is text else out.encode(encoding)
