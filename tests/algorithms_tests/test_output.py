"""A run's output read as a stranger's upload (algorithms.services.output), without a
sandbox: what an algorithm may leave in /output, handed straight to the reader."""

from __future__ import annotations

import array
import fcntl
import json
import os
import select
import subprocess
import sys
import termios
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from algorithms.services import output
from algorithms.services.output import OutputReadCancelled, OutputRefused, predictions_read
from scoring.core import SubmissionInvalid, read_submission_file
from tests.support.waiting import wait_for

from .output_helpers import dictionary_bomb

CAP = 200 * 1024 * 1024


def readers() -> list[psutil.Process]:
    """The checks running: output-check processes, but not the fork server (it stays, one
    per worker process: its children are the checks) nor its spare (the next check's child,
    forked ahead and waiting in the server's process group; a check is a session of its own
    before the server names it). A check that was answered may still be exiting: see
    :func:`no_readers_left`."""
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "algorithms.output_check" not in " ".join(process.cmdline()):
                continue
            parent = process.parent()
            is_server = "--serve" in process.cmdline() and (
                parent is None or "algorithms.output_check" not in " ".join(parent.cmdline())
            )
            if not is_server and os.getpgid(process.pid) == process.pid:
                found.append(process)
        except (psutil.Error, ProcessLookupError):
            continue
    return found




def no_readers_left() -> bool:
    """No check is left: one answered ends within moments (the server answers once its
    report is written, then reaps it), and none stays."""
    wait_for(lambda: readers() == [], timeout=30, what="the checks' processes to end")
    return True


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "output"
    folder.mkdir()
    return folder


def test_a_valid_file_is_copied_out_and_read_apart(out: Path) -> None:
    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    copy = predictions_read(output=out, cap=CAP, test_rows=2)
    assert copy == out.parent / "submitted-predictions.csv"
    assert copy.read_text() == "id,label\n1,a\n2,b\n"
    assert no_readers_left()


@pytest.mark.timeout(60)  # a FIFO that blocked the open would hang here, not fail
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(out: Path) -> None:
    os.mkfifo(out / "predictions.csv")
    with pytest.raises(OutputRefused) as refused:
        predictions_read(output=out, cap=CAP, test_rows=2)
    assert str(refused.value) == (
        "/output/predictions.csv is a named pipe (FIFO), not a regular file"
    )
    assert not (out.parent / "submitted-predictions.csv").exists()


