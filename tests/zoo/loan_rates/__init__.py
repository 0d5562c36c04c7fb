"""Mortgage rate desk (OpenAI chat JSON, sync). Planted bug: swallows a tool error."""
