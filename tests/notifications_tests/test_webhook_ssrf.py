"""Webhooks against hostile receivers and resolvers (issue 25): non-public addresses, DNS
rebinding, https pinned to the checked address, redirects, slow and dripping receivers,
replayed signatures. Every receiver is a real server on loopback; deliveries run in this
process (``webhook_deliver``, the task's body) so the resolver can be replaced.

Why the resolver is patched: the system resolver (glibc, /etc/hosts, /etc/resolv.conf) is
shared with every process on this machine, and no test may point it at a DNS server of its
own. The patch replaces ``socket.getaddrinfo`` (what the delivery calls) for the test's own
host names only, answering differently on each call where a test needs it.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
import trustme

from notifications import outbound
from notifications.core import address_allowed, sign_body, signature_valid
from notifications.models import DeliveryStatus, Webhook, WebhookDelivery
from notifications.webhooks import webhook_deliver
from testkit.webhook_receiver import authentic
from tests.challenges_tests.factories import ChallengeFactory

pytestmark = pytest.mark.django_db

NOTIFY_PAGE = Path(__file__).resolve().parents[2] / "docs/organizers/notify-people.md"
REAL_GETADDRINFO = socket.getaddrinfo


class Resolver:
    """Answers the test's host names from a script (one list of addresses per call, the
    last repeated); every other name goes to the real resolver."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.answers:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        self.calls.append(host)
        script = self.answers[host]
        addresses = script[min(len(self.calls_for(host)) - 1, len(script) - 1)]
        out = []
        for address in addresses:
            if ":" in address:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return out

    def calls_for(self, host: str) -> list[str]:
        return [c for c in self.calls if c == host]


@pytest.fixture
def resolver(monkeypatch):
    def install(answers: dict[str, list[list[str]]]) -> Resolver:
        fake = Resolver(answers)
        monkeypatch.setattr(socket, "getaddrinfo", fake)
        return fake

    return install


@pytest.fixture
def connections(monkeypatch):
    """Every address a delivery opened a TCP connection to (urllib3's connect)."""
    import urllib3.util.connection as u3

    opened: list[str] = []
    real = u3.create_connection

    def spy(address, *args, **kwargs):
        opened.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(u3, "create_connection", spy)
    return opened


def delivery_to(url: str, *, secret: str = "s3cret-value", key: str = "k") -> WebhookDelivery:
    hook = Webhook.objects.create(challenge=ChallengeFactory(), url=url, secret=secret)
    return WebhookDelivery.objects.create(
        webhook=hook, event="reveal", event_key=key, body='{"event":"reveal","data":{}}'
    )


def fresh(delivery: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.objects.get(pk=delivery.pk)


# --- which addresses -------------------------------------------------------------------------

REFUSED = [
    "100.64.0.1",  # shared address space (carrier-grade NAT): is_private is False here
    "100.127.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",  # cloud metadata
    "0.0.0.0",
    "224.0.0.1",  # multicast: is_global is True for it in Python 3.11
    "198.18.0.1",
    "192.0.2.1",
    "::1",
    "::",
    "fd00::1",  # unique local
    "fc00::1",
    "fe80::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:100.64.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "::7f00:1",  # IPv4-compatible (reserved)
    "not an address",
]
ALLOWED = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address):
    assert address_allowed(address) is False


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert address_allowed(address) is True


@pytest.mark.parametrize(
    "answer", [["100.64.0.1"], ["fd12:3456::1"], ["::ffff:127.0.0.1"], ["8.8.8.8", "10.0.0.1"]]
)
def test_a_host_resolving_to_any_non_public_address_is_refused_before_connecting(
    settings, resolver, connections, answer
):
    settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS = True
    resolver({"hooks.example.test": [answer]})
    d = delivery_to("http://hooks.example.test/hook")
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.FAILED  # a rule: no retry
    d = fresh(d)
    assert d.last_error.startswith("refused: hooks.example.test resolves to")
    assert "not a public address" in d.last_error and d.attempts == 1
    assert connections == []


def test_the_console_refuses_a_literal_non_public_address_when_blocking(settings):
    from notifications.forms import WebhookAdminForm

    settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS = True
    challenge = ChallengeFactory()
    for url in ("http://100.64.0.1/x", "http://[fd00::1]/x", "http://[::ffff:10.0.0.1]/x"):
        form = WebhookAdminForm(data={"challenge": challenge.pk, "url": url, "secret": "s"})
        assert not form.is_valid() and "not a public address" in str(form.errors["url"])


