"""Weather right now: OpenAI chat, streamed, with a weather tool (planted bug: no tool timeout)."""
