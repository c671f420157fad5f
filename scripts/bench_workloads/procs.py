"""Child processes: started inside a pod's cgroup (or outside the budget), each in its own process
group, all remembered so that cleanup (normal end, error or Ctrl-C) stops every one of them."""
import os
import shlex
import signal
import subprocess
import time

_started = []


def start(argv, cgroup=None, stdout=None, stderr=None, cwd=None):
    """Starts argv; with `cgroup`, the process joins it before exec (a shell writes its own pid to
    cgroup.procs, then execs), so the server and everything it forks are charged to the pod."""
    if cgroup is not None:
        joins = " && ".join(f"echo $$ > {shlex.quote(path)}" for path in cgroup.procs_files())
        argv = ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh"] + list(argv)
    process = subprocess.Popen(argv, stdout=stdout or subprocess.DEVNULL, stderr=stderr or subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
    _started.append(process)
    return process


def stop(process, grace=3.0, sig=signal.SIGTERM):
    """Signals the process's group (its own session: only what it started), waits, then kills."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
    # The group may outlive its leader (nginx workers): make sure nothing of it is left.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process in _started:
        _started.remove(process)


def stop_all():
    for process in list(_started):
        stop(process, grace=1.0)


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
