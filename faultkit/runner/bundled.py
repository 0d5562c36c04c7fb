"""The embedded default: ``faultkit run`` with no arguments.

It runs the bundled scenario catalogue against the two bundled example apps (the order-support
assistant of ``examples/support_assistant``, written robustly and naively) from the bundled
cassettes: no network, no keys.

Its exit code says whether the matrix is the expected one, because the naive app is *meant* to
fail: 0 when every robust cell is controlled (and an outcome its scenario allows) and every
naive cell has exactly the verdict listed in :data:`EXPECTED`; 1 otherwise. That makes the
default run a self-test of faultkit as well as a demonstration.

The apps live beside the package in a checkout, and in ``faultkit/_bundled/examples`` in a
wheel; :func:`ensure_importable` puts the right directory on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from faultkit.catalogue import bundled_dir
from faultkit.runner.errors import RunError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent

APPS: dict[str, str] = {
    "robust": "examples.support_assistant.robust:answer",
    "naive": "examples.support_assistant.naive:answer",
}

# What each bundled app is expected to get, per bundled scenario. "controlled" means any
# controlled outcome the scenario allows; anything else is one exact verdict.
EXPECTED: dict[str, dict[str, str]] = {
    "robust": {},
    "naive": {
        "429-burst": "crash",
        "529-overload": "crash",
        "connection-reset": "crash",
        "html-gateway-error": "crash",
        "malformed-json-output": "crash",
        "mid-stream-stall": "hang",
        "partial-tool-data": "unknown_as_known",
        "provider-slowdown": "untraceable",
        "quota-exhausted": "crash",
        "schema-drift-structured-output": "invalid_output_leaked",
        "tool-call-invalid-arguments": "crash",
        "tool-timeout": "silent_tool_failure",
        "truncated-stream": "crash",
        # the opt-in sets (--scenarios red-team, --scenarios model-behaviour): the naive app
        # keeps to the model's structured answer, so planted tool text never reaches its user
        # (it is judged on its missing trace), but it states a lying tool's true values and
        # crashes on an answer it cannot parse
        "answer-injection": "crash",
        "tool-injection": "untraceable",
        "tool-exfiltration-link": "untraceable",
        "tool-script": "untraceable",
        "lying-tool-numbers": "ungrounded_answer",
        "lying-tool-dates": "ungrounded_answer",
        "token-limit": "crash",
        "refusal": "crash",
        "content-filter": "crash",
        "empty-answer": "crash",
        "tool-loop": "crash",
    },
}
DEFAULT_EXPECTATION = {"robust": "controlled"}


def expected_verdict(app: str, scenario: str) -> str | None:
    """The verdict ``app`` should get on ``scenario`` (None: no expectation declared)."""
    return EXPECTED.get(app, {}).get(scenario, DEFAULT_EXPECTATION.get(app))


def examples_root() -> Path:
    """The directory holding the ``examples`` package (checkout root, or ``_bundled``)."""
    wheel = _PACKAGE_DIR / "_bundled"
    if (wheel / "examples" / "support_assistant").is_dir():
        return wheel
    checkout = _PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "examples").is_dir():
        return checkout
    raise RunError("the bundled example apps are missing from this installation")


def ensure_importable() -> Path:
    """Make ``import examples.support_assistant`` work; returns the app directory."""
    root = examples_root()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        import openai  # noqa: F401
    except ImportError:
        raise RunError(
            "the bundled example apps need the openai SDK: pip install 'faultkit[examples]'"
        ) from None
    return root / "examples" / "support_assistant"


def cases_path() -> Path:
    return ensure_importable() / "cases.yaml"


def scenarios_dir() -> Path:
    """The bundled catalogue only (never ./scenarios: the expected matrix is about it)."""
    found = bundled_dir("scenarios")
    if found is None:
        raise RunError("the bundled scenario catalogue is missing from this installation")
    return found
