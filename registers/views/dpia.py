"""Routes: dpia (being written)."""
