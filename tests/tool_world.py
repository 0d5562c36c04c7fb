"""A JSON tool for runner and report tests: one recorded item, the two scenarios run against it
(a calm one, and one where the tool answers 503), and an app that trusts the tool.

Shared by ``tests/runner`` and ``tests/report`` (``tests/conftest.py`` puts this folder on
``sys.path``), so every run over the tool replays the same recording.
"""

from __future__ import annotations

from pathlib import Path

import httpx

TOOL_CASSETTE = """
interactions:
- request:
    body: null
    headers: {accept: ['*/*']}
    method: GET
    uri: http://tools.internal/items/7
  response:
    body: {string: '{"name":"lamp","price":19.5}'}
    headers: {content-type: [application/json], content-length: ['28']}
    status: {code: 200, message: OK}
version: 1
"""

SCENARIOS = {
    "calm.yaml": "name: calm\nrules:\n  - match: {route: 'tools*'}\n"
    "    fault: {type: latency, latency_ms: 5}\n",
    "tool-down.yaml": "name: tool-down\nseed: 5\nrules:\n  - match: {route: 'tools*'}\n"
    "    fault: {type: http_error, status: 503}\n",
}


def write_tool_cassette(directory: Path) -> Path:
    """The tool's recording as ``directory/tools.yaml``."""
    path = directory / "tools.yaml"
    path.write_text(TOOL_CASSETTE)
    return path


def write_scenarios(directory: Path) -> Path:
    """The calm and tool-down scenarios as files in ``directory/scenarios``."""
    scenarios = directory / "scenarios"
    scenarios.mkdir()
    for name, text in SCENARIOS.items():
        (scenarios / name).write_text(text)
    return scenarios


def careless_app(item_id: str, *, http_client_factory=httpx.Client) -> dict:
    """Reads the item and returns it, whatever the tool answered: a 503's error body crashes
    it on a missing key, which is not a declared error."""
    with http_client_factory() as client:
        data = client.get(f"http://tools.internal/items/{item_id}").json()
    return {"item": data["name"], "price": data["price"]}
