"""The SMSI's forms, one module per capability."""