# --- DNS rebinding: resolved once, connected to the checked address --------------------------


def test_a_rebinding_name_reaches_only_the_address_that_was_resolved_once(
    settings, resolver, connections, webhook_receiver
):
    """The name answers 127.0.0.1 to the first lookup and 127.0.0.2 to any later one (a
    rebinding attacker). The request goes to the first answer, with one lookup per try."""
    settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS = False  # loopback receivers stand in for hosts
    first = webhook_receiver("s3cret-value")
    second = webhook_receiver("s3cret-value", host="127.0.0.2", port=first.port)
    dns = resolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
    d = delivery_to(f"http://rebind.test:{first.port}/hook")
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.DELIVERED
    assert dns.calls == ["rebind.test"] and connections == ["127.0.0.1"]
    assert len(first.requests) == 1 and second.requests == []
    assert first.requests[0]["headers"]["Host"] == f"rebind.test:{first.port}"
    assert fresh(d).tries[-1]["address"] == "127.0.0.1"


def test_with_blocking_on_the_checked_answer_is_the_one_connected_to(
    settings, resolver, connections, webhook_receiver, monkeypatch
):
    """No public address is reachable from a test, so the policy is narrowed for this test
    (``127.0.0.1`` counts as public, everything else as not): what is under test is that the
    connection uses the answer that passed the check, not a later one."""
    settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS = True
    monkeypatch.setattr(outbound, "address_allowed", lambda a: a == "127.0.0.1")
    ok = webhook_receiver("s3cret-value")
    inside = webhook_receiver("s3cret-value", host="127.0.0.2", port=ok.port)
    resolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]], "inside.test": [["127.0.0.2"]]})
    d = delivery_to(f"http://rebind.test:{ok.port}/hook")
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.DELIVERED
    assert connections == ["127.0.0.1"] and inside.requests == [] and len(ok.requests) == 1

    refused = delivery_to(f"http://inside.test:{ok.port}/hook", key="k2")
    assert webhook_deliver(delivery_pk=refused.pk) == DeliveryStatus.FAILED
    assert connections == ["127.0.0.1"] and inside.requests == []


# --- https to the pinned address --------------------------------------------------------------


@pytest.fixture
def tls(tmp_path):
    """A test CA (trustme), its PEM file, and server contexts for a name."""
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))

    def server_for(*names: str) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names).configure_cert(context)
        return context

    return bundle, server_for


def test_https_is_pinned_to_the_checked_address_with_sni_and_verification_by_name(
    settings, resolver, connections, webhook_receiver, tls
):
    bundle, server_for = tls
    settings.WEBHOOK_CA_BUNDLE = str(bundle)
    receiver = webhook_receiver("s3cret-value", tls=server_for("hooks.example.test"))
    dns = resolver({"hooks.example.test": [["127.0.0.1"], ["127.0.0.2"]]})
    d = delivery_to(f"https://hooks.example.test:{receiver.port}/hook")
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.DELIVERED
    assert receiver.server_names == ["hooks.example.test"]  # SNI names the host, not the IP
    assert connections == ["127.0.0.1"] and dns.calls == ["hooks.example.test"]
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example.test:{receiver.port}"
    assert receiver.requests[0]["signature_ok"]


def test_https_refuses_a_certificate_for_another_name_or_an_unknown_root(
    settings, resolver, webhook_receiver, tls
):
    bundle, server_for = tls
    settings.WEBHOOK_CA_BUNDLE = str(bundle)
    wrong = webhook_receiver("s3cret-value", tls=server_for("elsewhere.test"))
    resolver({"hooks.example.test": [["127.0.0.1"]]})
    d = delivery_to(f"https://hooks.example.test:{wrong.port}/hook")
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.QUEUED  # tried again later
    assert "TLS certificate refused" in fresh(d).last_error and wrong.requests == []

    settings.WEBHOOK_CA_BUNDLE = ""  # certifi's roots: the test CA is unknown
    right = webhook_receiver("s3cret-value", tls=server_for("hooks.example.test"))
    d2 = delivery_to(f"https://hooks.example.test:{right.port}/hook", key="k2")
    webhook_deliver(delivery_pk=d2.pk)
    assert "TLS certificate refused" in fresh(d2).last_error and right.requests == []


