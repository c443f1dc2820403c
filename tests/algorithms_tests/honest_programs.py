"""Honest programs, as an algorithm may be written: what the platform's runtime offers
(docs/architecture.md §9: Python with numpy, pandas, pyarrow, scikit-learn, LightGBM, CatBoost,
XGBoost, rapidfuzz, Pillow) used the ordinary ways.

They are the sandbox's seccomp allow-list's witnesses (``algorithms/sandbox/seccomp.py``):
``tests/algorithms_tests/test_seccomp_allowlist.py`` runs each in the real sandbox under the
allow-list, and ``scripts/seccomp_trace.py`` traces them (with the AutoGluon baseline's runs)
to derive the list. Each prints ``<NAME> OK`` at its end; a step that fails prints why.
"""

from __future__ import annotations

# The standard library as programs use it: files and folders (a named pipe too), processes
# (fork, spawn, forkserver), threads, pipes and Unix sockets, select/poll/epoll and asyncio,
# memory maps, shared memory, signals and timers, compression, sqlite, time zones, randomness.
STDLIB = r"""
import asyncio, bz2, concurrent.futures, ctypes, datetime, faulthandler, fcntl, gzip, hashlib
import json, locale, logging, lzma, mmap, multiprocessing, os, platform, queue, random
import resource, select, shutil, signal, socket, sqlite3, subprocess, sys, tempfile
import threading, time, zipfile, zoneinfo
from multiprocessing import shared_memory

def square(x):
    return x * x

def files():
    root = tempfile.mkdtemp(dir="/tmp")
    path = os.path.join(root, "a.txt")
    with open(path, "w") as handle:
        handle.write("hello\n" * 1000)
        handle.flush()
        os.fsync(handle.fileno())
        os.fdatasync(handle.fileno())
    with open(path, "rb") as handle:
        handle.seek(10)
        handle.read(100)
        fcntl.flock(handle, fcntl.LOCK_EX)
        fcntl.flock(handle, fcntl.LOCK_UN)
        fcntl.fcntl(handle, fcntl.F_GETFL)
    os.stat(path); os.lstat(path); os.access(path, os.R_OK); os.path.exists(path)
    os.chmod(path, 0o600); os.utime(path); os.truncate(path, 100)
    os.symlink(path, path + ".link"); os.readlink(path + ".link")
    os.mkfifo(os.path.join(root, "fifo")); os.remove(os.path.join(root, "fifo"))
    os.link(path, path + ".hard")
    os.rename(path + ".hard", path + ".moved"); os.replace(path + ".moved", path + ".b")
    os.makedirs(os.path.join(root, "x", "y"), exist_ok=True)
    shutil.copy2(path, os.path.join(root, "x", "y", "c.txt"))
    shutil.copytree(os.path.join(root, "x"), os.path.join(root, "z"))
    list(os.walk(root)); list(os.scandir(root)); os.listdir(root)
    shutil.move(os.path.join(root, "z"), os.path.join(root, "w"))
    shutil.disk_usage(root)
    with tempfile.NamedTemporaryFile(dir=root) as handle:
        handle.write(b"x" * 4096)
    with tempfile.TemporaryDirectory() as folder:
        open(os.path.join(folder, "f"), "w").close()
    with zipfile.ZipFile(os.path.join(root, "a.zip"), "w") as archive:
        archive.write(path, "a.txt")
    with open(path, "r+b") as handle:
        view = mmap.mmap(handle.fileno(), 0)
        view[:5] = b"HELLO"
        view.flush()
        view.close()
    anonymous = mmap.mmap(-1, 1 << 20)
    anonymous.close()
    for name, opener in (("g", gzip.open), ("b", bz2.open), ("l", lzma.open)):
        with opener(os.path.join(root, name), "wb") as handle:
            handle.write(b"abc" * 1000)
        with opener(os.path.join(root, name), "rb") as handle:
            handle.read()
    database = sqlite3.connect(os.path.join(root, "db.sqlite3"))
    database.execute("create table t (x)"); database.execute("insert into t values (1)")
    database.commit(); database.close()
    sqlite3.connect(":memory:").execute("select 1").fetchall()
    descriptor = os.open(path, os.O_RDONLY)
    os.dup2(os.dup(descriptor), 50); os.close(50); os.close(descriptor)
    os.remove(path + ".link"); os.unlink(path + ".b")
    shutil.rmtree(root)

def processes():
    print("SUBPROCESS", subprocess.run(["/bin/true"]).returncode,
          subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True).stdout)
    shell = subprocess.run("echo hi | cat", shell=True, capture_output=True, text=True)
    assert shell.stdout == "hi\n", shell
    for method in ("fork", "spawn", "forkserver"):
        context = multiprocessing.get_context(method)
        with context.Pool(2) as pool:
            assert pool.map(square, range(10)) == [x * x for x in range(10)]
        channel = context.Queue()
        child = context.Process(target=channel.put, args=(method,))
        child.start(); child.join()
        assert channel.get(timeout=30) == method
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        assert list(pool.map(square, range(5))) == [0, 1, 4, 9, 16]
    with multiprocessing.Manager() as manager:
        shared = manager.dict(); shared["a"] = 1
    block = shared_memory.SharedMemory(create=True, size=4096)
    block.buf[:3] = b"abc"; block.close(); block.unlink()
    os.getpid(); os.getppid(); os.getuid(); os.getgid(); os.geteuid(); os.getgroups()
    os.getpgrp(); os.getsid(0); os.nice(0); os.times(); os.cpu_count()
    os.sched_getaffinity(0); os.sched_yield()
    resource.getrusage(resource.RUSAGE_SELF); resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

def threads():
    lock, condition, event = threading.Lock(), threading.Condition(), threading.Event()
    results = queue.Queue()
    def work(i):
        with lock:
            results.put(i)
        with condition:
            condition.notify_all()
        event.wait(0.01)
    workers = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for worker in workers: worker.start()
    for worker in workers: worker.join()
    assert results.qsize() == 8
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(square, range(10))) == 285
    timer = threading.Timer(0.01, lambda: None); timer.start(); timer.join()

def io_waits():
    left, right = socket.socketpair(socket.AF_UNIX)
    left.sendall(b"ping"); assert right.recv(4) == b"ping"
    select.select([right], [], [], 0)
    poller = select.poll(); poller.register(right, select.POLLIN); poller.poll(0)
    epoll = select.epoll(); epoll.register(right.fileno(), select.EPOLLIN); epoll.poll(0)
    epoll.close(); left.close(); right.close()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("/tmp/honest.sock"); server.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect("/tmp/honest.sock"); accepted, _ = server.accept()
    client.sendall(b"x"); assert accepted.recv(1) == b"x"
    for s in (client, accepted, server): s.close()
    os.unlink("/tmp/honest.sock")
    reader, writer = os.pipe(); os.write(writer, b"p"); os.read(reader, 1)
    os.set_blocking(reader, False); os.close(reader); os.close(writer)
    async def main():
        await asyncio.sleep(0.01)
        process = await asyncio.create_subprocess_exec("/bin/true")
        await process.wait()
        return await asyncio.get_running_loop().run_in_executor(None, square, 3)
    assert asyncio.run(main()) == 9

def signals_and_time():
    signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 0.01); time.sleep(0.05)
    signal.alarm(0); signal.pthread_sigmask(signal.SIG_BLOCK, [])
    signal.signal(signal.SIGUSR1, lambda *_: None); os.kill(os.getpid(), signal.SIGUSR1)
    faulthandler.dump_traceback_later(60); faulthandler.cancel_dump_traceback_later()
    time.time(); time.monotonic(); time.perf_counter(); time.process_time()
    time.thread_time(); time.clock_gettime(time.CLOCK_MONOTONIC_RAW); time.localtime()
    datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris"))

def the_rest():
    os.urandom(32); random.SystemRandom().random(); hashlib.sha256(b"x").hexdigest()
    platform.uname(); platform.platform(); os.uname(); locale.getlocale()
    json.dumps({"a": 1}); logging.getLogger("x").warning("a log line")
    libc = ctypes.CDLL(None); libc.getpid()
    sys.stdout.flush(); os.getcwd(); os.chdir("/tmp"); os.umask(0o22)
    os.environ.get("TASK_DIR"); os.listdir("/task")

if __name__ == "__main__":  # spawn and forkserver children import this file again
    files()
    processes()
    threads()
    io_waits()
    signals_and_time()
    the_rest()
    print("STDLIB OK", flush=True)
"""

