"""Shared helpers for the cassette tests: real recordings, and small exchanges to build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faultkit.exchange import Request, Response, ResponseHead

REPO = Path(__file__).resolve().parents[2]
REAL_DIR = REPO / "tests" / "cassettes-real"
REAL_FILES = sorted(REAL_DIR.glob("*.yaml"))


def req(
    url: str = "https://api.example.com/v1/items",
    method: str = "GET",
    body: Any = b"",
    headers: tuple[tuple[str, str], ...] = (),
) -> Request:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return Request(method=method, url=url, headers=headers, body=body)


def resp(
    body: Any = b"{}",
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),),
    **timing: Any,
) -> Response:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return Response(head=ResponseHead(status=status, headers=headers), body=body, **timing)


def vcr_yaml(*interactions: str) -> str:
    """A vcrpy cassette document from interaction blocks (each starting with '- request:')."""
    return "interactions:\n" + "".join(interactions) + "version: 1\n"


def get_block(uri: str, body: str = "ok", status: int = 200) -> str:
    return (
        "- request:\n"
        "    body: ''\n"
        "    headers: {}\n"
        "    method: GET\n"
        f"    uri: {uri}\n"
        "  response:\n"
        f"    body: {{string: '{body}'}}\n"
        "    headers: {content-type: [text/plain]}\n"
        f"    status: {{code: {status}, message: OK}}\n"
    )
