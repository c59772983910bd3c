#!/usr/bin/python3
# vm/scenarios/nfs-bench-work.py - the timed part of nfs-bench.sh, run
# inside the VM. One process does all the work, so nothing is exec'd and
# no file of the host's 9p root is opened between the two clock reads of a
# measurement: only the NFS mounts, /proc and the guest's own memory.
#
#   nfs-bench-work.py time ROUNDS MIB FILES TAGGED PLAIN
#       one warm-up round per mount, then ROUNDS rounds, each the same work
#       on both mounts back to back (the order alternates); prints one line
#       per measurement: "ROUND MOUNT KIND NS" (KIND write, read, small)
#   nfs-bench-work.py count MIB FILES NAME=DIR...
#       one round per DIR after an uncounted warm-up, with nfsd's
#       tracepoints on; prints "NAME KIND CHECKS ERRORS LOST": how many
#       times NFSD decided the export's xprtsec policy, which on an export
#       with allow_tags includes the tag check (see cmd_count), during
#       KIND's measurement; fh_verify failures; trace events lost. Tracing
#       costs time: not for timing.
#
# A round on mount M, each measurement after sync, drop_caches and 0.1 s
# of idle time (settle()):
#   write: create M/f, write MIB MiB in 1 MiB writes, fsync, close
#   read:  read M/f back in 1 MiB reads
#   small: create FILES empty files in M/small, drop caches, stat them all
# then M/f and M/small are removed.
# CLOCK_MONOTONIC: under vm/run --icount it counts guest instructions.
import os
import re
import shutil
import subprocess
import sys
import time

CHUNK = 1 << 20
ZEROS = bytes(CHUNK)
RBUF = [bytearray(CHUNK)]	# read into one buffer: no allocation per read
SETTLE = 0.1	# seconds of guest idle time before each measurement


def now():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def settle():
    """Flush and drop the caches, then idle a while: work the kernel defers
    (RCU callbacks freeing evicted inodes and dentries, kworkers) runs now
    and not inside the next measurement. Under icount with sleep=off the
    guest's idle time costs no host time."""
    os.sync()
    drop_caches()
    time.sleep(SETTLE)


def clean(mnt):
    """Remove what a round leaves on mnt."""
    f = os.path.join(mnt, "f")
    if os.path.exists(f):
        os.unlink(f)
    shutil.rmtree(os.path.join(mnt, "small"), ignore_errors=True)


def no_hook(_kind, _start):
    pass


def one_round(mnt, mib, files, hook=no_hook):
    """The work on one mount: (write, read, small) in clock ns. hook(KIND,
    True) runs just before the first clock read of KIND, hook(KIND, False)
    just after the second. Each measurement starts settled, and the round
    removes its files at the end: what the previous round did, on this
    mount or the other, leaves nothing cached behind to be evicted (and
    freed) during the next measurement."""
    f = os.path.join(mnt, "f")
    small = os.path.join(mnt, "small")
    clean(mnt)

    settle()
    hook("write", True)
    a = now()
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(mib):
        os.write(fd, ZEROS)
    os.fsync(fd)
    os.close(fd)
    b = now()
    hook("write", False)
    write = b - a

    settle()
    hook("read", True)
    a = now()
    fd = os.open(f, os.O_RDONLY)
    while os.readv(fd, RBUF):
        pass
    os.close(fd)
    b = now()
    hook("read", False)
    read = b - a

    os.mkdir(small)
    settle()
    hook("small", True)
    a = now()
    for i in range(1, files + 1):
        os.close(os.open(os.path.join(small, str(i)),
                         os.O_WRONLY | os.O_CREAT, 0o644))
    drop_caches()
    for name in os.listdir(small):
        os.stat(os.path.join(small, name))
    b = now()
    hook("small", False)
    clean(mnt)
    return write, read, b - a


def cmd_time(rounds, mib, files, tagged, plain):
    mounts = {"tagged": tagged, "plain": plain}
    for m in mounts.values():	# warm-up, not counted
        one_round(m, mib, files)
    for r in range(1, rounds + 1):
        order = ("tagged", "plain") if r % 2 else ("plain", "tagged")
        for name in order:
            w, rd, s = one_round(mounts[name], mib, files)
            print(f"{r} {name} write {w}")
            print(f"{r} {name} read {rd}")
            print(f"{r} {name} small {s}")
        sys.stdout.flush()


