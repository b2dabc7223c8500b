"""Routes: exchange (being written)."""
