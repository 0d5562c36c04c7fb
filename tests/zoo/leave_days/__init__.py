"""HR leave assistant (OpenAI Responses). Planted bug: a default stated for an unknown."""
