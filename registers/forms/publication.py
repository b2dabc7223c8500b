"""Forms: publication (being written)."""
