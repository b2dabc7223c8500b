"""Routes: publication (being written)."""
