"""Routes: documents (being written)."""