def test_a_link_a_folder_and_two_files_are_refused_by_name(out: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("id,label\n1,the-solution\n")
    (out / "predictions.csv").symlink_to(secret)
    with pytest.raises(OutputRefused, match="is a symbolic link, not a regular file"):
        predictions_read(output=out, cap=CAP, test_rows=1)
    (out / "predictions.csv").unlink()
    (out / "predictions.parquet").mkdir()
    with pytest.raises(OutputRefused, match=r"predictions.parquet is a folder, not a regular"):
        predictions_read(output=out, cap=CAP, test_rows=1)
    (out / "predictions.csv").write_text("id,label\n1,a\n")
    with pytest.raises(OutputRefused, match=r"both predictions\.csv and predictions\.parquet"):
        predictions_read(output=out, cap=CAP, test_rows=1)


def test_a_file_over_the_cap_is_refused_before_reading(out: Path) -> None:
    (out / "predictions.csv").write_bytes(b"id,label\n" + b"1,a\n" * 1000)
    with pytest.raises(OutputRefused, match="the limit is 1 KiB"):
        predictions_read(output=out, cap=1024, test_rows=1)
    assert not (out.parent / "submitted-predictions.csv").exists()


def test_a_dictionary_bomb_is_refused_with_the_readers_own_words(out: Path) -> None:
    path = out / "predictions.parquet"
    dictionary_bomb(path)
    assert path.stat().st_size < 1024 * 1024  # KB on disk, 3 GiB decoded
    with pytest.raises(SubmissionInvalid) as direct:  # bounded: refused before decoding all
        read_submission_file(str(path), max_bytes=CAP, test_rows=100)
    worker = psutil.Process()
    before = worker.memory_info().rss
    with pytest.raises(OutputRefused) as refused:
        predictions_read(output=out, cap=CAP, test_rows=100)
    assert str(refused.value) == output.INVALID + direct.value.message
    assert "unpack to more than" in str(refused.value)
    # Read in a process of its own: the caller's memory did not take the bomb.
    assert worker.memory_info().rss - before < 256 * 1024 * 1024
    assert no_readers_left()


def test_the_reader_process_has_a_memory_cap(out: Path, monkeypatch) -> None:
    rows = 200_000
    with open(out / "predictions.csv", "w") as handle:
        handle.write("id,label\n")
        handle.writelines(f"{i},label-{i % 7}\n" for i in range(rows))
    monkeypatch.setattr(output, "reader_memory_bytes", lambda **_: 1024 * 1024)
    with pytest.raises(OutputRefused, match=r"needed more than 1 MiB of memory"):
        predictions_read(output=out, cap=CAP, test_rows=rows)
    assert no_readers_left()


def test_cancel_stops_the_reader_process(out: Path) -> None:
    rows = 4_000_000  # the cancel is asked as the check starts, while this is read
    with open(out / "predictions.csv", "w") as handle:
        handle.write("id,label\n")
        handle.writelines(f"{i},label-{i % 7}\n" for i in range(rows))
    seen_alive = []

    def stop() -> bool:
        seen_alive.append(bool(readers()))
        return True

    with pytest.raises(OutputReadCancelled):
        predictions_read(output=out, cap=CAP, test_rows=rows, should_stop=stop)
    assert seen_alive == [True]
    assert no_readers_left()
    assert not (out.parent / "submitted-predictions.csv").exists()


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('{"score": 1.5, "nan": NaN}', {"score": 1.5, "nan": None}),
        ("[1, 2]", {}),  # not an object
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", {}),  # past the recursion limit
    ],
    ids=["object", "list", "nested-100000"],
)
def test_a_profile_s_result_file_is_an_object_or_nothing(tmp_path: Path, text, kept) -> None:
    """The baseline's result.json is the run's output too: a document nested past the
    interpreter's recursion limit is no object (never an internal error, retried)."""
    from algorithms.services.execute import _json_object

    out = tmp_path / "output"
    out.mkdir()
    (out / "result.json").write_text(text)
    assert _json_object(out, "result.json") == kept


def _servers() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process().children()
        if "algorithms.output_check" in " ".join(p.cmdline()) and "--serve" in p.cmdline()
    ]


def test_checks_are_forks_of_one_server_which_a_lost_server_does_not_stop(out: Path) -> None:
    """Each check is a child of the worker's fork server (no interpreter started per run);
    a server that died is started again, and the checks go on."""
    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    predictions_read(output=out, cap=CAP, test_rows=2)
    (server,) = _servers()
    predictions_read(output=out, cap=CAP, test_rows=2)
    assert [p.pid for p in _servers()] == [server.pid]
    (out / "predictions.csv").write_text("id,label\n1,a\n1,b\n")  # still the reader's words
    with pytest.raises(OutputRefused, match="not a valid submission"):
        _refused_with_solution(out)  # a duplicate id, found by the forked check
    server.kill()
    server.wait(10)
    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    predictions_read(output=out, cap=CAP, test_rows=2)
    assert no_readers_left()


def _spares(server: psutil.Process) -> list[psutil.Process]:
    """The server's children waiting in its process group: the next check's, forked ahead
    (a check is a session of its own)."""
    found = []
    for child in server.children():
        try:
            if os.getpgid(child.pid) == os.getpgid(server.pid) and child.status() != "zombie":
                found.append(child)
        except (psutil.Error, ProcessLookupError):
            continue
    return found


