"""Forms: breaches (being written)."""
