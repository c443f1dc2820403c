"""Writes of the scoring app, by sub-domain (docs/architecture.md, House style:
services).

- :mod:`.upload` - a participant's upload or a job's predictions become a queued submission;
- :mod:`.lifecycle` - scoring one submission on the shared job lifecycle;
- :mod:`.sweep` - the sweeper and rescoring;
- :mod:`.finals` - final selection and visibility.

Callers import the module that defines what they call; the package re-exports nothing.
"""
