"""The challenges domain app: challenges, tracks, teams and their members, accounts, rules and
their acceptances, API tokens, the audit log, and the pages and API of all of them.

Its app label is ``challenges`` (``apps.ChallengesConfig``); a database made when the label was
``challenge_platform`` is renamed by this app's ``migrate`` command (``relabel.py``).
"""
