"""The replay source of the proxy: the cassette store, answering with the live JSON-RPC id.

An MCP client numbers its own requests, so a recorded answer carries the id of the recorded
request, not the live one. This wrapper hands the engine the recording with its response
messages re-addressed to the live id (timing and every other byte as recorded). Matching itself
ignores JSON-RPC ids because the proxy's store is built with ``ignore_body_fields=("id",)``
unless the user chooses otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from faultkit.cassettes import CassetteStore, Interaction
from faultkit.exchange import Request
from faultkit.formats.mcp import NOT_JSON, request_id, with_response_id


class ReplaySource:
    """The engine's ``Source``: a :class:`CassetteStore` plus JSON-RPC id echoing."""

    def __init__(self, store: CassetteStore) -> None:
        self.store = store

    def match(self, request: Request) -> Interaction:
        return self._echo(request, self.store.match(request))

    def match_ignoring(self, request: Request, fields: Iterable[str]) -> Interaction | None:
        """:meth:`CassetteStore.match_ignoring`, answering with the live id as :meth:`match`
        does: the engine's fallback for a request that carries what a fault changed."""
        recording = self.store.match_ignoring(request, fields)
        return None if recording is None else self._echo(request, recording)

    def _echo(self, request: Request, recording: Interaction) -> Interaction:
        live = request_id(request.body)
        if live is NOT_JSON:
            return recording
        response = with_response_id(recording.response, request_id(recording.request.body), live)
        if response is recording.response:
            return recording
        return dataclasses.replace(recording, response=response)

    def __len__(self) -> int:
        return len(self.store)
