"""A publish to a broker that stopped answering gives up instead of hanging the web worker.

``scripts/multihost.sh`` cuts Redis's link for 20 s: the connection stays open but nothing
comes back. Without a socket timeout each upload's publish waited on it (the whole cut and
TCP's retransmission back-off after it), holding every web worker; kombu's documentation
says so too. With ``REDIS_SOCKET_TIMEOUT`` the publish fails, ``lifecycle.publish`` logs it and
the sweeper re-queues the submission.
"""

from __future__ import annotations

import socket
import threading

from celery import Celery
from django.conf import settings

from jobs import lifecycle


def test_a_publish_to_a_broker_that_never_answers_gives_up():
    server = socket.socket()  # accepts connections, never answers: Redis behind a cut link
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    app = Celery("silent-broker", broker=f"redis://127.0.0.1:{server.getsockname()[1]}/0")
    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    outcome: dict[str, str] = {}

    def publish() -> None:
        try:
            app.send_task(
                "scoring.tasks.score_submission",
                kwargs={"submission_pk": 1},
                queue="scoring",
                retry_policy=lifecycle.RETRY_POLICY,
            )
            outcome["result"] = "sent"
        except Exception as exc:  # what lifecycle.publish catches and logs
            outcome["result"] = type(exc).__name__

    try:
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        publisher.join(timeout=300)  # a hang, not a speed: the timeout is 5 s per try
        assert not publisher.is_alive(), "the publish still waits on a broker that never answers"
        assert outcome["result"] != "sent"
    finally:
        server.close()
        for conn in held:
            conn.close()


def test_a_worker_s_waiting_connection_gives_up_on_a_link_that_stays_cut(redis_server):
    """A worker's consumer always has a command in flight (BRPOP), which ``socket_timeout``
    does not bound: after a cut link TCP retransmits it ever more rarely, and the worker took
    no job for up to 8 s after the link came back (``scripts/multihost.sh``, broker cut). The
    sockets the consumer opens close when their bytes stay unacknowledged for
    ``REDIS_SOCKET_TIMEOUT`` (Linux's TCP_USER_TIMEOUT), so it reconnects instead; keepalive
    finds a peer gone while nothing is sent. Read back from the socket kombu opens."""
    app = Celery("consumer-sockets", broker=redis_server.url)
    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    with app.connection_for_read() as connection:
        client = connection.default_channel._create_client(asynchronous=True)
        link = client.connection_pool.get_connection()
        try:
            link.connect()
            sock = link._sock
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            user_timeout = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
            assert user_timeout == int(settings.REDIS_SOCKET_TIMEOUT * 1000)
        finally:
            client.connection_pool.release(link)
            client.connection_pool.disconnect()
