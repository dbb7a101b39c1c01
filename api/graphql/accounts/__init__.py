"""Accounts: logging in, the caller (`me`), account management and the audit log."""
