"""The SMSI's services: the only way in for its views, its documents, and other domains."""
