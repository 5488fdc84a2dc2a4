#!/usr/bin/env python3
"""Kills one MPI rank of a running job and reports how the job ended.

Usage: kill_rank.py WATCH_FILE RANK -- LAUNCHER ARGS...

Starts the launcher (e.g. mpirun ... circc train ...), waits until WATCH_FILE
exists (a checkpoint: the job is mid-run), stops the process whose
environment says OMPI_COMM_WORLD_RANK=RANK (found through a marker variable
this script sets, so no other job's process is touched), SIGKILLs it and
waits for the launcher. Prints "launcher exit: N" and the launcher's
output. Exits 1 if the job ended before the kill or outlived it by 60 s.
"""
import os
import signal
import subprocess
import sys
import time
import uuid


def rank_pids(mark, rank):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if (f"CIRC_KILL_RANK_MARK={mark}".encode() in env and
                f"OMPI_COMM_WORLD_RANK={rank}".encode() in env):
            pids.append(int(entry))
    return pids


def main():
    watch, rank = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1:]
    mark = uuid.uuid4().hex
    env = dict(os.environ, CIRC_KILL_RANK_MARK=mark)
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not os.path.exists(watch):
        if job.poll() is not None or time.monotonic() > deadline:
            print(f"the job ended or stalled before {watch} appeared")
            print(job.communicate()[0].decode(errors="replace"))
            job.kill()
            return 1
        time.sleep(0.005)
    pids = rank_pids(mark, rank)
    for pid in pids:  # stop first: the job cannot finish while we look
        os.kill(pid, signal.SIGSTOP)
    if job.poll() is not None or not pids:
        print(f"the job finished before rank {rank} could be killed")
        return 1
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    try:
        output = job.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        job.kill()
        print("the job outlived the killed rank by 60 s")
        return 1
    print(f"launcher exit: {job.returncode}")
    print(output.decode(errors="replace"))
    return 0


sys.exit(main())
