"""Each task's champion and the regression gate that guards it (docs/organizers/champion-gate.md).

Modules:
    entries    what can be a champion (a submission, a reference, a run scored on itself)
    start      where the champion starts (never the trivial baseline while AutoGluon is coming)
    weigh      the gate's inputs from a task, and its figures as the release check's JSON
    jobs       the champion check's job type
    services   the champion, its timeline, the deciding checks, verdicts, pins, the beat
    selectors  the champion document, the board's verdicts, the release check
    disclosure what a reader may see of the gate's figures (docs/organizers/disclosure.md)
    budget     the release check's daily budget
    page       the task page's champion panel
    api        ``tasks/<slug>/champion/`` and ``tasks/<slug>/release-check/``

The statistics are pure, in ``leaderboard.core.gate``; what a flip is, per kind, in
``kinds`` (``TaskKind.gate_flips``, ``flip_units``).
"""
