"""Recipe finder (OpenAI chat, answer streamed). Planted bug: accepts a cut stream."""
