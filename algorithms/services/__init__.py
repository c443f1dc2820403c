"""Writes of the algorithms app (docs/architecture.md, House style: services).

- :mod:`.upload` - an uploaded archive becomes a new version of the team's algorithm;
- :mod:`.profiles` - the run profiles (team, organizer, baseline): limits, queue, outcome;
- :mod:`.runs` - creating, queueing, cancelling and sweeping runs (the shared job lifecycle);
- :mod:`.execute` - the one pipeline: a run in the sandbox, and what its output becomes
  (:mod:`.outcome`), watched while it runs (:mod:`.watch`);
- :mod:`.builtin` and :mod:`.baseline` - the built-in AutoGluon baseline and its queueing;
- :mod:`.benchmark` - the living benchmark's scheduler (membership, re-runs, reproductions,
  the queue's state), within the budget of :mod:`.budget`; run manifests in :mod:`.manifest`.

Callers import the module that defines what they call; the package re-exports nothing.
"""
