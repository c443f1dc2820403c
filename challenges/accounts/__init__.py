"""Accounts: local sign-up with e-mail verification and OpenID Connect sign-in (allauth)."""
