"""Forms of the catalogue."""