def test_the_next_check_s_child_is_forked_ahead_and_used(out: Path) -> None:
    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    predictions_read(output=out, cap=CAP, test_rows=2)
    (server,) = _servers()
    wait_for(lambda: len(_spares(server)) == 1, timeout=30, what="a child forked ahead")
    (spare,) = _spares(server)
    (out / "predictions.csv").write_text("id,label\n1,a\n1,b\n")
    with pytest.raises(OutputRefused, match="not a valid submission"):
        _refused_with_solution(out)  # another solution: the spare is replaced, the words kept
    wait_for(lambda: len(_spares(server)) == 1, timeout=30, what="the next child forked ahead")
    assert not psutil.pid_exists(spare.pid)
    (replaced,) = _spares(server)
    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    _refused_with_solution(out)  # the same solution: the spare is the check
    wait_for(lambda: len(_spares(server)) == 1, timeout=30, what="the next child forked ahead")
    assert not psutil.pid_exists(replaced.pid) and _spares(server)[0].pid != replaced.pid
    assert no_readers_left()


def test_a_server_whose_worker_ended_leaves_no_child_behind(tmp_path: Path) -> None:
    """The server ends at the end of its stdin (its worker gone) and takes the child it
    forked ahead with it."""
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("id,label\n1,a\n2,b\n")
    server = subprocess.Popen(
        [sys.executable, "-I", "-B", "-m", "algorithms.output_check", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=output.READER_ENVIRONMENT,
        cwd=Path(output.__file__).parents[2],
        start_new_session=True,
    )
    request = {
        "argv": [str(predictions), "--max-bytes", str(CAP), "--memory-bytes", str(CAP)],
        "report": str(tmp_path / "report.json"),
        "memory": 4 << 30,
        "cpu": 60,
    }
    server.stdin.write((json.dumps(request) + "\n").encode())
    server.stdin.flush()
    first, second = server.stdout.readline(), server.stdout.readline()
    assert json.loads(second) == {"pid": json.loads(first)["pid"], "returncode": 0}
    assert json.loads((tmp_path / "report.json").read_text())["ok"] is True
    watched = psutil.Process(server.pid)
    wait_for(lambda: len(_spares(watched)) == 1, timeout=30, what="a child forked ahead")
    (spare,) = _spares(watched)
    server.stdin.close()
    assert server.wait(30) == 0
    assert not psutil.pid_exists(spare.pid)


def test_a_check_whose_two_answers_came_together_is_read_at_once(out: Path, monkeypatch) -> None:
    """A quick check's two answers (its pid, then its end) can both be in the server's pipe
    before the worker reads the first: the second must be read then, not waited for until
    the time limit (a stage's CI run: a 75-row check "took longer than 120 s")."""
    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    predictions_read(output=out, cap=CAP, test_rows=2)  # the server, started
    real_select = select.select
    both_in_pipe = []

    def late_select(readable, *rest):
        if not both_in_pipe:  # before the first answer is read: wait for the second too
            (pipe,) = readable
            waiting = array.array("i", [0])
            wait_for(
                lambda: (
                    fcntl.ioctl(pipe.fileno(), termios.FIONREAD, waiting) == 0
                    and waiting[0] >= len(b'{"pid": 1}\n{"pid": 1, "returncode": 0}\n')
                ),
                timeout=30,
                what="both of the check's answers in the pipe",
            )
            both_in_pipe.append(waiting[0])
        return real_select(readable, *rest)

    monkeypatch.setattr(select, "select", late_select)
    predictions_read(output=out, cap=CAP, test_rows=2, seconds=20)  # raised "took longer"
    assert both_in_pipe


def _refused_with_solution(out: Path) -> None:
    solution = out.parent / "solution.parquet"
    pq.write_table(
        pa.table({"id": ["1", "2"], "label": ["a", "b"], "split": ["public", "private"]}),
        solution,
    )
    predictions_read(
        output=out,
        cap=CAP,
        test_rows=2,
        solution=output.SolutionFile(
            path=solution, kind="classification", classes=("a", "b"), test_rows=2
        ),
    )


def test_the_server_keeps_a_task_s_solution_parsed_and_never_a_replaced_one(out: Path) -> None:
    """The fork server parses a solution once for all of a task's checks; a solution file
    written again (a task's new data at the same path) is parsed again: predictions the old
    solution took are refused by the new one, in scoring's words, and the reverse."""
    solution = out.parent / "solution.parquet"

    def check() -> None:
        predictions_read(
            output=out,
            cap=CAP,
            test_rows=2,
            solution=output.SolutionFile(
                path=solution, kind="classification", classes=("a", "b"), test_rows=2
            ),
        )

    def solve(ids: list[str]) -> None:
        pq.write_table(
            pa.table({"id": ids, "label": ["a", "b"], "split": ["public", "private"]}), solution
        )

    solve(["1", "2"])
    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    check()
    check()  # the server's parsed copy
    (server,) = _servers()
    solve(["3", "4"])
    with pytest.raises(OutputRefused, match="not a valid submission"):
        check()
    (out / "predictions.csv").write_text("id,label\n3,a\n4,b\n")
    check()
    assert [p.pid for p in _servers()] == [server.pid]


def _solution_file(out: Path) -> output.SolutionFile:
    solution = out.parent / "solution.parquet"
    pq.write_table(
        pa.table({"id": ["1", "2"], "label": ["a", "b"], "split": ["public", "private"]}),
        solution,
    )
    return output.SolutionFile(
        path=solution, kind="classification", classes=("a", "b"), test_rows=2
    )


def test_the_check_hands_over_what_it_aligned_and_the_file_is_linked_not_copied(
    out: Path,
) -> None:
    """With the task's solution, the check's process writes the aligned predictions for
    the worker to score (the file is not parsed a second time), and reports the file it
    wrote; the predictions file itself is the worker's copy of /output, linked, not copied
    again."""
    from scoring.core import load_solution
    from scoring.core.handed import handed_size_limit, load_handed

    (out / "predictions.csv").write_text("id,label\n2,a\n1,b\n")  # shuffled
    solution = _solution_file(out)
    checked = output.predictions_checked(
        output=out, cap=CAP, test_rows=2, solution=solution, hand_over=True
    )
    assert os.stat(checked.file).st_ino == os.stat(out / "predictions.csv").st_ino
    handed = checked.handed
    assert handed is not None and (handed.rows, handed.format) == (2, "csv")
    info = os.stat(handed.path)
    assert handed.identity == (info.st_size, info.st_ino, info.st_mtime_ns)
    assert handed.path.parent == out.parent  # the run's folder, never the sandbox's output
    loaded = load_solution(solution.path, kind="classification", classes=["a", "b"])
    data = handed.read(limit=handed_size_limit(rows=2, classes=2))
    assert load_handed(data, loaded).pred.tolist() == [1, 0]  # in the solution's order
    assert set(checked.seconds) == {"read", "align", "hand_over"}  # the check's own timing
    # Without a solution nothing is aligned, so nothing is handed over; nor when the caller
    # does not score the run itself (a team's run is scored from its stored upload).
    assert output.predictions_checked(output=out, cap=CAP, test_rows=2).handed is None
    kept = sorted(out.parent.iterdir())
    unasked = output.predictions_checked(output=out, cap=CAP, test_rows=2, solution=solution)
    assert unasked.handed is None and sorted(out.parent.iterdir()) == kept


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ({"read": 0.5, "align": 0.25}, {"read": 0.5, "align": 0.25}),
        ({"read": "0.5", "align": None, "hand_over": True}, {}),  # not numbers
        ({"read": float("nan"), "align": -1, "hand_over": 1e300}, {}),  # not durations
        ({"evil": 1.0, "read": 2}, {"read": 2.0}),  # not a step of the check
        ([0.5], {}),
        ("0.5", {}),
    ],
)
def test_the_check_s_own_timing_is_kept_only_as_durations_of_its_steps(said, kept) -> None:
    """The report's seconds come from a process that parsed a run's file: the worker keeps
    known steps' plain durations and nothing else (they are shown, never acted on)."""
    assert output._check_seconds({"ok": True, "seconds": said}) == kept
    assert output._check_seconds({"ok": True}) == {}


