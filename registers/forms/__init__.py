"""Forms of the RGPD registers, one module per capability."""
