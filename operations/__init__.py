"""The top layer: what runs the whole platform and so may depend on every app.

The demo loader (``load_demo``: challenge, tasks, baselines) and the organizers' health panel
(queues and worker heartbeat). Nothing imports this package.
"""
