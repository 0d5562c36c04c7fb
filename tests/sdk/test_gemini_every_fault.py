"""Every fault that declares the Gemini format works on it: drawn from the fault's own search
strategy, injected into a real Gemini recording (streamed and not), read by the real
google-genai SDK. Either the SDK hands over an answer, or it raises what it raises for a broken
answer (an API error, a transport error, a decode error); the ledger says what the fault did
(applied with its alterations, or skipped with a reason). A fault added later with Gemini in
its formats is covered here without touching this file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit.faults import FAULTS
from faultkit.faults._search import Limits
from faultkit.formats.detect import WireFormat
from faultkit.session import FaultkitSession

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
STREAM = (REAL / "pydantic-ai__test_google_model_stream.yaml", "gemini-2.0-flash-exp", True)
TOOLS = (REAL / "pydantic-ai__test_google_model_structured_output.yaml", "gemini-2.0-flash", False)
GEMINI_FAULTS = sorted(
    name for name, cls in FAULTS.items() if cls.formats is None or WireFormat.gemini in cls.formats
)
# What google-genai raises for an answer that is broken on purpose: its API errors (an error
# status), httpx's transport errors (a reset, a cut body, a read timeout) and ValueError (a
# body or event that is not JSON; google-genai's UnknownApiResponseError is one too).
BROKEN = (errors.APIError, httpx.HTTPError, ValueError)
LIMITS = Limits(max_delay_ms=150, max_retry_after_s=0.1, max_event=3)


def test_the_gemini_faults_are_the_ones_the_registry_says() -> None:
    assert {"http_error", "token_limit", "refusal", "broken_sse", "tool_call"} <= set(GEMINI_FAULTS)
    assert "partial_tool_data" not in GEMINI_FAULTS  # a tool fault


@pytest.mark.parametrize("name", GEMINI_FAULTS)
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_drawn_fault_on_a_gemini_answer(name: str, data: st.DataObject) -> None:
    fault = data.draw(FAULTS[name].strategy(LIMITS, "gemini"), label="fault")
    path, model, streamed = data.draw(st.sampled_from([STREAM, TOOLS]), label="recording")
    with FaultkitSession(cassettes=[path], playback="repeat", timing_scale=0) as fk:
        fk.inject(fault)
        options = types.HttpOptions(
            httpx_client=fk.client(timeout=httpx.Timeout(2.0)), api_version="v1beta"
        )
        client = genai.Client(api_key="test", http_options=options)
        # A fault that changes what the answer means may make the SDK itself fail in any way:
        # google-genai raises AttributeError for an enum field retyped to a number (found by
        # this test: schema_drift retype on usageMetadata's modality). That is what an app must
        # survive, so any exception counts; the other faults break an answer the SDK's way.
        expected = Exception if FAULTS[name].category == "meaning" else BROKEN
        try:
            if streamed:
                answer = list(client.models.generate_content_stream(model=model, contents="q"))
            else:
                answer = [client.models.generate_content(model=model, contents="q")]
        except expected:
            answer = None
        entry = fk.ledger[0]
    assert entry.format == "gemini" and entry.model == model
    said = [f.type for f in entry.faults] + [s.type for s in entry.skipped]
    assert said == [name], (fault, entry)
    if answer is not None:
        assert all(isinstance(chunk, types.GenerateContentResponse) for chunk in answer)
