"""The replay source of the proxy: the cassette store, answering with the live JSON-RPC id.

An MCP client numbers its own requests, so a recorded answer carries the id of the recorded
request, not the live one. This wrapper hands the engine the recording with its response
messages re-addressed to the live id (timing and every other byte as recorded). Matching itself
ignores JSON-RPC ids because the proxy's store is built with ``ignore_body_fields=("id",)``
unless the user chooses otherwise.
"""

from __future__ import annotations

import dataclasses

from faultkit.cassettes import CassetteStore, Interaction
from faultkit.exchange import Request
from faultkit.formats.mcp import NOT_JSON, request_id, with_response_id


class ReplaySource:
    """The engine's ``Source``: a :class:`CassetteStore` plus JSON-RPC id echoing."""

    def __init__(self, store: CassetteStore) -> None:
        self.store = store

    def match(self, request: Request) -> Interaction:
        recording = self.store.match(request)
        live = request_id(request.body)
        if live is NOT_JSON:
            return recording
        response = with_response_id(recording.response, request_id(recording.request.body), live)
        if response is recording.response:
            return recording
        return dataclasses.replace(recording, response=response)

    def __len__(self) -> int:
        return len(self.store)
