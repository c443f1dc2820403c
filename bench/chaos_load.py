"""The chaos run's load (bench/chaos.py): steady and mixed, through the balancer, as users.

- Prediction uploads from several teams over the API (an ``Idempotency-Key`` each, sent
  again after a broken connection or a gateway error, as clients do), the web form (signed
  in, with the form's own key) and ``chal submit`` (a process each).
- Algorithm submissions: a team uploads a new version and runs it on its track (a run per
  task); an organizer runs a team's algorithm on the track (an audited action).
- A task import (``manage.py import_task`` on the organizer's host) part-way through, which
  queues the benchmark's re-runs on the new task and its baselines.
- Release checks against a task's champion, and board readers (anonymous and signed in).

Every exchange is kept in the :class:`Ledger` with its wall-clock times: what the invariants
(bench/chaos_invariants.py) and the fault tables are computed from.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from bench.chaos_ledger import RETRYABLE, Exchange, Ledger, Upload, backoff, browser, exchange
from bench.load_test import Fixture, prediction_file, write_bundle
from bench.multihost_hosts import ENTRYPOINT, VENV_BIN, Cluster, addr, http

CHALLENGE, TRACK = "chaos", "chaos-track"
TASKS = ("chaos-a", "chaos-b")  # imported at the start
LATER_TASK = "chaos-c"  # imported part-way through (the task import of the load)
WEBHOOK_PORT, SMTP_PORT = 8025, 2525
GIVE_UP_SECONDS = 600.0  # a client tries an upload again for this long, at most

ALGORITHM_MAIN = """
import json, os
from pathlib import Path

import pandas as pd

task = Path(os.environ["TASK_DIR"])
out = Path(os.environ["OUTPUT_DIR"])
meta = json.loads((task / "task.json").read_text())
train = pd.read_parquet(task / "train.parquet", columns=["label"])
test = pd.read_parquet(task / "test.parquet", columns=["id"])
label = train["label"].value_counts().index[VARIANT % train["label"].nunique()]
pd.DataFrame({"id": test["id"], "label": label}).to_csv(out / "predictions.csv", index=False)
print(f"wrote {len(test)} predictions for {meta['slug']}")
"""


def algorithm_archive(variant: int) -> bytes:
    """A small honest algorithm (one class for every row, the ``variant``-th most common)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("algorithm.yaml", f"name: Chaos {variant}\nentrypoint: main.py\n")
        archive.writestr("main.py", ALGORITHM_MAIN.replace("VARIANT", str(variant)))
    return buffer.getvalue()


# --- the world the load runs in ----------------------------------------------------------------


@dataclass
class Team:
    name: str
    username: str
    password: str
    token: str
    email: str


@dataclass
class World:
    tasks: dict[str, Fixture]  # slug -> ids and labels (for prediction files)
    teams: list[Team]
    organizer_token: str
    webhook_secret: str
    later_bundle: Path

    def fixture(self, slug: str) -> Fixture:
        return self.tasks[slug]


SETUP = """
import json
from pathlib import Path
from django.contrib.auth import get_user_model
from challenges.models import Challenge, Team, TeamMembership
from challenges.tokens import api_token_create
from datasets.services import task_import
from notifications.models import NotificationPreference, Webhook
import pandas as pd
spec = json.loads(Path(SPEC).read_text())
tasks = {}
for slug, bundle in spec["bundles"].items():
    task = task_import(source=bundle, challenge_slug=spec["challenge"], track_slug=spec["track"])
    solution = pd.read_csv(Path(bundle) / "solution.csv")
    tasks[task.slug] = {"ids": list(solution["id"]), "labels": list(solution["label"])}
challenge = Challenge.objects.get(slug=spec["challenge"])
challenge.daily_submission_limit = 100000
challenge.save(update_fields=["daily_submission_limit"])
users = get_user_model()
teams = []
for i in range(spec["teams"]):
    name = f"chaos{i}"
    user = users.objects.create_user(name, email=f"{name}@example.org",
                                     password=spec["passwords"][i])
    team = Team.objects.create(challenge=challenge, name=f"Chaos team {i}")
    TeamMembership.objects.create(team=team, user=user, challenge=challenge)
    if i % 2 == 0:  # half the teams hear of every score (opt-in), the others of failures only
        NotificationPreference.objects.create(user=user, choices={"submission_scored": True})
    teams.append({"name": team.name, "username": name, "password": spec["passwords"][i],
                  "token": api_token_create(user=user)[1], "email": user.email})
organizer = users.objects.create_user("organizer", email="organizer@example.org",
                                      password=spec["organizer_password"], is_staff=True)
Webhook.objects.create(challenge=challenge, url=spec["webhook_url"], secret=spec["secret"])
print(json.dumps({"tasks": tasks, "teams": teams,
                  "organizer_token": api_token_create(user=organizer)[1]}))
"""


