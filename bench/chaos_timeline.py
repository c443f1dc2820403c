"""The timeline of each job whose recovery missed its bound, from what the database already
records (issue 66: a killed scoring worker's job once took 46.2 s to be final, and the
bench kept nothing to say why).

For a fault over its bound (``BOUNDS``; or not recovered), each job the faulted host held is
told from the fault's start: every claim of it (``jobs_jobclaim``: who, when; a lost claim
says when and why it was taken back, which is when the job was re-queued and published
again), its republish count (``jobs_jobrepublished``, while it stayed queued), the other
faults that began meanwhile, and when the job became final. A step that waited is then
plain: the kill seen late (the liveness bound), the job republished late (the sweeper), or
claimed late (a busy host).
"""

from __future__ import annotations

from bench.chaos_faults import Fault
from bench.chaos_invariants import BOUNDS
from bench.multihost_faults import db_rows
from bench.multihost_hosts import Cluster

CONTEXT_SECONDS = 120.0  # faults that began this long after the fault are shown with it


PerFault = list[tuple[Fault, float | None, str]]


def over_bound(per_fault: PerFault) -> list[tuple[Fault, float | None]]:
    """The faults of a bounded kind whose recovery was past the bound, or not measured."""
    return [
        (fault, value)
        for fault, value, what in per_fault
        if fault.kind in BOUNDS
        and fault.held
        and not what.startswith("not done")
        and (value is None or value > BOUNDS[fault.kind][0])
    ]


def job_events(
    c: Cluster, job_types: dict[str, dict], job: tuple[str, int]
) -> list[tuple[float, str]]:
    """``(wall clock, what)`` of one job: its claims, losses, republishes and end."""
    task, pk = job
    events: list[tuple[float, str]] = []
    claims = db_rows(
        c,
        "SELECT holder, extract(epoch FROM claimed_at), extract(epoch FROM lost_at), "
        "lost_reason FROM jobs_jobclaim WHERE job_type = %s AND object_id = %s "
        "ORDER BY claimed_at",
        (task, pk),
    )
    for n, (holder, claimed, lost, reason) in enumerate(claims):
        events.append((float(claimed), f"{'claimed again' if n else 'claimed'} by {holder}"))
        if lost is not None:
            events.append((float(lost), f"seen dead, re-queued and published again: {reason}"))
    for count, first, last in db_rows(
        c,
        "SELECT count, extract(epoch FROM first_at), extract(epoch FROM last_at) "
        "FROM jobs_jobrepublished WHERE job_type = %s AND object_id = %s",
        (task, pk),
    ):
        events.append((float(first), f"published again by the sweeper ({count}x in all)"))
        if count > 1:
            events.append((float(last), "published again by the sweeper (the last time)"))
    jt = job_types.get(task)
    if jt is not None:
        for status, finished in db_rows(
            c,
            f"SELECT status, extract(epoch FROM finished_at) FROM {jt['table']} WHERE id = %s",
            (pk,),
        ):
            if finished is not None:
                events.append((float(finished), f"final: {status}"))
            else:
                events.append((float("inf"), f"not final: {status}"))
    return events


def timelines(
    c: Cluster,
    job_types: dict[str, dict],
    per_fault: PerFault,
    faults: list[Fault],
) -> str:
    """The report's section: one timeline per job held by a fault over its bound."""
    late = over_bound(per_fault)
    if not late:
        return ""
    lines = ["", "timelines of the recoveries over their bound (seconds from the fault):"]
    for fault, value in late:
        shown = "not recovered" if value is None else f"{value:.1f} s"
        bound = BOUNDS[fault.kind][0]
        lines.append(
            f"fault {fault.planned.n} {fault.kind} on {fault.host}: {shown} (bound {bound:.0f} s)"
            f"; {fault.detail}"
        )
        context = [
            (other.started, f"{other.kind} on {other.host} begins")
            for other in faults
            if other is not fault
            and fault.started - 10 <= other.started <= fault.started + CONTEXT_SECONDS
        ]
        for job in fault.held:
            events = [
                (fault.started, f"{fault.kind} on {fault.host} (the fault)"),
                *context,
                *job_events(c, job_types, job),
            ]
            lines.append(f"  {job[0].rsplit('.', 1)[-1]} {job[1]}:")
            for at, what in sorted(events, key=lambda e: e[0]):
                when = "    never" if at == float("inf") else f"{at - fault.started:+9.1f}"
                lines.append(f"    {when}  {what}")
    return "\n".join(lines)
