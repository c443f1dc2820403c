"""Hostile algorithms: each tries one way out of the sandbox and reports what it got.

Every script writes what it found to stdout (kept in the run's log tail) and, when it can,
to ``/output/predictions.csv``, so a test sees anything that leaked.
"""

from __future__ import annotations

ENV_SNOOP = """
import os
found = [f"{k}={v}" for k, v in os.environ.items()]
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            found.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError as exc:
            found.append(f"{pid}: {exc}")
print("\\n".join(found))
open("/output/predictions.csv", "w").write("id,label\\n" + "\\n".join(found))
"""

FILE_WALK = """
import os
hits = []
for top in os.listdir("/"):
    if top in ("proc", "sys"):
        continue
    for root, dirs, files in os.walk("/" + top):
        for name in files:
            if name in ("solution.parquet", "solution.csv") or name.endswith(".sqlite3"):
                path = os.path.join(root, name)
                try:
                    hits.append(path + " " + open(path, "rb").read(200).decode(errors="replace"))
                except OSError as exc:
                    hits.append(path + f" unreadable {exc}")
print("ROOT", sorted(os.listdir("/")))
print("HITS", hits)
"""

NETWORK = """
import errno, os, socket

def attempt(host, port):
    try:  # the seccomp allow-list refuses every address family but AF_UNIX (issue 51)
        s = socket.socket()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, exc.errno)
    s.settimeout(2)
    code = s.connect_ex((host, port))
    return errno.errorcode.get(code, code)

ports = [int(p) for p in open("/code/ports.txt").read().split()]
for port in ports:
    print("PORT", port, attempt("127.0.0.1", port))
# The network namespace, read without a socket: only a loopback of its own.
names = sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:])
print("INTERFACES", names)
print("OUTSIDE", attempt("10.255.255.1", 80))
"""

WRITE_OUTSIDE = """
import os, sys
targets = ["/evil", "/dev/evil", "/code/evil", "/task/evil", "/usr/evil",
           os.path.join(sys.prefix, "evil"), os.path.join(sys.base_prefix, "evil"),
           "/task/train.parquet"]
for path in targets:
    try:
        with open(path, "ab") as handle:
            handle.write(b"pwned")
        print("WROTE", path)
    except OSError as exc:
        print("REFUSED", path, exc.strerror)
try:
    with open("/dev/shm/fill", "wb") as handle:
        while True:
            handle.write(b"x" * 1_000_000)
except OSError as exc:
    print("SHM_CAPPED", exc.strerror)
open("/tmp/fine", "w").write("ok")
open("/output/fine", "w").write("ok")
print("TMP_AND_OUTPUT_OK")
"""

FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""

MEMORY_BOMB = """
hoard = []
while True:
    hoard.append(bytearray(64 * 1024 * 1024))
"""

FILL_DISK = """
i = 0
while True:
    with open(f"/output/fill{i}", "wb") as handle:
        handle.write(b"x" * 8_000_000)
    i += 1
"""

ENDLESS_LOOP = """
while True:
    pass
"""

SLEEPER = """
import time
time.sleep(3600)
"""

STDOUT_FLOOD = """
import sys
line = "y" * 1023 + "\\n"
for _ in range(100 * 1024):  # 100 MB
    sys.stdout.write(line)
"""

# fallocate(FALLOC_FL_KEEP_SIZE) reserves blocks that no file size shows. Up to 3 GiB in
# each writable place, 30 MiB per file (each file within the per-file size rlimit); reports
# what it got and why it stopped, then exits 0.
FALLOCATE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
for folder in ("/output", "/tmp", "/dev/shm"):
    reserved, reason = 0, "all reserved"
    for i in range(100):
        fd = os.open(f"{folder}/reserved{i}", os.O_CREAT | os.O_WRONLY, 0o644)
        failed = libc.fallocate(fd, 1, 0, 30 << 20)  # 1 = FALLOC_FL_KEEP_SIZE
        reserved += os.fstat(fd).st_blocks * 512
        os.close(fd)
        if failed:
            reason = os.strerror(ctypes.get_errno())
            break
    print("FALLOCATE", folder, reason, reserved >> 20, "MiB", flush=True)
