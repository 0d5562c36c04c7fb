"""A test whose cassette is missing fails in one screen: what had no recording, which cassette
was expected, how to record it, and the test's own line; not the SDK's and engine's frames.

Real parts: the official openai SDK over faultkit's client, pytest-recording's ``vcr`` marker
and layout, pytester in this process.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")

APP = """
import openai
import pytest

CHAT = dict(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.vcr
def test_sdk_error(faultkit):
    client = openai.OpenAI(api_key="test", http_client=faultkit.client(), max_retries=2)
    client.chat.completions.create(**CHAT)


@pytest.mark.vcr
def test_wrapped_by_the_app(faultkit):
    client = openai.OpenAI(api_key="test", http_client=faultkit.client(), max_retries=0)
    try:
        client.chat.completions.create(**CHAT)
    except Exception as exc:
        raise RuntimeError("the assistant is unavailable") from exc


def test_other_failures_keep_their_traceback(faultkit):
    assert 1 + 1 == 3
"""


def test_a_missing_cassette_is_one_screen(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(*QUIET, "-p", "no:locust")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    failures = out.split("= FAILURES =")[1].split("faultkit: faults injected")[0]
    sdk, wrapped, other = failures.split("\n_")[1:]
    expected = pytester.path / "cassettes" / "test_app"
    source = (pytester.path / "test_app.py").read_text().splitlines()
    calls = [i for i, text in enumerate(source, 1) if "client.chat.completions.create" in text]
    raises = next(i for i, text in enumerate(source, 1) if "raise RuntimeError" in text)
    for section, test, line, kind in (
        (sdk, "test_sdk_error", calls[0], "faultkit.errors.UnmatchedRequest"),
        (wrapped, "test_wrapped_by_the_app", raises, "RuntimeError"),
    ):
        assert len(section.strip().splitlines()) <= 12, section
        assert "no recording matches POST https://api.openai.com/v1/chat/completions" in section
        assert f"expected {expected / (test + '.yaml')}; record it with" in section
        assert f"raised at test_app.py:{line} in {test}: {kind}" in section
        assert "engine.py" not in section and "httpx" not in section
    assert "assert (1 + 1) == 3" in other
