"""The chaos run's verdicts (bench/chaos.py): each invariant checked on the facts the run
gathered (bench/chaos_verify.py's rows, re-scores and boards; the load's own ledger; what the
run's receivers got; the balancer's log), and the recovery bounds on the faults' figures.
Pure Python, no Django: every verdict names the rows it failed on.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

SHOWN = 12  # rows named per failed verdict (the count says how many in all)
WAIT_BEYOND = 60.0  # an upload may wait this much beyond the longest fault covering it
# Seconds after a killed web host is back during which the balancer may still send it a
# request that fails (its health checks: rise 2 x inter 2 s, with a margin).
WEB_BACK_SLACK = 10.0
BOUNDS = {  # kind -> p95 bound in seconds, and what is measured
    "worker_kill": (10.0, "from the kill until what the host held was final again"),
    "broker_empty": (15.0, "from the restart until every queued job had a message again"),
    "db_restart": (15.0, "from the restart until the scoring path worked again"),
    "link_broker": (10.0, "after the link was back, until the host's work was done"),
    "link_db": (10.0, "after the link was back, until the host's work was done"),
}
SUCCEEDED = "succeeded"
RESULT_BY_PROFILE = {
    "team": "submission",
    "baseline": "submission",
    "organizer": "scores",
    "benchmark": "scores",
}
AUDITED_PROFILES = ("organizer", "baseline")  # runs whose start is an audit event


@dataclass
class Verdict:
    name: str
    ok: bool
    summary: str
    rows: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.summary}"
        shown = [f"      {row}" for row in self.rows[:SHOWN]]
        if len(self.rows) > SHOWN:
            shown.append(f"      ... and {len(self.rows) - SHOWN} more")
        return [head, *shown]


def named(rows: Iterable[str]) -> list[str]:
    return sorted(set(rows), key=lambda r: (len(r), r))


# --- uploads -------------------------------------------------------------------------------


def upload_outcomes(ledger: dict, facts: dict, scored_logged: Counter) -> dict[str, list[str]]:
    """Per accepted upload: what went wrong (lost, doubled), keyed by the upload's key."""
    lost: dict[str, str] = {}
    doubled: dict[str, str] = {}
    missing = set(facts["uploads"]["missing_ids"])
    owner: dict[int, str] = {}
    for upload in ledger["uploads"]:
        key, pk = upload["key"], upload["submission"]
        rows = facts["uploads"]["rows"].get(key, [])
        if pk is None:
            continue
        if pk in owner:
            doubled[key] = f"submission {pk} answered to uploads {owner[pk]} and {key}"
        owner[pk] = key
        if pk in missing:
            lost[key] = f"submission {pk} (upload {key}) is not in the database"
            continue
        if len(rows) > 1:
            ids = sorted(r["id"] for r in rows)
            doubled[key] = f"upload {key} made {len(rows)} submissions {ids}"
        row = next((r for r in rows if r["id"] == pk), None)
        if row is None:
            lost[key] = f"submission {pk} (upload {key}) is not the row of its upload"
        elif row["status"] not in ("scored", "failed"):
            lost[key] = f"submission {pk} (upload {key}) ended {row['status']}, not final"
        elif row["status"] == "failed" and not row["error"].strip():
            lost[key] = f"submission {pk} (upload {key}) failed without a reason"
        if scored_logged.get(pk, 0) > 1:
            doubled[key] = f"submission {pk} (upload {key}) scored {scored_logged[pk]} times"
    return {"lost": lost, "doubled": doubled}


def check_uploads(ledger: dict, facts: dict, scored_logged: Counter) -> Verdict:
    outcome = upload_outcomes(ledger, facts, scored_logged)
    accepted = [u for u in ledger["uploads"] if u["submission"]]
    given_up = [u for u in ledger["uploads"] if not u["submission"] and u["given_up"]]
    failed = Counter(
        r["status"]
        for u in accepted
        for r in facts["uploads"]["rows"].get(u["key"], [])
        if r["id"] == u["submission"]
    )
    unacknowledged = [
        f"upload {u['key']} was never answered 2xx but made {len(rows)} row(s)"
        for u in ledger["uploads"]
        if not u["submission"] and (rows := facts["uploads"]["rows"].get(u["key"]))
    ]
    rows = [*outcome["lost"].values(), *outcome["doubled"].values()]
    rows += [f"upload {u['key']} was never accepted: {u['given_up']}" for u in given_up]
    summary = (
        f"{len(accepted)} accepted uploads: {failed.get('scored', 0)} scored, "
        f"{failed.get('failed', 0)} failed with a reason; lost {len(outcome['lost'])}, "
        f"doubled {len(outcome['doubled'])}, never accepted {len(given_up)}; "
        f"{len(unacknowledged)} row(s) of uploads the client gave up on"
    )
    return Verdict(
        "every accepted upload ends exactly once (scored, or failed with a reason)",
        not rows and bool(accepted),
        summary,
        named(rows) + unacknowledged,
    )


