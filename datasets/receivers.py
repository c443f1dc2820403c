"""What the datasets app does when another layer reports a change (``challenges.hooks``),
subscribed in :meth:`datasets.apps.DatasetsConfig.ready`."""

from __future__ import annotations

from challenges import hooks


def release_on_phase_start(event: hooks.ChallengePhasesChanged) -> None:
    """A phase started (the beat's phase tick): its own data versions become the tasks'
    current data (``datasets.phase_versions``)."""
    if not event.started:
        return
    from datasets.phase_versions import phase_versions_release

    phase_versions_release(phase_id=event.started)
