"""The official google-genai SDK against real Gemini recordings through the in-process door, with
faults: what a Gemini app sees when its provider misbehaves, in Gemini's own wire format."""

from __future__ import annotations

from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types

from faultkit.session import FaultkitSession

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
STREAM = REAL / "pydantic-ai__test_google_model_stream.yaml"
TOOLS = REAL / "pydantic-ai__test_google_model_structured_output.yaml"
TOOL_STREAM = REAL / "pydantic-ai__test_google_streaming_tool_call_thought_signature.yaml"
MAX_TOKENS = REAL / "pydantic-ai__test_google_model_max_tokens.yaml"
QUESTION = "What is the capital of France?"


def _client(fk: FaultkitSession, retry: types.HttpRetryOptions | None = None) -> genai.Client:
    # google-genai takes the httpx client to send through in HttpOptions (no base URL change:
    # the door answers for generativelanguage.googleapis.com). The recordings were made on the
    # v1beta API; google-genai 3.x calls v1 unless told.
    options = types.HttpOptions(httpx_client=fk.client(), retry_options=retry, api_version="v1beta")
    return genai.Client(api_key="test", http_options=options)


def _stream_text(fk: FaultkitSession, model: str = "gemini-2.0-flash-exp") -> tuple[str, list]:
    chunks = list(_client(fk).models.generate_content_stream(model=model, contents=QUESTION))
    return "".join(c.text or "" for c in chunks), chunks


@pytest.mark.faultkit(cassette=str(STREAM))
def test_stream_replays_the_recorded_answer(faultkit: FaultkitSession) -> None:
    text, chunks = _stream_text(faultkit)
    assert text == "The capital of France is Paris.\n"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    (entry,) = faultkit.ledger
    assert (entry.route, entry.format, entry.model) == ("gemini", "gemini", "gemini-2.0-flash-exp")
    assert entry.ending == "completed"


@pytest.mark.faultkit(cassette=str(TOOLS))
def test_function_call_replays_with_its_args(faultkit: FaultkitSession) -> None:
    response = _client(faultkit).models.generate_content(model="gemini-2.0-flash", contents="t")
    (call,) = response.function_calls
    assert call.name == "temperature" and call.args == {"city": "London", "date": "2022-01-01"}


@pytest.mark.faultkit(cassette=str(STREAM))
def test_429_is_gemini_resource_exhausted_and_not_retried_by_default(
    faultkit: FaultkitSession,
) -> None:
    faultkit.inject({"type": "http_error", "status": 429})
    with pytest.raises(errors.ClientError) as caught:
        _stream_text(faultkit)
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    details = caught.value.details["error"]["details"]
    assert details[0]["@type"] == "type.googleapis.com/google.rpc.RetryInfo"
    (entry,) = faultkit.ledger  # google-genai retries only when HttpRetryOptions say so
    assert entry.status == 429 and entry.error_code == "RESOURCE_EXHAUSTED"


@pytest.mark.faultkit(cassette=str(STREAM), playback="repeat")
def test_configured_retries_are_counted_as_attempts(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "http_error", "status": 503}, when={"calls": "1-2"})
    retry = types.HttpRetryOptions(attempts=4, initial_delay=0.01, max_delay=0.02, jitter=0)
    chunks = list(
        _client(faultkit, retry).models.generate_content_stream(
            model="gemini-2.0-flash-exp", contents=QUESTION
        )
    )
    assert "".join(c.text or "" for c in chunks) == "The capital of France is Paris.\n"
    assert [e.status for e in faultkit.ledger] == [503, 503, 200]
    assert [e.attempt for e in faultkit.ledger] == [1, 2, 3]


@pytest.mark.faultkit(cassette=str(STREAM))
def test_token_limit_cuts_the_stream_and_says_max_tokens(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "token_limit", "keep": 0.5})
    text, chunks = _stream_text(faultkit)
    assert 0 < len(text) < len("The capital of France is Paris.\n")
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert chunks[-1].usage_metadata.candidates_token_count == 4
    (applied,) = faultkit.ledger[0].faults
    assert applied.alterations[0].action == "truncated"


@pytest.mark.faultkit(cassette=str(TOOLS))
def test_token_limit_on_a_function_call_keeps_a_partial_args_object(
    faultkit: FaultkitSession,
) -> None:
    faultkit.inject({"type": "token_limit", "keep": 0.6})
    response = _client(faultkit).models.generate_content(model="gemini-2.0-flash", contents="t")
    (call,) = response.function_calls
    assert call.args == {"city": "London"}  # the member complete before the cut
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


@pytest.mark.faultkit(cassette=str(STREAM))
def test_content_filter_leaves_no_text_and_says_safety(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "refusal", "kind": "content_filter"})
    text, chunks = _stream_text(faultkit)
    assert text == ""
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.SAFETY


@pytest.mark.faultkit(cassette=str(STREAM))
def test_missing_finish_chunk_ends_the_stream_quietly(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "broken_sse", "kind": "missing_terminator"})
    text, chunks = _stream_text(faultkit)
    assert text == "The capital of France"  # the SDK raises nothing: only the reason is gone
    assert all(c.candidates[0].finish_reason is None for c in chunks)


@pytest.mark.faultkit(cassette=str(TOOL_STREAM))
def test_tool_call_fault_changes_the_streamed_function_call(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "tool_call", "kind": "unknown_tool", "tool_name": "get_weather"})
    chunks = list(
        _client(faultkit).models.generate_content_stream(
            model="gemini-3-pro-preview", contents="Where?"
        )
    )
    calls = [c for chunk in chunks for c in chunk.function_calls or []]
    assert [c.name for c in calls] == ["get_weather"]


@pytest.mark.faultkit(cassette=str(MAX_TOKENS))
def test_recorded_max_tokens_answer_replays_as_recorded(faultkit: FaultkitSession) -> None:
    response = _client(faultkit).models.generate_content(model="gemini-2.5-flash", contents="t")
    assert response.text == "The capital of France is"
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


@pytest.mark.faultkit(cassette=str(STREAM))
def test_ledger_keeps_the_usage_the_sdk_reports(faultkit: FaultkitSession) -> None:
    _, chunks = _stream_text(faultkit)
    usage = faultkit.ledger[0].usage
    reported = chunks[-1].usage_metadata
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (
        reported.prompt_token_count,
        reported.candidates_token_count,
    )


@pytest.mark.faultkit(cassette=str(TOOLS))
def test_ledger_keeps_the_function_calls_asked_for(faultkit: FaultkitSession) -> None:
    _client(faultkit).models.generate_content(model="gemini-2.0-flash", contents="t")
    assert faultkit.ledger[0].tool_calls == ["temperature"]