def check_pending(facts: dict) -> Verdict:
    left = facts["pending"]
    rows = [f"{p['type']} {p['id']} is {p['status']}" for p in left]
    return Verdict(
        "no job is left queued or running",
        not left,
        f"{len(left)} job(s) not final" if left else "every job of every type is final",
        named(rows),
    )


def check_rescore(facts: dict) -> Verdict:
    found = facts.get("rescore")
    name = "every score equals a fresh re-score of its stored file"
    if found is None:
        return Verdict(name, True, "not checked in this pass (--no-rescore)")
    rows = [f"submission {d['id']}: {d['why']}" for d in found["differ"]]
    return Verdict(
        name,
        not rows and found["checked"] > 0,
        f"{found['checked']} scored submissions re-scored, {len(rows)} differ",
        rows,
    )


def _same_board(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0]
        and x[1] == y[1]
        and (x[2] is None) == (y[2] is None)
        and (x[2] is None or math.isclose(x[2], y[2], rel_tol=0, abs_tol=1e-12))
        for x, y in zip(a, b, strict=True)
    )


def check_boards(facts: dict, served: list[dict]) -> Verdict:
    """Stored boards against their recomputation; the boards participants got through the
    balancer (``served``: task, split, entries) against the stored ones."""
    rows = []
    stored = {}
    for board in facts["boards"]:
        stored[(board["task"], board["split"])] = board["stored"]
        if not _same_board(board["stored"], board["recomputed"]):
            rows.append(
                f"{board['task']} {board['split']}: stored {board['stored'][:5]}... recomputed "
                f"{board['recomputed'][:5]}..."
            )
    for board in served:
        mine = [e for e in stored.get((board["task"], board["split"]), []) if e[0] is not None]
        if not _same_board(board["entries"], mine):
            rows.append(f"{board['task']} {board['split']} as served differs from the stored one")
    return Verdict(
        "every board equals its recomputation from the stored scores",
        not rows and bool(facts["boards"]),
        f"{len(facts['boards'])} boards recomputed, {len(served)} read through the balancer",
        rows,
    )


def check_runs(facts: dict) -> Verdict:
    runs = {r["id"]: r for r in facts["runs"]["rows"]}
    rows = []
    for asked in facts["runs"]["requested"]:
        run = runs.get(asked["run"])
        if run is None:
            rows.append(f"run {asked['run']} ({asked['profile']} on {asked['task']}) is missing")
    for run in runs.values():
        rows += _run_problems(run)
    per_key = Counter(
        (r["profile"], r["version"], r["task"], r["data_version"])
        for r in runs.values()
        if r["profile"] in ("team", "organizer", "benchmark") and r["status"] != "cancelled"
    )
    rows += [
        f"{n} {profile} runs of version {version} on {task}"
        for (profile, version, task, _), n in per_key.items()
        if n > 1
    ]
    done = Counter(r["status"] for r in runs.values())
    return Verdict(
        "every algorithm run gives one result for each task, with no duplicate run",
        not rows and bool(facts["runs"]["requested"]),
        f"{len(facts['runs']['requested'])} runs asked for by the load, {len(runs)} in all "
        f"({', '.join(f'{n} {s}' for s, n in sorted(done.items()))})",
        named(rows),
    )


