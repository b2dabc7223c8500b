"""Forms: exchange (being written)."""