def prepare_world(c: Cluster, *, teams: int, rows: int) -> World:
    """Import the first tasks, make the teams (a user each: password, token, mail address),
    an organizer and the challenge's webhook (to the run's own receiver), from web1."""
    folder = c.dir("web1")
    bundles = {}
    for n, slug in enumerate((*TASKS, LATER_TASK)):
        bundles[slug] = str(
            write_bundle(folder / f"bundle-{slug}", rows=rows, seed=n, slug=slug, title=slug)
        )
    later = Path(bundles.pop(LATER_TASK))
    secret = uuid.uuid4().hex
    spec = {
        "bundles": bundles,
        "challenge": CHALLENGE,
        "track": TRACK,
        "teams": teams,
        "passwords": [uuid.uuid4().hex for _ in range(teams)],
        "organizer_password": uuid.uuid4().hex,
        "webhook_url": f"http://{addr('client')}:{WEBHOOK_PORT}/hook",
        "secret": secret,
    }
    spec_path = folder / "world.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    script = SETUP.replace("SPEC", repr(str(spec_path)))
    command = [ENTRYPOINT, sys.executable, "manage.py", "shell", "-c", script]
    out = c.run("web1", command, timeout=900)
    data = json.loads(out.strip().splitlines()[-1])
    tasks = {
        slug: Fixture(slug, TRACK, [], v["ids"], v["labels"]) for slug, v in data["tasks"].items()
    }
    return World(
        tasks=tasks,
        teams=[Team(**t) for t in data["teams"]],
        organizer_token=data["organizer_token"],
        webhook_secret=secret,
        later_bundle=later,
    )


# --- the uploaders ----------------------------------------------------------------------------


