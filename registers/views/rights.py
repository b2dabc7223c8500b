"""Routes: rights (being written)."""
