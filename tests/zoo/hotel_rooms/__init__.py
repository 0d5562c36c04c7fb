"""Hotel availability (Anthropic Messages, sync). Planted bug: crashes with no fallback."""
