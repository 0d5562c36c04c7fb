"""Secrets in every place a provider or tool exchange can carry them, and a search for them in
everything faultkit wrote.

``kits()`` draws one set of secrets per example: provider keys (``sk-``, ``sk-ant-``), an AWS
key id, a JWT, a bearer token, a high-entropy token after a key word, a user-pattern secret,
and free strings under secret key names (plural and nested too). ``exchange(kit)`` places
them in a request (query, headers, JSON body) and a response (JSON, SSE with non-JSON lines,
error text, headers), and ``Upstream`` is a real loopback server that answers with that
response, compressed as the example says (gzip, deflate, br).

``leaks(paths, secrets)`` reads every file as bytes and looks for each secret plain, in
standard and URL-safe base64 (at each of the three alignments), and inside every
``!!binary`` or compressed blob it can decode; it returns what it found, where.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from hypothesis import strategies as st

from faultkit.scrub import add_patterns, high_entropy

try:
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None

ENCODINGS = ("identity", "gzip", "deflate", *(("br",) if brotli is not None else ()))
USER_PATTERN = r"acme-[0-9a-f]{24}"
add_patterns([USER_PATTERN], where="secret_world")  # the API hook; the proxy reads faultkit.toml

_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _chars(alphabet: str, low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=low, max_size=high)


# A free secret under a secret name: any printable text of 20+ characters (scrubbed by name).
_free = _chars(_ALNUM + " .:/+=@!", 20, 40).filter(lambda s: s.strip() == s and "  " not in s)
_openai = st.builds(
    lambda kind, body: f"sk-{kind}{body}",
    st.sampled_from(["", "proj-", "svcacct-"]),
    _chars(_URLSAFE, 24, 48),
)
_anthropic = _chars(_URLSAFE, 24, 48).map(lambda body: f"sk-ant-api03-{body}")
_aws = _chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16).map(lambda s: "AKIA" + s)
_jwt = st.tuples(_chars(_URLSAFE, 12, 30), _chars(_URLSAFE, 12, 40), _chars(_URLSAFE, 16, 43))
_jwt_text = _jwt.map(lambda parts: "eyJ" + ".".join(parts))
_bearer = _chars(_URLSAFE + ".~", 20, 48).filter(lambda s: s[0] not in ".~")
# The contract for tokens found by shape next to a key word is "high entropy": drawn here as
# random letters and digits, and kept only when they meet the documented threshold.
_entropic = _chars(_ALNUM, 20, 40).filter(high_entropy)
_user = _chars("0123456789abcdef", 24, 24).map(lambda s: "acme-" + s)
# Names that hold secrets, in the spellings real APIs use: singular for one value, plural or
# a container for many (the plural must not also be a numeric counter's name).
_SINGULAR = [
    "api_key",
    "apiKey",
    "password",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "secret",
    "x-api-key",
    "privateKey",
    "session_token",
]
_PLURAL = [
    "api_keys",
    "apiKeys",
    "refresh_tokens",
    "access_tokens",
    "client_secrets",
    "passwords",
    "secrets",
    "credentials",
    "private_keys",
]
_QUERY = ["api_key", "key", "token", "access_token", "apikey", "sig", "signature", "auth"]


@dataclass
class Kit:
    openai: str
    anthropic: str
    aws: str
    jwt: str
    bearer: str
    entropic: str
    user: str
    free: list[str]
    names: tuple[str, str, str, str, str]  # singular, singular, plural, plural, query

    @property
    def secrets(self) -> list[str]:
        return [
            self.openai,
            self.anthropic,
            self.aws,
            self.jwt,
            self.bearer,
            self.entropic,
            self.user,
            *self.free,
        ]


def kits() -> st.SearchStrategy[Kit]:
    return st.builds(
        Kit,
        openai=_openai,
        anthropic=_anthropic,
        aws=_aws,
        jwt=_jwt_text,
        bearer=_bearer,
        entropic=_entropic,
        user=_user,
        free=st.lists(_free, min_size=8, max_size=8, unique=True),
        names=st.tuples(
            st.sampled_from(_SINGULAR),
            st.sampled_from(_SINGULAR),
            st.sampled_from(_PLURAL),
            st.sampled_from(_PLURAL),
            st.sampled_from(_QUERY),
        ),
    )


@dataclass
class Exchange:
    """What the client sends and what the upstream answers, secrets in every place."""

    path: str
    headers: dict[str, str]
    body: dict
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes  # before content-encoding
    sse: bool


def exchange(kit: Kit, *, sse: bool, status: int = 200) -> Exchange:
    f = kit.free
    one, other, many, more, query = kit.names
    path = f"/v1/items?page=2&{query}={kit.entropic}&token={kit.jwt}&q={kit.aws}"
    headers = {
        "authorization": f"Bearer {kit.bearer}",
        "x-api-key": kit.anthropic,
        "cookie": f"session={kit.bearer}",
        "x-trace-note": f"caller key {kit.openai}",
        "content-type": "application/json",
    }
    body = {
        "model": "local-model",
        one: f[0],
        "password": f[1],
        many: [f[2], kit.openai],
        "auth": {"credentials": {"client_id": f[3], "note": "ok"}},
        "messages": [{"role": "user", "content": f"my key is {kit.anthropic}, ref {kit.user}"}],
        "max_tokens": 100,
    }
    answer = {
        "id": "item-1",
        other: f[4],
        "access_token": f[4],
        "refresh_tokens": [f[5], f[6]],
        "data": {"nested": {more: [{"value": f[7]}]}},
        "error": {"message": f"Incorrect API key provided: {kit.openai}. See docs."},
        "note": f"retry with Bearer {kit.bearer}",
        "text": f"session token: {kit.entropic}",
        "aws": f"key id {kit.aws}",
        "jwt": kit.jwt,
        "ref": kit.user,
        "usage": {"prompt_tokens": 5, "total_tokens": 9},
    }
    if sse:
        events = [
            b"data: " + json.dumps({"delta": "Hello", "key": kit.openai}).encode() + b"\n\n",
            f"data: plain text echoing {kit.anthropic}\n\n".encode(),
            f"data: Bearer {kit.bearer} then token {kit.entropic}\n\n".encode(),
            f": comment {kit.jwt} {kit.user}\n\n".encode(),
            b"data: " + json.dumps(answer).encode() + b"\n\n",
            b"data: [DONE]\n\n",
        ]
        response_body = b"".join(events)
        ctype = "text/event-stream"
    else:
        response_body = json.dumps(answer).encode()
        ctype = "application/json"
    response_headers = [
        ("content-type", ctype),
        ("set-cookie", f"sid={kit.entropic}; HttpOnly"),
        ("x-echo", f"token={kit.aws}&k={kit.jwt}"),
        ("x-ratelimit-remaining-tokens", "149984"),
    ]
    return Exchange(path, headers, body, status, response_headers, response_body, sse)


def encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "br":
        assert brotli is not None
        return brotli.compress(body)
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.server.seen.append((self.command, self.path, self.rfile.read(length)))
        status, headers, body = self.server.reply
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


class Upstream(ThreadingHTTPServer):
    """A loopback server answering every request with ``reply`` (status, headers, body), the
    body already content-encoded: it ignores ``accept-encoding`` as some real servers do."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply: tuple[int, list[tuple[str, str]], bytes] = (200, [], b"")
        self.seen: list[tuple[str, str, bytes]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer_with(self, ex: Exchange, encoding: str) -> None:
        headers = list(ex.response_headers)
        if encoding != "identity":
            headers.append(("content-encoding", encoding))
        self.reply = (ex.status, headers, encode(ex.response_body, encoding))

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


# -- finding secrets ---------------------------------------------------------------------------


def _b64_forms(secret: bytes) -> list[bytes]:
    """The part of base64(x + secret + y) that does not depend on x or y, per alignment."""
    forms = []
    for shift in range(3):
        chunk = secret[shift:]
        whole = len(chunk) // 3 * 3
        if whole >= 9:
            core = base64.b64encode(chunk[:whole])
            forms += [core, base64.urlsafe_b64encode(chunk[:whole])]
    return forms


def _decoded_blobs(data: bytes) -> list[bytes]:
    """Every ``!!binary`` value of a YAML file, and each one decompressed when it can be."""
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError:
        return []
    blobs: list[bytes] = []

    def walk(value: object) -> None:
        if isinstance(value, bytes):
            blobs.append(value)
            for decode in (gzip.decompress, zlib.decompress, *_more_decoders()):
                with contextlib.suppress(Exception):  # not that encoding
                    blobs.append(decode(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(doc)
    return blobs


def _more_decoders() -> list:
    out = [lambda b: zlib.decompress(b, -zlib.MAX_WBITS)]
    if brotli is not None:
        out.append(brotli.decompress)
    return out


def leaks_in(name: str, data: bytes, secrets: Iterable[str]) -> list[str]:
    """Where any of ``secrets`` appears in ``data``: plain, base64, or in a decoded blob."""
    found = []
    views = [data, *(_decoded_blobs(data) if name.endswith((".yaml", ".yml")) else [])]
    for secret in secrets:
        raw = secret.encode()
        forms = [raw, *_b64_forms(raw)]
        for view in views:
            if any(form in view for form in forms):
                found.append(f"{name}: {secret!r}")
                break
    return found


def leaks(paths: Iterable[Path], secrets: Iterable[str]) -> list[str]:
    secrets = list(secrets)
    found: list[str] = []
    for path in paths:
        if path.is_file():
            found += leaks_in(str(path), path.read_bytes(), secrets)
    return found


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())