# The data and learning libraries of the runtime, each the ordinary way (their own thread
# pools, OpenMP, joblib's process workers).
LIBRARIES = r"""
import io, os
import numpy as np
import pandas as pd
import pyarrow as pa, pyarrow.compute as pc, pyarrow.csv as pacsv, pyarrow.dataset as ds
import pyarrow.parquet as pq
from PIL import Image
from rapidfuzz import fuzz, process

rng = np.random.default_rng(0)
x = rng.normal(size=(600, 8))
y = (x[:, 0] + x[:, 1] > 0).astype(int)
np.linalg.svd(x @ x.T); np.linalg.inv(x.T @ x); np.fft.fft(x[:, 0])

frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(8)])
frame["label"] = y
frame["text"] = ["alpha beta", "gamma delta"] * 300
frame.to_parquet("/tmp/frame.parquet"); frame.to_csv("/tmp/frame.csv", index=False)
pd.read_parquet("/tmp/frame.parquet"); pd.read_csv("/tmp/frame.csv")
pd.read_csv("/tmp/frame.csv", engine="pyarrow")
frame.groupby("label")[["f0", "f1"]].agg(["mean", "std"]); frame.describe()
table = pa.Table.from_pandas(frame)
pc.sum(table["f0"]); pc.utf8_lower(table["text"])
pq.write_table(table, "/tmp/t.parquet", row_group_size=100)
pq.ParquetFile("/tmp/t.parquet").iter_batches(batch_size=50).__next__()
ds.dataset("/tmp/t.parquet").to_table(filter=pc.field("label") == 1)
with pa.memory_map("/tmp/t.parquet") as source:
    pq.read_table(source)
pacsv.read_csv("/tmp/frame.csv")
sink = pa.BufferOutputStream()
with pa.ipc.new_file(sink, table.schema) as writer:
    writer.write_table(table)

import scipy.sparse, scipy.stats
scipy.stats.ttest_ind(x[:, 0], x[:, 1]); scipy.sparse.csr_matrix(x).sum()
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
forest = RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0).fit(x, y)
cross_val_score(LogisticRegression(), x, y, cv=3, n_jobs=2)
TfidfVectorizer().fit_transform(frame["text"])

import lightgbm
lightgbm.LGBMClassifier(n_estimators=20, n_jobs=2, verbose=-1).fit(x, y).predict_proba(x)
import xgboost
xgboost.XGBClassifier(n_estimators=20, n_jobs=2).fit(x, y).predict_proba(x)
import catboost
catboost.CatBoostClassifier(iterations=20, thread_count=2, verbose=False, train_dir="/tmp/cb").fit(
    frame[["f0", "f1", "text"]], y, text_features=["text"]
).predict_proba(frame[["f0", "f1", "text"]])

image = Image.fromarray((rng.random((32, 32, 3)) * 255).astype("uint8"))
buffer = io.BytesIO(); image.save(buffer, format="PNG")
Image.open(io.BytesIO(buffer.getvalue())).convert("L").resize((8, 8))
fuzz.ratio("platform", "plat form"); process.extractOne("alpha", ["alpah", "beta"])

pd.DataFrame({"id": range(3), "label": [0, 1, 0]}).to_csv("/output/predictions.csv", index=False)
print("LIBRARIES OK", flush=True)
"""
