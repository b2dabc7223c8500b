"""Routes: processor (being written)."""
