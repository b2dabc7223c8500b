"""Services: dpia (being written)."""
