"""Forms: activities (being written)."""
