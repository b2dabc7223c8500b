"""Services: rights (being written)."""