@dataclass
class Load:
    c: Cluster
    world: World
    ledger: Ledger
    seed: int
    rate: float  # uploads per second over every channel
    stop: threading.Event = field(default_factory=threading.Event)
    tasks_open: list[str] = field(default_factory=lambda: list(TASKS))
    base: str = ""

    def __post_init__(self) -> None:
        self.base = f"http://{addr('lb')}"

    # Upload channels and their shares of the rate.
    SHARES = {"api": 0.6, "web": 0.25, "chal": 0.15}

    def threads(self) -> list[threading.Thread]:
        made = []
        for channel, share in self.SHARES.items():
            for k in range(2 if channel == "api" else 1):
                per_thread = self.rate * share / (2 if channel == "api" else 1)
                made.append(
                    threading.Thread(
                        target=self.uploader,
                        args=(channel, per_thread, self.seed * 100 + len(made)),
                        name=f"{channel}-{k}",
                        daemon=True,
                    )
                )
        made.append(threading.Thread(target=self.algorithms, name="algorithms", daemon=True))
        made.append(threading.Thread(target=self.release_checks, name="release", daemon=True))
        for n in range(2):
            made.append(
                threading.Thread(target=self.reader, args=(n,), name=f"reader-{n}", daemon=True)
            )
        return made

    def uploader(self, channel: str, rate: float, seed: int) -> None:
        rng = random.Random(seed)
        prng = np.random.default_rng(seed)
        web: dict[str, requests.Session] = {}
        next_at = time.monotonic() + rng.uniform(0, 1 / rate)
        while not self.stop.is_set():
            if self.stop.wait(max(next_at - time.monotonic(), 0)):
                return
            next_at += rng.expovariate(rate)
            team = rng.choice(self.world.teams)
            task = rng.choice(self.tasks_open)
            body = prediction_file(self.world.fixture(task), prng)
            upload = Upload(f"{channel}-{uuid.uuid4().hex}", channel, team.name, task, time.time())
            with self.ledger.lock:
                self.ledger.uploads[upload.key] = upload
            if channel == "api":
                self.api_upload(upload, team, body)
            elif channel == "web":
                self.web_upload(upload, team, body, web)
            else:
                self.chal_upload(upload, team, body)

    def _accepted(self, upload: Upload, pk: int) -> None:
        with self.ledger.lock:
            upload.accepted_at, upload.submission = time.time(), pk

    def _give_up(self, upload: Upload, why: str) -> None:
        with self.ledger.lock:
            upload.given_up = why

    def api_upload(self, upload: Upload, team: Team, body: bytes) -> None:
        session = http()
        session.headers["Authorization"] = f"Token {team.token}"
        url = f"{self.base}/api/v1/tasks/{upload.task}/submissions/"
        while True:
            upload.attempts += 1
            response = exchange(
                self.ledger,
                "api-upload",
                session,
                "POST",
                url,
                files={"file": ("predictions.csv", body, "text/csv")},
                data={"note": upload.key},
                headers={"Idempotency-Key": upload.key},
            )
            if response is not None and response.status_code == 201:
                return self._accepted(upload, response.json()["id"])
            if response is not None and response.status_code not in RETRYABLE:
                return self._give_up(upload, f"{response.status_code}: {response.text[:200]}")
            if time.time() - upload.started > GIVE_UP_SECONDS:
                return self._give_up(upload, "no answer for 10 minutes")
            time.sleep(backoff(upload.attempts))

    def web_session(self, team: Team, sessions: dict[str, requests.Session]) -> requests.Session:
        """A signed-in browser session of ``team`` (signed in again when it was lost)."""
        session = sessions.get(team.name)
        if session is not None:
            return session
        session = browser()
        login = f"{self.base}/accounts/login/"
        exchange(self.ledger, "web-login", session, "GET", login)
        response = exchange(
            self.ledger,
            "web-login",
            session,
            "POST",
            login,
            data={
                "username": team.username,
                "password": team.password,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": login.replace("http://", "https://")},
            allow_redirects=False,
        )
        if response is None or response.status_code != 302:
            raise ConnectionError("login failed")
        sessions[team.name] = session
        return session

    def web_upload(
        self, upload: Upload, team: Team, body: bytes, sessions: dict[str, requests.Session]
    ) -> None:
        """The submit page, then its form (no JavaScript): the page's own idempotency key,
        sent again with the same form when the answer was lost."""
        page = f"{self.base}/tasks/{upload.task}/submit/"
        form_key = ""
        while True:
            upload.attempts += 1
            try:
                session = self.web_session(team, sessions)
            except ConnectionError:
                session = None
            if session is not None and not form_key:
                response = exchange(self.ledger, "web-page", session, "GET", page)
                found = re.search(
                    r'name="idempotency_key" value="([^"]+)"', response.text if response else ""
                )
                form_key = found.group(1) if found else ""
                if response is not None and "/accounts/login/" in response.url:
                    sessions.pop(team.name, None)
                    form_key = ""
            if session is not None and form_key:
                response = exchange(
                    self.ledger,
                    "web-upload",
                    session,
                    "POST",
                    page,
                    files={"file": ("predictions.csv", body, "text/csv")},
                    data={
                        "note": upload.key,
                        "idempotency_key": form_key,
                        "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
                    },
                    headers={"Referer": page.replace("http://", "https://")},
                    allow_redirects=False,
                )
                location = response.headers.get("Location", "") if response is not None else ""
                found = re.search(r"/submissions/(\d+)/", location)
                if found:
                    return self._accepted(upload, int(found.group(1)))
                if response is not None and response.status_code not in (*RETRYABLE, 403):
                    return self._give_up(upload, f"{response.status_code} {location}")
            if time.time() - upload.started > GIVE_UP_SECONDS:
                return self._give_up(upload, "no answer for 10 minutes")
            time.sleep(backoff(upload.attempts))

    def chal_upload(self, upload: Upload, team: Team, body: bytes) -> None:
        """``chal submit`` in a process of its own (it keeps one key across its own tries)."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.c.dir("client")),
            "CHAL_SERVER": self.base,
            "CHAL_TOKEN": team.token,
            "NO_PROXY": "*",
        }
        with tempfile.NamedTemporaryFile(suffix=".csv", dir=self.c.dir("client")) as handle:
            handle.write(body)
            handle.flush()
            command = [str(VENV_BIN / "chal"), "submit", upload.task, handle.name]
            command += ["--note", upload.key, "--json"]
            started = time.time()
            upload.attempts += 1
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired:
                self.ledger.note(Exchange("chal-upload", started, time.time(), "Timeout"))
                return self._give_up(upload, "chal did not finish in 5 minutes")
        self.ledger.note(
            Exchange(
                "chal-upload", started, time.time(), done.returncode, "", done.stderr[-200:].strip()
            )
        )
        if done.returncode == 0:
            return self._accepted(upload, json.loads(done.stdout)["id"])
        # chal sent it again itself; what it could not get through, a user sees as an error
        # line: nothing of it was accepted that the user knows of.
        return self._give_up(upload, f"chal exit {done.returncode}: {done.stderr.strip()[-200:]}")

    # --- algorithms, release checks, readers ----------------------------------------------------

    def algorithms(self) -> None:
        """Every ~2 minutes a team uploads a new version and runs it on the track; every
        other time the organizer also runs it (audited)."""
        rng = random.Random(self.seed * 7 + 1)
        n = 0
        while not self.stop.wait(rng.uniform(20, 60) if n == 0 else rng.uniform(90, 150)):
            n += 1
            team = self.world.teams[n % len(self.world.teams)]
            algorithm = self.submit_algorithm(team, n)
            if algorithm is None:
                continue
            self.run_algorithm(team.token, algorithm, profile="team")
            if n % 2 == 0:
                self.run_algorithm(self.world.organizer_token, algorithm, profile="organizer")

    def _retrying(self, channel: str, session: requests.Session, method: str, url: str, **kw):
        """A request sent again on a gateway error (bounded); the last answer, or None."""
        for attempt in range(1, 8):
            response = exchange(self.ledger, channel, session, method, url, **kw)
            if response is not None and response.status_code not in RETRYABLE:
                return response
            if self.stop.is_set() and attempt > 3:
                return response
            time.sleep(backoff(attempt))
        return None

    def submit_algorithm(self, team: Team, n: int) -> dict | None:
        session = http()
        session.headers["Authorization"] = f"Token {team.token}"
        response = self._retrying(
            "algorithm",
            session,
            "POST",
            f"{self.base}/api/v1/challenges/{CHALLENGE}/algorithms/",
            files={"file": (f"chaos-{n}.zip", algorithm_archive(n), "application/zip")},
            data={"name": f"Chaos {team.name}"},
        )
        if response is None or response.status_code != 201:
            return None
        data = response.json()
        found = {"algorithm": data["id"], "team": team.name, "at": time.time()}
        with self.ledger.lock:
            self.ledger.algorithms.append(found)
        return found

    def run_algorithm(self, token: str, algorithm: dict, *, profile: str) -> None:
        session = http()
        session.headers["Authorization"] = f"Token {token}"
        response = self._retrying(
            "algorithm-run",
            session,
            "POST",
            f"{self.base}/api/v1/algorithms/{algorithm['algorithm']}/runs/",
            json={"track": TRACK},
        )
        if response is None or response.status_code != 202:
            return
        with self.ledger.lock:
            for run in response.json()["runs"]:
                self.ledger.runs.append(
                    {"run": run["id"], "task": run["task"], "profile": profile, "at": time.time()}
                )

    def release_checks(self) -> None:
        rng = random.Random(self.seed * 7 + 2)
        prng = np.random.default_rng(self.seed + 3)
        team = self.world.teams[0]
        session = http()
        session.headers["Authorization"] = f"Token {team.token}"
        while not self.stop.wait(rng.uniform(30, 60)):
            task = rng.choice(self.tasks_open)
            response = self._retrying(
                "release-check",
                session,
                "POST",
                f"{self.base}/api/v1/tasks/{task}/release-check/",
                files={"file": ("candidate.csv", prediction_file(self.world.fixture(task), prng))},
            )
            with self.ledger.lock:
                self.ledger.release_checks[response.status_code if response else "none"] += 1

    def reader(self, n: int) -> None:
        """A visitor reading boards every second: anonymous pages and API (the cache, the
        board servers), or signed in with a token (always the newest board)."""
        rng = random.Random(self.seed * 11 + n)
        session = http()
        if n == 1:
            session.headers["Authorization"] = f"Token {self.world.teams[1].token}"
        while not self.stop.wait(1.0):
            task = rng.choice(self.tasks_open)
            path = rng.choice(
                [
                    f"/api/v1/tasks/{task}/leaderboard/",
                    f"/api/v1/tracks/{TRACK}/leaderboard/",
                    f"/tasks/{task}/leaderboard/",
                ]
            )
            response = exchange(self.ledger, "board", session, "GET", self.base + path)
            with self.ledger.lock:
                self.ledger.reads[response.status_code if response else "error"] += 1

    # --- the task import ----------------------------------------------------------------------

    def import_task(self) -> None:
        """``manage.py import_task`` from the organizer's host (the beat host), tried again
        while it fails (the database may be restarting); once it reports the task exists, it
        is in the track and the uploads use it."""
        for attempt in range(1, 11):
            started = time.time()
            command = [ENTRYPOINT, sys.executable, "manage.py", "import_task"]
            command += [str(self.world.later_bundle), "--challenge", CHALLENGE, "--track", TRACK]
            done = subprocess.run(
                [*self.c.wrap("beat"), *command],
                env=self.c.env("beat"),
                cwd=Path(ENTRYPOINT).parents[1],
                capture_output=True,
                text=True,
                timeout=900,
            )
            text = (done.stdout + done.stderr).strip()
            with self.ledger.lock:
                self.ledger.imports.append(
                    {
                        "attempt": attempt,
                        "started": started,
                        "ended": time.time(),
                        "exit": done.returncode,
                        "output": text[-400:],
                    }
                )
            if done.returncode == 0 or "already" in text:
                self.world.tasks[LATER_TASK] = self._later_fixture()
                self.tasks_open.append(LATER_TASK)
                return
            time.sleep(10)

    def _later_fixture(self) -> Fixture:
        import pandas as pd

        solution = pd.read_csv(self.world.later_bundle / "solution.csv")
        return Fixture(LATER_TASK, TRACK, [], list(solution["id"]), list(solution["label"]))
