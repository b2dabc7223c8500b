"""The SMSI's documents (PDF and XLSX), built on the shared blocks of :mod:`reports`."""