def test_a_refused_file_leaves_no_hand_over_behind(out: Path) -> None:
    (out / "predictions.csv").write_text("id,label\n1,a\n1,b\n")  # a duplicate id
    with pytest.raises(OutputRefused, match="not a valid submission"):
        output.predictions_checked(
            output=out, cap=CAP, test_rows=2, solution=_solution_file(out), hand_over=True
        )
    assert sorted(p.name for p in out.parent.iterdir()) == ["output", "solution.parquet"]
    assert (out / "predictions.csv").exists()  # the run's own file is left as it was


def test_a_hand_over_the_check_cannot_write_is_left_out_and_the_check_still_passes(
    out: Path,
) -> None:
    """The hand-over saves the worker a second read; when the check's process cannot write
    it (here its file already exists: it never writes through another file), it reports
    the file valid without it, and the worker scores the file itself."""
    import json
    import subprocess

    (out / "predictions.csv").write_text("id,label\n1,a\n2,b\n")
    solution = _solution_file(out)
    taken = out.parent / "aligned.npz"
    taken.write_bytes(b"someone else's")
    command = output.reader_command(
        copy=out / "predictions.csv",
        cap=CAP,
        memory=CAP,
        test_rows=2,
        solution=solution,
        aligned=taken,
    )
    done = subprocess.run(
        command, env=output.READER_ENVIRONMENT, capture_output=True, check=True, timeout=120
    )
    report = json.loads(done.stdout)
    assert set(report.pop("seconds")) == {"read", "align", "hand_over"}  # its own timing
    assert report == {"ok": True, "format": "csv", "rows": 2}
    assert taken.read_bytes() == b"someone else's"


