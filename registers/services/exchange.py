"""Services: exchange (being written)."""
