"""Forms: dpia (being written)."""
