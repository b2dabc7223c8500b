"""Routes: breaches (being written)."""
