"""The local runtime: what runs the platform's processes on one machine (docs/architecture.md).

The embedded Redis (:mod:`.localredis`), the private data folder and its secrets
(:mod:`.datadir`), the Procfile's processes (:mod:`.procfile`), restarting a crashed one
(:mod:`.respawn`), CPU priorities (:mod:`.cpu_priority`), a worker's command line
(:mod:`.worker_command`), where mail goes (:mod:`.mail`) and the ``runplatform`` command
that starts them all. No models; an installed app for its command.
"""
