"""Card spending coach (OpenAI Responses). Planted bug: retries a non-retryable error."""
