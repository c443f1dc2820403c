"""The challenges domain app: challenges, tracks, teams and their members, accounts, rules and
their acceptances, API tokens, the audit log, and the pages and API of all of them.

Its app label stays ``challenge_platform`` (``apps.ChallengePlatformConfig``), the label its
models were made under: table names, migration history and content types are unchanged.
"""
