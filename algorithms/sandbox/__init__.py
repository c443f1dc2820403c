"""Run an algorithm on a task, contained: one interface, swappable backends
(docs/architecture.md, House style: Jobs).

No Django here, so the bench and the tests drive it directly. The only backend so far is
:class:`~algorithms.sandbox.bubblewrap.BubblewrapBackend`; a container backend implements
the same :class:`SandboxBackend` and the callers do not change.

The interface is in :mod:`.base`, the backend in :mod:`.bubblewrap` (with
:func:`~.bubblewrap.default_backend`); the package re-exports nothing.
"""
