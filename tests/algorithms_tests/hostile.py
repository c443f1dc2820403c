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
ports = [int(p) for p in open("/code/ports.txt").read().split()]
for port in ports:
    s = socket.socket()
    s.settimeout(2)
    code = s.connect_ex(("127.0.0.1", port))
    print("PORT", port, errno.errorcode.get(code, code))
names = [name for _, name in socket.if_nameindex()]
print("INTERFACES", names)
# Only with no interface but loopback (no route anywhere): connect() fails at once, unsent.
if names == ["lo"]:
    s = socket.socket()
    s.settimeout(2)
    print("OUTSIDE", errno.errorcode.get(s.connect_ex(("10.255.255.1", 80))))
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
