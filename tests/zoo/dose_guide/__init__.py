"""Medication interaction guide (Anthropic Messages, streamed). Planted bug: a lying trace."""
