"""Clinic booking assistant (OpenAI chat SSE). Planted bug: repairs invalid JSON."""