def _run_problems(run: dict) -> list[str]:
    what = f"algorithm run {run['id']} ({run['profile']} on {run['task']})"
    if run["status"] not in (SUCCEEDED, "failed", "cancelled"):
        return [f"{what} ended {run['status']}"]
    if run["status"] == "failed" and not run["error"].strip():
        return [f"{what} failed without a reason"]
    if run["status"] != SUCCEEDED:
        return []
    result = RESULT_BY_PROFILE.get(run["profile"])
    if result == "submission" and run["submission"] is None:
        return [f"{what} succeeded without its submission"]
    if result == "submission" and run["submission_status"] not in ("scored", "failed"):
        return [f"{what}: its submission {run['submission']} is {run['submission_status']}"]
    if result == "scores" and not run["scores"]:
        return [f"{what} succeeded without its scores"]
    return []


def check_notifications(facts: dict, received: dict) -> Verdict:
    mails = Counter(m["message_id"] for m in received["mails"])
    hooks = Counter(h["delivery"] for h in received["hooks"] if h["signature_ok"])
    rows = []
    sent = delivered = 0
    for mail in facts["notifications"]["mails"]:
        if mail["status"] == "sent":
            sent += 1
            if not mails.get(mail["message_id"]):
                rows.append(f"mail {mail['id']} ({mail['topic']}) sent but never received")
        elif mail["status"] == "failed":
            rows.append(f"mail {mail['id']} ({mail['topic']}) failed: {mail['error']}")
    for hook in facts["notifications"]["hooks"]:
        if hook["status"] == "delivered":
            delivered += 1
            if not hooks.get(str(hook["id"])):
                rows.append(f"webhook delivery {hook['id']} ({hook['event']}) never received")
        elif hook["status"] == "failed":
            rows.append(f"webhook delivery {hook['id']} ({hook['event']}) failed: {hook['error']}")
    bad = sum(1 for h in received["hooks"] if not h["signature_ok"])
    if bad:
        rows.append(f"{bad} webhook request(s) with a wrong signature")
    again = sum(n - 1 for n in mails.values() if n > 1) + sum(
        n - 1 for n in hooks.values() if n > 1
    )
    return Verdict(
        "every webhook and mail is delivered at least once (de-duplicated by id when received)",
        not rows,
        f"{sent} mails sent, {len(mails)} distinct received; {delivered} webhook deliveries, "
        f"{len(hooks)} distinct received; {again} repeat(s) de-duplicated by id",
        named(rows),
    )


# --- 5xx through the balancer ---------------------------------------------------------------

HAPROXY_LINE = re.compile(
    r"\[(?P<at>\d+/\w+/\d+:\d+:\d+:\d+\.\d+)\] \S+ (?P<backend>[^/\s]+)/(?P<server>\S+) "
    r"\S+/(?P<total>-?\d+) (?P<status>\d{3}) \S+ \S+ \S+ (?P<term>\S{4}) .*?"
    r"\"(?P<method>[A-Z]+) (?P<path>\S+)"
)


def balancer_errors(log: str) -> list[dict]:
    """The 5xx answers in HAProxy's log: when answered, which server, its termination
    state."""
    found = []
    for line in log.splitlines():
        m = HAPROXY_LINE.search(line)
        if m is None or int(m["status"]) < 500:
            continue
        stamp, millis = m["at"].rsplit(".", 1)
        accepted = time.mktime(time.strptime(stamp, "%d/%b/%Y:%H:%M:%S")) + int(millis) / 1000
        at = accepted + max(int(m["total"]), 0) / 1000  # when it was answered (HAProxy's Ta)
        found.append(
            {
                "at": at,
                "server": m["server"],
                "status": int(m["status"]),
                "term": m["term"],
                "request": f"{m['method']} {m['path'].split('?')[0]}",
            }
        )
    return found