TRACING = "/sys/kernel/tracing"
EVENTS = ("nfsd/nfsd_fh_verify", "nfsd/nfsd_fh_verify_err",
          "nfsd/nfsd_compound_status")
# fs/nfsd/nfs4proc.c: after a successful PUTFH-like op that is not the
# last of the compound, nfsd4_proc_compound() calls check_nfsd_access()
# unless the next op handles WRONGSEC itself (need_wrongsec_check()).
PUTFH_LIKE = {"OP_PUTFH", "OP_PUTPUBFH", "OP_PUTROOTFH", "OP_RESTOREFH"}
HANDLES_WRONGSEC = {"OP_LOOKUP", "OP_LOOKUPP", "OP_OPEN", "OP_SAVEFH",
                    "OP_SECINFO", "OP_SECINFO_NO_NAME"}
LINE = re.compile(r"-(\d+)\s+\[\d+\][^:]*: (\w+): (.*)$")
STATUS = re.compile(r"op=(\d+)/(\d+) (\S+) status=(-?\d+)")


def tracefs(name, value):
    with open(os.path.join(TRACING, name), "w") as f:
        f.write(value)


def checks_in_trace(text):
    """(checks, fh_verify errors, lost events) in a trace of EVENTS."""
    verify = errors = putfh = 0
    pending = {}	# pid: index of its last PUTFH-like op that may need a check
    lost = 0
    for line in text.splitlines():
        if line.startswith("#"):
            m = re.search(r"entries-in-buffer/entries-written: (\d+)/(\d+)", line)
            if m:
                lost = int(m.group(2)) - int(m.group(1))
            continue
        m = LINE.search(line)
        if not m:
            continue
        pid, event, rest = m.groups()
        if event == "nfsd_fh_verify":
            verify += 1
        elif event == "nfsd_fh_verify_err":
            errors += 1
        elif event == "nfsd_compound_status":
            st = STATUS.search(rest)
            if not st:
                continue
            i, n, op, status = int(st[1]), int(st[2]), st[3], int(st[4])
            # The thread's previous op was PUTFH-like and this is the
            # next op of the same compound
            if pending.pop(pid, None) == i - 1 and op not in HANDLES_WRONGSEC:
                putfh += 1
            if op in PUTFH_LIKE and status == 0 and i < n:
                pending[pid] = i
    return verify + putfh, errors, lost


def cmd_count(mib, files, dirs):
    """One round per NAME=DIR with the nfsd events traced: how many times
    the export's xprtsec policy (and with allow_tags, the tag check) was
    decided. Each __fh_verify() on an NFSv4 request decides it once
    (nfsd_fh_verify; nfsd_fh_verify_err reports those that failed,
    possibly before the decision), and check_nfsd_access() once more after
    the PUTFH-like ops need_wrongsec_check() picks. No submounts below
    the exports: the lookup and readdir mount-crossing calls do not run."""
    if not os.path.isdir(os.path.join(TRACING, "events")):
        subprocess.run(["mount", "-t", "tracefs", "tracefs", TRACING],
                       check=False)
    tracefs("tracing_on", "0")
    tracefs("buffer_size_kb", "16384")
    for e in EVENTS:
        tracefs(os.path.join("events", e, "enable"), "1")
    counts = {}

    def hook(kind, start):
        if start:
            tracefs("trace", "")
            tracefs("tracing_on", "1")
            return
        tracefs("tracing_on", "0")
        with open(os.path.join(TRACING, "trace")) as f:
            counts[kind] = checks_in_trace(f.read())

    for arg in dirs:
        name, _, d = arg.partition("=")
        one_round(d, mib, files)	# warm-up, as in cmd_time
        one_round(d, mib, files, hook)
        for kind in ("write", "read", "small"):
            n, err, lost = counts[kind]
            print(f"{name} {kind} {n} {err} {lost}")
    for e in EVENTS:
        tracefs(os.path.join("events", e, "enable"), "0")
    tracefs("trace", "")


def main(argv):
    if len(argv) == 7 and argv[1] == "time":
        cmd_time(int(argv[2]), int(argv[3]), int(argv[4]), argv[5], argv[6])
    elif len(argv) >= 5 and argv[1] == "count":
        cmd_count(int(argv[2]), int(argv[3]), argv[4:])
    else:
        sys.exit("usage: nfs-bench-work.py time ROUNDS MIB FILES TAGGED PLAIN\n"
                 "       nfs-bench-work.py count MIB FILES NAME=DIR...")


if __name__ == "__main__":
    main(sys.argv)
