"""Services: processor (being written)."""
