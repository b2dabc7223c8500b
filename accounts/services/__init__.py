"""Services of the accounts: organisations, user accounts and roles, authentication and sessions,
passwords and their policy, API tokens, the weekly digest. The only way in for the views and for
other domains."""
