"""Routes: portfolio (being written)."""
