"""Forms: rights (being written)."""
