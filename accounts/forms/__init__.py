"""Forms of the accounts: organisations, user accounts and roles, login and the own account."""
