"""The risks domain's documents and charts, built on the shared blocks of :mod:`reports`."""
