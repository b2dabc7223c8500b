"""Services: portfolio (being written)."""
