"""The pytest door: a user's test marks a cassette and calls ``faultkit.check`` on an app
that is traced with the real openai-v2 instrumentation and returns no DecisionTrace; the
fixture's run collects the spans and the verdict is judged on them. Run in a pytest
subprocess (pytester), since the app sets the process's global tracer provider."""

from __future__ import annotations

import pytest
from conftest import CASSETTE

pytest_plugins = ["pytester"]

USER_TEST = f"""
import openai
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from faultkit.oracle import Contract

trace.set_tracer_provider(TracerProvider())
OpenAIInstrumentor().instrument()
TRACED = Contract(trace_required=True)


def answer(http_client=None):
    client = openai.OpenAI(api_key="test", http_client=http_client, max_retries=2)
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{{"role": "user", "content": "Where is order 1234?"}}]
    )
    return {{"tool": reply.choices[0].message.tool_calls[0].function.name}}


@pytest.mark.faultkit(cassette={str(CASSETTE)!r}, match_on=["method", "uri"], playback="repeat")
def test_retried_and_traceable(faultkit):
    faultkit.inject({{"type": "http_error", "status": 503}}, when={{"nth": 1}})
    verdict = faultkit.check(answer, contract=TRACED)
    assert verdict.kind == "retried"


@pytest.mark.faultkit(cassette={str(CASSETTE)!r}, match_on=["method", "uri"], playback="repeat")
def test_untraceable_when_the_id_is_dropped(faultkit):
    faultkit.inject({{"type": "schema_drift", "target": "body", "op": "drop", "path": "id"}})
    faultkit.check(answer, contract=TRACED)
"""


def test_faultkit_check_in_pytest_judges_the_spans(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:locust", "-p", "no:hypothesispytest"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*verdict untraceable*", "*span 'chat gpt-4o-mini' (#1) lacks gen_ai.response.id*"]
    )