if __import__("platform").machine() == "x86_64":  # the x32 ABI's number for fallocate
    fd = os.open("/output/x32", os.O_CREAT | os.O_WRONLY, 0o644)
    failed = libc.syscall(0x40000000 | 285, fd, 1, ctypes.c_long(0), ctypes.c_long(30 << 20))
    print("X32", os.strerror(ctypes.get_errno()) if failed else "reserved", flush=True)
"""

# Files whose sizes say 39 MiB each, 3.9 GB in all, and which hold no block: copying them
# out naively would write gigabytes of zeros to the host's disk.
SPARSE_OUTPUT = """
for i in range(100):
    with open(f"/output/sparse{i}", "wb") as handle:
        handle.truncate(39 << 20)
print("SPARSE", flush=True)
"""

# The memory limit is per run, not per process: three children of 150 MB each, then
# 150 MB in /tmp and 150 MB in /dev/shm. No single process comes near a 700 MiB limit.
TREE_MEMORY = """
import os, time
def hold(mb):
    block = bytearray(mb << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block
ready, told = os.pipe()
for _ in range(3):
    if os.fork() == 0:
        kept = hold(150)
        print("CHILD HOLDS 150 MB", flush=True)
        os.write(told, b"x")
        time.sleep(3600)
        os._exit(0)
for _ in range(3):
    os.read(ready, 1)
for path in ("/tmp/fill", "/dev/shm/fill"):
    with open(path, "wb") as handle:
        for _ in range(150):
            handle.write(b"x" * (1 << 20))
    print("FILLED", path, flush=True)
time.sleep(3600)
"""

# The sandbox's init, if it has one, is the algorithm's to attack (same uid, no Yama):
# a helper stops or kills every process of the sandbox that is neither itself nor the
# program, then stays. The program does its work (``work``: code writing the predictions)
# and exits with ``exit_code``. Fill both with str.format.
INIT_ATTACK = """
import ctypes, os, signal, sys, time
EXIT_CODE = {exit_code}
main = os.getpid()
if os.fork() == 0:
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    me = os.getpid()
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        if pid in (me, main):
            continue
        print("ATTACK", pid, libc.ptrace(16, pid, None, None), flush=True)  # PTRACE_ATTACH
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except OSError as exc:
                print("REFUSED", pid, sig, exc, flush=True)
    print("HELPER STAYS", flush=True)
    time.sleep(3600)
    os._exit(0)
time.sleep(1)
{work}
print("PROGRAM PID", main, "EXITS", EXIT_CODE, flush=True)
sys.exit(EXIT_CODE)
"""

# /output/predictions.csv as a named pipe: a reader that opens it blocks until a writer
# comes, and none ever will. A helper first waits on the other end while the run lasts.
FIFO_OUTPUT = """
import os
os.mkfifo("/output/predictions.csv")
print("FIFO MADE", flush=True)
"""

FIFO_BLOCKS = """
import os
os.mkfifo("/output/predictions.csv")
print("WAITING FOR A READER", flush=True)
with open("/output/predictions.csv", "w") as pipe:  # blocks: nobody reads
    pipe.write("id,label\\n")
"""

WRITE_HEADER_ONLY = 'open("/output/predictions.csv", "w").write("id,label\\n")'

# A few KB of Parquet whose id column decodes to 3 GiB: one 1 MiB string in the dictionary
# page, 3,072 rows pointing at it.
DICTIONARY_BOMB = """
import pyarrow as pa, pyarrow.parquet as pq
rows = 3072
ids = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * (1 << 20)]))
table = pa.table({"id": ids, "label": pa.array(["a"] * rows)})
pq.write_table(table, "/output/predictions.parquet", compression="zstd")
print("BOMB", __import__("os").path.getsize("/output/predictions.parquet"), flush=True)
"""