def web_down(faults: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """When each web host was down (killed until back, with the balancer's slack)."""
    down: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for f in faults:
        if f["kind"] == "web_kill" and f["started"]:
            down[f["host"]].append((f["started"], (f["healed"] or math.inf) + WEB_BACK_SLACK))
    return down


def excused(error: dict, down: dict[str, list[tuple[float, float]]]) -> bool:
    """A 5xx the balancer answered for a web host that was down then (the request died
    with it, or no server was left): the one kind of 5xx allowed."""
    if error["term"][0] in "-C":  # the server answered it itself (or the client left)
        return False
    if error["server"] == "<NOSRV>":
        hosts = list(down)
    else:
        hosts = [h for h in down if error["server"] in (h, f"boards{h[-1]}")]
    return any(a <= error["at"] <= b for h in hosts for a, b in down[h])


def check_server_errors(log: str, faults: list[dict], ledger_5xx: int, *, since: float) -> Verdict:
    """The balancer's 5xx from ``since`` (the load's start: the deployment's own start-up,
    its health checks waiting for the web hosts, is not the load's)."""
    errors = [e for e in balancer_errors(log) if e["at"] >= since]
    down = web_down(faults)
    bad = [e for e in errors if not excused(e, down)]
    rows = [
        f"{e['status']} {e['request']} at {time.strftime('%H:%M:%S', time.localtime(e['at']))} "
        f"by {e['server']} ({e['term']})"
        for e in bad
    ]
    return Verdict(
        "no 5xx is answered except by a web host while it is down behind the balancer",
        not bad,
        f"{len(errors)} 5xx in the balancer's log ({len(errors) - len(bad)} while a web host "
        f"was down); the clients saw {ledger_5xx}",
        rows,
    )


# --- the audit log ------------------------------------------------------------------------


def check_audit(facts: dict, ledger: dict) -> Verdict:
    audit = facts["audit"]
    events = Counter()
    for action, object_type, object_id, n in audit["events"]:
        events[(action, object_type, object_id)] += n
    rows = []
    for slug, pk in audit["tasks"].items():
        n = events.get(("task.import", audit["task_model"], str(pk)), 0)
        if n != 1:
            rows.append(f"task {slug} ({pk}) has {n} task.import events")
    runs = {r["id"]: r for r in facts["runs"]["rows"]}
    starts = Counter(
        int(object_id)
        for (action, object_type, object_id), n in events.items()
        for _ in range(n)
        if object_type == audit["run_model"] and action.endswith(".start")
    )
    for run in runs.values():
        n = starts.get(run["id"], 0)
        if (run["profile"] in AUDITED_PROFILES and n != 1) or n > 1:
            rows.append(f"algorithm run {run['id']} ({run['profile']}) has {n} start events")
    existing = set(audit["runs"])
    rows += [
        f"a start event names run {pk}, which does not exist" for pk in starts if pk not in existing
    ]
    organizer = [r for r in ledger["runs"] if r["profile"] == "organizer"]
    return Verdict(
        "the audit log has no gap",
        not rows,
        f"{sum(events.values())} events; {len(audit['tasks'])} imports and "
        f"{sum(1 for r in runs.values() if r['profile'] in AUDITED_PROFILES)} audited runs "
        f"({len(organizer)} the organizer's) each with exactly one event",
        named(rows),
    )


# --- recovery ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def check_bounds(table: dict[str, dict]) -> list[Verdict]:
    verdicts = []
    for kind, (bound, what) in BOUNDS.items():
        row = table.get(kind)
        if row is None or not row["injected"]:
            verdicts.append(
                Verdict(
                    f"recovery of {kind} p95 <= {bound:.0f} s",
                    True,
                    "no fault of this kind in this run",
                )
            )
            continue
        p95 = row["p95"]
        unrecovered = row["injected"] - row["recovered"]
        ok = p95 is not None and p95 <= bound and not unrecovered
        verdicts.append(
            Verdict(
                f"recovery of {kind} p95 <= {bound:.0f} s",
                ok,
                f"p95 {_s(p95)} over {row['measured']} measured ({what}); "
                f"{unrecovered} not recovered",
                row["worst"],
            )
        )
    return verdicts


def check_waits(waits: list[dict]) -> Verdict:
    """No upload waited more than WAIT_BEYOND beyond the longest fault that covered it."""
    rows = [
        f"upload {w['key']} (submission {w['id']}) waited {w['wait']:.0f} s; longest fault "
        f"covering it {w['covered']:.0f} s"
        for w in waits
        if w["wait"] > w["covered"] + WAIT_BEYOND
    ]
    longest = max((w["wait"] - w["covered"] for w in waits), default=0.0)
    return Verdict(
        f"no upload waits more than {WAIT_BEYOND:.0f} s beyond the longest fault covering it",
        not rows and bool(waits),
        f"{len(waits)} uploads; the most any waited beyond its longest fault: {longest:.1f} s",
        rows,
    )


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"
