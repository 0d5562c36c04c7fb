"""Parcel tracker (Anthropic Messages, streamed). Planted bug: accepts drifted output."""
