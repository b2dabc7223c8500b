"""Services: publication (being written)."""
