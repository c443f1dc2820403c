"""Celery, its Redis broker and the job lifecycle: queues, priorities, time limits, lost
messages, worker liveness and the retries of mails and webhooks (jobs/)."""

from __future__ import annotations

import socket

from runtime.localredis import embedded_redis_url

from .environment import DATA_DIR, env, env_int
from .runs import ALGORITHM_HARD_TIME_LIMIT, BASELINE_HARD_TIME_LIMIT

# Unset: the Redis the run command (`make run`) starts for this DATA_DIR, with its password
# (runtime.localredis.embedded_redis_url): every process of the install, a
# manage.py command in another shell included, finds the same broker and cache.
REDIS_URL = env("REDIS_URL") or embedded_redis_url(DATA_DIR)
# Seconds a command to Redis (cache or broker) may wait for an answer. Redis that vanishes
# without closing the connection (a cut link, a failover) would otherwise hold a web worker
# until TCP gives up, many minutes; the cache and the publish then fail and are tolerated.
REDIS_SOCKET_TIMEOUT = float(env("REDIS_SOCKET_TIMEOUT", "5"))
# Celery (docs/architecture.md, House style: JSON only, explicit queues, visibility
# timeout above the longest hard limit).
CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport without putting a worker's unacknowledged messages back when its
# channel closes: that close crashed the worker after every broker restart, and the
# lifecycle takes back what such messages stood for (jobs/broker_transport.py).
if str(REDIS_URL).startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "jobs.broker_transport:Transport"
# A worker reconnects to a broker that came back within 1-2 s, not after kombu's growing
# waits of up to 30 s (jobs/consumer.py).
CELERY_WORKER_CONSUMER = "jobs.consumer:Consumer"
# A worker that lost the broker lets its running jobs finish (Celery's default, written down:
# it warns while the default is not set): a job's row is the truth, and its message only a
# doorbell (jobs/broker_transport.py).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "scoring"
# The broker's queues, each a kombu Queue of this name (Celery's ``task_queues``): made with
# the Celery app (jobs.celery), so a process that publishes nothing never imports kombu.
TASK_QUEUE_NAMES = ("scoring", "baselines", "algorithms", "notifications", "board_renders")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# With late acknowledgement a worker reserves only the messages its free processes can start
# (concurrency x 1): nothing waits in a worker's memory, so a message published ahead of the
# queue (below) is the next one any free process takes.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Message priorities: on Redis, kombu keeps one list per priority step of each queue and a
# worker pops the lowest step of all its queues first. Every task goes at this priority; a
# job taken back from a dead worker or re-queued as stale goes at 0, ahead of the backlog
# (jobs.lifecycle.publish). A message without a priority counts as 0.
CELERY_TASK_DEFAULT_PRIORITY = 3
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker child whose resident memory passed this after a task is replaced by a fresh
# one, so one large submission's peak goes back to the OS (Celery counts KiB; 0: never).
WORKER_MAX_MEMORY_PER_CHILD_MB = env_int("WORKER_MAX_MEMORY_PER_CHILD_MB", 1024)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = WORKER_MAX_MEMORY_PER_CHILD_MB * 1024 or None
SCORING_SOFT_TIME_LIMIT = env_int("SCORING_SOFT_TIME_LIMIT", 300)
SCORING_HARD_TIME_LIMIT = SCORING_SOFT_TIME_LIMIT + 30
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(BASELINE_HARD_TIME_LIMIT, ALGORITHM_HARD_TIME_LIMIT) + 600,
    # Without these a publish waits forever on a broker that vanished without closing the
    # connection (kombu's docs); the publish then fails, is logged, and the sweeper re-queues.
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    # A worker's consumer waits on the broker with a command always in flight (BRPOP), which
    # socket_timeout does not bound: after a cut link, TCP retransmits that command ever more
    # rarely (0.2 s doubling), and the worker took no job until the next one got through,
    # up to 8 s after the link was back. A connection whose sent bytes stay unacknowledged
    # this long is closed instead, and the consumer reconnects (Linux's TCP_USER_TIMEOUT;
    # keepalive finds a peer gone while nothing is sent).
    "socket_keepalive": True,
    "socket_keepalive_options": {
        socket.TCP_USER_TIMEOUT: int(REDIS_SOCKET_TIMEOUT * 1000),
        socket.TCP_KEEPIDLE: max(int(REDIS_SOCKET_TIMEOUT), 1),
        socket.TCP_KEEPINTVL: 1,
        socket.TCP_KEEPCNT: 3,
    },
    # kombu's default, written down: the lists of CELERY_TASK_DEFAULT_PRIORITY and of 0.
    "priority_steps": [0, 3, 6, 9],
}
# Lost messages (jobs.republish): a job queued in the database with no message on the broker
# (the broker restarted empty, a process that could not reach it) is published again within
# this many seconds; the beat looks every half of it.
JOB_REPUBLISH_SECONDS = float(env("JOB_REPUBLISH_SECONDS", "60"))
# A task that finds the database unreachable (a restart, a cut link) waits in its worker for
# it this long before Celery's retry (jobs.celery: a worker that cannot reach the database
# takes no more messages meanwhile, and what it holds ends as soon as it answers again).
JOB_DATABASE_WAIT_SECONDS = float(env("JOB_DATABASE_WAIT_SECONDS", "60"))
# A queued job published again this many times with no worker starting it (each worker that
# took its message found nothing it may run) is failed with that reason, never left looping
# (jobs.republish): a few minutes at the default bound.
JOB_REPUBLISH_LIMIT = env_int("JOB_REPUBLISH_LIMIT", 10)
# Worker liveness (jobs/liveness.py): each worker beats this often, and one
# silent for WORKER_LOST_AFTER_SECONDS is taken for dead: the jobs it held are re-queued at
# once. A lost worker's job is scored again within 10 s (seen dead after 5-6 s); the largest
# gap between two beats measured on a loaded 2-core host is about a beat and a tenth, so 5 s
# is four missed beats (docs/decisions/0007-worker-liveness.md,
# docs/decisions/0058-nothing-lost-when-faults-overlap.md).
WORKER_BEAT_SECONDS = float(env("WORKER_BEAT_SECONDS", "1"))
WORKER_LOST_AFTER_SECONDS = float(env("WORKER_LOST_AFTER_SECONDS", "5"))
# The last resort (Redis down, no worker to judge): a submission still queued/scoring this
# long after its last state change is re-queued.
SWEEPER_STALE_AFTER_SECONDS = env_int("SWEEPER_STALE_AFTER_SECONDS", SCORING_HARD_TIME_LIMIT + 60)
SCORING_MAX_ATTEMPTS = env_int("SCORING_MAX_ATTEMPTS", 3)
# Notification mails (notifications.mail): tries of one mail before it fails (SMTP errors).
MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 5)
# Outgoing webhooks (notifications.webhooks): exponential backoff base * 2**(try - 1).
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_RETRY_BASE_SECONDS = float(env("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_MAX_SECONDS = float(env("WEBHOOK_RETRY_MAX_SECONDS", "3600"))
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "5"))  # one whole try
# Refuse webhook hosts resolving to any non-public address (on in production).
WEBHOOK_BLOCK_PRIVATE_NETWORKS = env("WEBHOOK_BLOCK_PRIVATE_NETWORKS", "0") == "1"
# Trusted roots for https receivers (a PEM file); empty: certifi's, as requests uses.
WEBHOOK_CA_BUNDLE = env("WEBHOOK_CA_BUNDLE", "")
