"""Services: breaches (being written)."""