def test_the_server_s_kept_solution_has_its_id_keys_made(tmp_path: Path, monkeypatch) -> None:
    """Ids of no numbered shape (UUIDs): the solution the server keeps for a task's checks
    carries the table of its ids' keys, so a forked check places a shuffled file without
    making it again."""
    import uuid

    import numpy as np

    from algorithms import output_check
    from common.numbered import shape_metadata
    from scoring.core import idindex

    n = idindex.KEYS_MIN_ROWS + 10
    ids = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(n)]
    path = tmp_path / "solution.parquet"
    table = pa.table({"id": ids, "label": ["a", "b"] * (n // 2), "split": ["public"] * n})
    pq.write_table(table.replace_schema_metadata(shape_metadata(None)), path)
    made = []
    build = idindex._key_table
    monkeypatch.setattr(idindex, "_key_table", lambda *args: made.append(1) or build(*args))
    monkeypatch.setattr(output_check, "_kept_solution", [])
    solution, _ = output_check._solution(str(path), kind="classification", classes='["a", "b"]')
    assert solution.id_shape_known and solution.id_shape is None
    assert made == [1]
    order = np.random.default_rng(3).permutation(n)
    placed = idindex.permutation_by_keys(solution.ids.take(order), solution.ids)
    np.testing.assert_array_equal(placed, order)
    assert made == [1]


def test_the_server_reads_the_key_table_stored_beside_the_solution(
    tmp_path: Path, monkeypatch
) -> None:
    """The table the import stored beside the solution (``common.keyfile``) is read, not
    made again, by the server that keeps the task's solution for the checks."""
    import uuid

    import numpy as np

    from algorithms import output_check
    from common import idkeys, keyfile
    from common.numbered import shape_metadata
    from scoring.core import idindex

    n = idindex.KEYS_MIN_ROWS + 10
    ids = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(n)]
    path = tmp_path / "solution.parquet"
    table = pa.table({"id": ids, "label": ["a", "b"] * (n // 2), "split": ["public"] * n})
    pq.write_table(table.replace_schema_metadata(shape_metadata(None)), path)
    assert keyfile.write(tmp_path / "solution.keys.npy", pa.array(ids))
    builds = []
    build = idkeys.KeyTable.build.__func__
    monkeypatch.setattr(
        idkeys.KeyTable, "build", classmethod(lambda cls, k: builds.append(1) or build(cls, k))
    )
    monkeypatch.setattr(output_check, "_kept_solution", [])
    solution, _ = output_check._solution(str(path), kind="classification", classes='["a", "b"]')
    order = np.random.default_rng(3).permutation(n)
    placed = idindex.permutation_by_keys(
        solution.ids.take(order), solution.ids, stored=solution.keys_path
    )
    np.testing.assert_array_equal(placed, order)
    assert builds == []


_PROOF_DRIVER = """
import json, sys
from algorithms import output_check
from scoring.core import idpages
proofs = []
make = idpages.proof


def traced(*args):  # each piece's answer kept: True when every page of it was proven
    found = make(*args)
    if found is None:
        return None
    answers = []
    proofs.append(answers)
    calls = [lambda call=call: answers.append(call()) or answers[-1] for call in found.calls]
    return idpages.Proof(calls=calls, live_bytes=found.live_bytes)


idpages.proof = traced
output_check._keep_solution(sys.argv[1:])  # as the fork server does before a check
output_check.main(argv=sys.argv[1:])
print(json.dumps({"proven": [bool(answers) and all(answers) for answers in proofs]}))
"""


def test_a_check_proves_in_order_ids_from_the_pages_and_hands_over_the_same(
    tmp_path: Path,
) -> None:
    """A Parquet file whose ids are the test ids in order (what a method writes when it
    keeps the test file's ids) is checked without decoding its ids: the check's process
    proves them from the pages (``scoring.core.idpages``) against the solution the server
    keeps laid out, and hands over the same aligned predictions as for the same rows
    shuffled, whose ids are decoded and placed."""
    import json
    import subprocess
    import sys

    import numpy as np
    import pyarrow.compute as pc

    from scoring.core import load_solution
    from scoring.core.handed import handed_size_limit, load_handed

    n = 50_000
    ids = pa.array([f"r{i}" for i in range(n)])
    rng = np.random.default_rng(7)
    truth = pa.array(["a", "b"]).take(rng.integers(0, 2, n))
    solution = tmp_path / "solution.parquet"
    split = pa.array(["public", "private"]).take(rng.integers(0, 2, n))
    pq.write_table(pa.table({"id": ids, "label": truth, "split": split}), solution)
    guesses = pa.array(["a", "b"]).take(rng.integers(0, 2, n))
    in_order = tmp_path / "in_order.parquet"
    pq.write_table(pa.table({"id": ids, "label": guesses}), in_order)
    order = rng.permutation(n)
    shuffled = tmp_path / "shuffled.parquet"
    pq.write_table(pa.table({"id": ids, "label": guesses}).take(order), shuffled)
    loaded = load_solution(solution, kind="classification", classes=["a", "b"])
    handed = {}
    for name, path in (("in order", in_order), ("shuffled", shuffled)):
        aligned = tmp_path / f"{name}.aligned"
        argv = [str(path), "--max-bytes", str(CAP), "--test-rows", str(n)]
        argv += ["--memory-bytes", str(CAP), "--solution", str(solution)]
        argv += ["--kind", "classification", "--classes", '["a", "b"]', "--aligned", str(aligned)]
        done = subprocess.run(
            [sys.executable, "-c", _PROOF_DRIVER, *argv],
            env=output.READER_ENVIRONMENT,
            capture_output=True,
            check=True,
            timeout=120,
        )
        report, proofs = (json.loads(line) for line in done.stdout.splitlines())
        assert report["ok"] and report["rows"] == n, report
        assert proofs == {"proven": [name == "in order"]}
        data = aligned.read_bytes()
        handed[name] = load_handed(data, loaded).pred
        assert len(data) <= handed_size_limit(rows=n, classes=2)
    np.testing.assert_array_equal(handed["in order"], handed["shuffled"])
    expected = np.asarray(pc.index_in(guesses, pa.array(["a", "b"])))
    np.testing.assert_array_equal(handed["in order"], expected)
