"""Flight delay desk (Anthropic Messages). Planted bug: ignores retry-after."""