# --- redirects, slow and dripping receivers ---------------------------------------------------


def test_a_redirect_is_never_followed_and_ends_the_delivery(
    settings, webhook_receiver, connections
):
    settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS = False
    target = webhook_receiver("s3cret-value")
    redirecting = webhook_receiver("s3cret-value", redirect_to=target.url)
    d = delivery_to(redirecting.url)
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.FAILED
    d = fresh(d)
    assert d.response_code == 302 and "do not follow redirects" in d.last_error
    assert len(redirecting.requests) == 1 and target.requests == []
    assert connections == ["127.0.0.1"]


def test_a_slow_receiver_is_cut_off_and_tried_again_later(settings, webhook_receiver):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    slow = webhook_receiver("s3cret-value", delay=5)
    d = delivery_to(slow.url)
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.QUEUED
    d = fresh(d)
    assert d.last_error == outbound.TIMED_OUT and d.attempts == 1 and d.response_code is None
    assert d.due_at > d.started_at  # backoff before the next try


@pytest.fixture
def dripping_server():
    """Answers one byte of a valid head every 0.1 s (each read well inside any per-read
    timeout): only a deadline for the whole try stops it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 300 + b"\r\nContent-Length: 0\r\n\r\n"

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(65536)
                    for byte in head:
                        if stop.is_set():
                            break
                        conn.sendall(bytes([byte]))
                        time.sleep(0.1)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    thread.join(5)
    listener.close()


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_deadline(settings, dripping_server):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    d = delivery_to(dripping_server)
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.QUEUED
    assert fresh(d).last_error == outbound.TIMED_OUT


# --- signatures: timestamped, replay refused ----------------------------------------------------


def readme_verifier():
    """The Python snippet of the manual's "Webhooks" section, as documented."""
    section = NOTIFY_PAGE.read_text().split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    namespace: dict = {}
    exec(compile(code, "notify-people.md#webhooks", "exec"), namespace)  # our own documentation
    return namespace


def test_each_try_is_signed_with_its_timestamp_and_a_replay_is_refused(settings, webhook_receiver):
    settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS = False
    receiver = webhook_receiver("s3cret-value", fail_first=1)
    d = delivery_to(receiver.url)
    webhook_deliver(delivery_pk=d.pk)
    WebhookDelivery.objects.filter(pk=d.pk).update(due_at=None)  # due now
    assert webhook_deliver(delivery_pk=d.pk) == DeliveryStatus.DELIVERED
    assert [r["signature_ok"] for r in receiver.requests] == [True, True]
    request = receiver.requests[-1]
    headers, body = request["headers"], request["body"]
    stamp = int(headers["X-Signature-Timestamp"])
    assert abs(stamp - time.time()) < 120
    assert headers["X-Signature-256"] == sign_body("s3cret-value", body, timestamp=stamp)
    assert headers["X-Webhook-Delivery"] == str(d.pk)
    # Both tries carry the same delivery id (for deduplication) and their own signature.
    assert receiver.requests[0]["headers"]["X-Webhook-Delivery"] == str(d.pk)

    readme = readme_verifier()
    check = readme["webhook_is_authentic"]
    assert check("s3cret-value", body, headers) is True
    assert signature_valid(
        "s3cret-value", body, headers["X-Signature-256"], str(stamp), now=time.time()
    )
    # The same request replayed ten minutes later is refused, by the manual's check, the
    # platform's helper and the test receiver alike.
    later = time.time() + 600
    readme["time"] = type("Clock", (), {"time": staticmethod(lambda: later)})
    assert check("s3cret-value", body, headers) is False
    assert not signature_valid(
        "s3cret-value", body, headers["X-Signature-256"], str(stamp), now=later
    )
    assert not authentic("s3cret-value", body, headers, now=later)
    # A fresh timestamp on the old signature, another body or another secret: refused.
    readme["time"] = time
    forged = {**headers, "X-Signature-Timestamp": str(stamp + 1)}
    assert check("s3cret-value", body, forged) is False
    assert check("s3cret-value", body + b" ", headers) is False
    assert check("another-secret", body, headers) is False
    assert check("s3cret-value", body, {**headers, "X-Signature-Timestamp": "soon"}) is False
    assert check("s3cret-value", body, {}) is False
