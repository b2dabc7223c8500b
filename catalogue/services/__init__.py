"""Services of the catalogue (applications and subscriptions, and the signals other domains listen
to): the only way in for its views and for other domains."""
