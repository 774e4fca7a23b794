"""Beyond one process: executors for the grid and for teacher extraction, run-folder locks, shards.

Three ways to run many independent jobs (``--executor``):

* ``sequential`` (the default): one after the other in this process, as ``grid`` always did;
* ``local``: ``--jobs N`` at a time as separate processes on this machine, through the standard
  library's :class:`concurrent.futures.ProcessPoolExecutor` (each worker with its own torch
  thread count);
* ``slurm``: one SLURM job per item, submitted as one job array through submitit (the optional
  extra ``linkpaper[cluster]``). ``--submitit-cluster local`` sends the very same submission
  to submitit's ``LocalExecutor`` instead (every job a subprocess here), which is how the tests
  exercise this path without a cluster.

Two jobs must never write the same run folder: :func:`run_lock` takes an exclusive ``flock``
on ``<run>/.lock`` for as long as a job trains there. The kernel drops the lock when the holder
dies, however it dies, so a crashed job leaves a folder that the next call simply resumes (no
stale lock to clean up); the file itself is never deleted, which keeps the lock race-free.

Extraction splits its clips with :func:`in_shard`: a clip belongs to shard ``I`` of ``N`` when
a hash of its id is ``I`` modulo ``N``. The rule depends on nothing but the id, so N jobs that
list the input folders independently still cover every clip exactly once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from linkpaper.errors import ConfigError, UserError

EXECUTORS = ("sequential", "local", "slurm")
SUBMITIT_CLUSTERS = ("slurm", "local")
LOCK_FILE = ".lock"
QUEUED_STATES = {
    "PENDING",
    "RUNNING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "CONFIGURING",
    "COMPLETING",
    "RESIZING",
    "SUSPENDED",
}  # squeue's states of a job that will still run or is running
INSTALL_HINT = "pip install 'linkpaper[cluster]' (in a checkout: pip install -e '.[cluster]')"


# --------------------------------------------------------------------------------------------
# Executor options
# --------------------------------------------------------------------------------------------


@dataclass
class ExecutorOptions:
    """How to run a batch of jobs; see the module docstring. Defaults are sized for one GPU job
    of the grid (a 60-epoch LLP run) or one extraction shard."""

    kind: str = "sequential"
    jobs: int | None = None  # local: processes at a time (default 1)
    submitit_cluster: str = "slurm"  # slurm: where submitit sends the array (local: for trying it)
    partition: str | None = None
    gpus_per_job: int = 0
    cpus_per_job: int = 4
    mem_gb: float = 16.0
    time_min: int = 240
    array_parallelism: int | None = None  # at most this many array jobs at once (None: all)
    sbatch: dict = field(default_factory=dict)  # extra #SBATCH flags, e.g. {"account": "abc"}
    setup: list = field(default_factory=list)  # shell lines run before each job (module load ...)
    wait: bool = True
    name: str = "linkpaper"

    def validate(self) -> ExecutorOptions:
        """Raise ConfigError naming the flag for any value that cannot work."""
        if self.kind not in EXECUTORS:
            raise ConfigError(f"--executor: unknown {self.kind!r}; choose one of {', '.join(EXECUTORS)}")
        if self.submitit_cluster not in SUBMITIT_CLUSTERS:
            raise ConfigError(f"--submitit-cluster: unknown {self.submitit_cluster!r}; choose slurm or local")
        for flag, value in (("--jobs", self.jobs), ("--array-parallelism", self.array_parallelism)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{flag}: expected a positive integer, got {value!r}")
        if self.jobs is not None:
            from linkpaper.limits import check_int, max_jobs

            check_int(self.jobs, 1, max_jobs(), "--jobs")
        if self.jobs is not None and self.kind != "local":
            raise ConfigError(
                f"--jobs {self.jobs} needs --executor local (with --executor slurm, "
                "--array-parallelism limits how many jobs run at once)"
            )
        for flag, value in (("--cpus-per-job", self.cpus_per_job), ("--time", self.time_min)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{flag}: expected a positive integer, got {value!r}")
        if isinstance(self.gpus_per_job, bool) or not isinstance(self.gpus_per_job, int) or self.gpus_per_job < 0:
            raise ConfigError(f"--gpus-per-job: expected an integer >= 0, got {self.gpus_per_job!r}")
        if not self.mem_gb > 0:
            raise ConfigError(f"--mem-gb: expected a positive number, got {self.mem_gb!r}")
        if not self.wait and self.kind != "slurm":
            raise ConfigError("--no-wait needs --executor slurm (local and sequential runs end with the command)")
        return self


def add_executor_arguments(parser, unit: str) -> None:
    """The ``--executor`` options shared by ``grid`` (unit "run") and ``extract`` (unit "shard")."""
    group = parser.add_argument_group("running in parallel / on a SLURM cluster (see README, 'Running on a cluster')")
    group.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="sequential",
        help=f"sequential (default): every {unit} in this process; local: --jobs N processes "
        f"at a time on this machine; slurm: one SLURM job per {unit}, as a job array "
        "through submitit (pip install 'linkpaper[cluster]')",
    )
    if unit == "run":
        group.add_argument(
            "--jobs",
            type=int,
            default=None,
            metavar="N",
            help="--executor local: runs at a time (default 1); each gets --threads torch "
            "threads (default: the CPUs here divided by N)",
        )
    group.add_argument("--partition", default=None, help="slurm: partition (default: the cluster's)")
    group.add_argument(
        "--gpus-per-job",
        type=int,
        default=None,
        metavar="N",
        help="slurm: GPUs per job (default 1 with --device cuda, else 0)",
    )
    group.add_argument(
        "--cpus-per-job", type=int, default=4, metavar="N", help="slurm: CPUs per job (default %(default)s)"
    )
    group.add_argument(
        "--mem-gb", type=float, default=16.0, metavar="GB", help="slurm: memory per job (default %(default)s)"
    )
    group.add_argument(
        "--time",
        type=int,
        default=240,
        metavar="MIN",
        help="slurm: time limit per job in minutes (default %(default)s); a job that hits it is requeued and resumes",
    )
    group.add_argument(
        "--array-parallelism",
        type=int,
        default=None,
        metavar="N",
        help="slurm: at most N jobs of the array at once (default: all)",
    )
    group.add_argument(
        "--sbatch",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="slurm: any other sbatch flag, e.g. account=abc, qos=high, constraint=a100 (repeatable)",
    )
    group.add_argument(
        "--setup",
        action="append",
        default=[],
        metavar="LINE",
        help="slurm: a shell line run before each job, e.g. 'module load cuda' (repeatable)",
    )
    group.add_argument(
        "--no-wait",
        action="store_true",
        help="slurm: submit and return at once; the same command later collects the results",
    )
    group.add_argument(
        "--submitit-cluster",
        choices=SUBMITIT_CLUSTERS,
        default="slurm",
        help="slurm: where submitit sends the array; 'local' runs the same submission through "
        "submitit's LocalExecutor on this machine (every job a subprocess), to try the "
        "cluster path without a cluster",
    )


def options_from_args(args, device: str = "cpu") -> ExecutorOptions:
    """ExecutorOptions from the flags of :func:`add_executor_arguments`, validated."""
    sbatch = {}
    for item in args.sbatch:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--sbatch {item!r}: expected KEY=VALUE, e.g. account=abc")
        sbatch[key.strip().lstrip("-")] = value
    gpus = args.gpus_per_job
    if gpus is None:
        gpus = 1 if str(device).startswith("cuda") else 0
    return ExecutorOptions(
        kind=args.executor,
        jobs=getattr(args, "jobs", None),
        submitit_cluster=args.submitit_cluster,
        partition=args.partition,
        gpus_per_job=gpus,
        cpus_per_job=args.cpus_per_job,
        mem_gb=args.mem_gb,
        time_min=args.time,
        array_parallelism=args.array_parallelism,
        sbatch=sbatch,
        setup=list(args.setup),
        wait=not args.no_wait,
    ).validate()


# --------------------------------------------------------------------------------------------
# Local workers die with their parent
# --------------------------------------------------------------------------------------------

PARENT_POLL_S = 0.5
"""How often a local worker checks that the process that started it is still alive."""


def die_with_parent(parent_pid: int) -> None:
    """Make this process (a ``--executor local`` worker) end when ``parent_pid`` ends, however it
    ends (SIGKILL included): on Linux the kernel sends SIGTERM at the parent's death
    (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread polls the parent id and exits this
    process when it changes. A worker never trains on, orphaned, after its grid is gone.

    Used as the ``initializer`` of the grid's ProcessPoolExecutor (``initargs=(os.getpid(),)``).
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog below still works
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="linkpaper-parent-watch", daemon=True).start()


def stop_workers(pool) -> None:
    """Stop a ProcessPoolExecutor now: cancel what is queued and terminate the running workers
    (their runs resume from the last checkpoint next time), instead of waiting for them."""
    processes = list(getattr(pool, "_processes", {}).values())  # the pool keeps no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()


def available_cpus() -> int:
    """CPUs this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def require_submitit(flag: str = "--executor slurm"):
    """The submitit module, or a UserError saying how to install it."""
    try:
        import submitit
    except ImportError:
        raise UserError(f"{flag} needs submitit, which is not installed here; {INSTALL_HINT}") from None
    return submitit


def make_submitit_executor(options: ExecutorOptions, folder: str | Path):
    """A submitit executor for ``options`` whose logs and pickles go to ``folder/%j``.

    ``submitit_cluster="slurm"`` gives sbatch job arrays; ``"local"`` the same calls through
    submitit's LocalExecutor. SLURM-only settings (partition, array parallelism, sbatch flags,
    setup lines) are ignored by the local one.
    """
    submitit = require_submitit()
    try:
        executor = submitit.AutoExecutor(folder=str(Path(folder) / "%j"), cluster=options.submitit_cluster)
    except RuntimeError as err:  # no srun here
        raise UserError(
            f"--executor slurm: {err} Run this on a machine that can submit SLURM jobs (a login "
            "node), or try the same path here with --submitit-cluster local"
        ) from None
    params = {
        "name": options.name,
        "timeout_min": options.time_min,
        "mem_gb": options.mem_gb,
        "cpus_per_task": options.cpus_per_job,
        "gpus_per_node": options.gpus_per_job,
        "tasks_per_node": 1,
        "nodes": 1,
    }
    if options.submitit_cluster == "slurm":
        if options.partition:
            params["slurm_partition"] = options.partition
        if options.array_parallelism:
            params["slurm_array_parallelism"] = options.array_parallelism
        if options.sbatch:
            params["slurm_additional_parameters"] = dict(options.sbatch)
        if options.setup:
            params["slurm_setup"] = list(options.setup)
    executor.update_parameters(**params)
    return executor


def failure_text(err: BaseException, job) -> str:
    """A short message for a job that raised: the exception line of its traceback and its log."""
    text = str(err)
    if "----------------------" in text:  # submitit's FailedJobError: the job's traceback between rules
        text = text.split("----------------------")[1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f"{lines[-1].strip() if lines else type(err).__name__} (log: {job_log(job)})"


def job_log(job) -> str:
    """Where a submitit job's stdout/stderr are, for messages."""
    try:
        return str(job.paths.stderr)
    except Exception:
        return "its submitit folder"


def wait_for_jobs(jobs: list, desc: str, progress: bool = True, poll_s: float | None = None):
    """Yield the submitit ``jobs`` as they end, with a bar; read each with :func:`job_result`.

    A job has ended when submitit says so (its result file, or ``sacct``) or, on SLURM, when
    ``squeue`` has not listed it for two polls in a row: without accounting ``sacct`` knows
    nothing, and a job cancelled or killed before writing its result would be waited for forever.
    """
    require_submitit()
    from tqdm.auto import tqdm

    local = all(type(j).__name__ == "LocalJob" for j in jobs)
    if poll_s is None:  # a poll stats result files; submitit itself spaces out its sacct calls
        poll_s = 1.0 if local else 5.0
    pending, unlisted = list(jobs), {}
    with tqdm(total=len(jobs), desc=desc, unit="job", disable=not progress) as bar:
        while pending:
            queue = None if local else slurm_queue()  # asked first: a job it misses had ended before
            for job in list(pending):
                if queue is not None:
                    unlisted[job.job_id] = 0 if str(job.job_id) in queue else unlisted.get(job.job_id, 0) + 1
                if job.done() or unlisted.get(job.job_id, 0) >= 2:
                    pending.remove(job)
                    bar.update(1)
                    yield job
            if pending:
                time.sleep(poll_s)


class JobEndedWithoutResult(RuntimeError):
    """A SLURM job that SLURM no longer lists ended without writing its result (cancelled, killed)."""


def job_result(job):
    """What a job that :func:`wait_for_jobs` yielded returned; raises what submitit raises for a
    failed job, and JobEndedWithoutResult for one that ended without a result and that submitit
    cannot tell apart from a running one. Its message quotes SLURM's last word in the job's log
    (``*** JOB 12 ON node CANCELLED AT ... ***``), else the log's last line."""
    if job.done():
        return job.result()
    try:
        lines = [
            line.strip() for line in Path(job.paths.stderr).read_text(errors="replace").splitlines() if line.strip()
        ]
    except OSError:
        lines = []
    lines = [line for line in lines if "***" in line] or lines
    raise JobEndedWithoutResult(f"SLURM job {job.job_id} ended without a result" + (f": {lines[-1]}" if lines else ""))


def slurm_queue() -> dict | None:
    """This user's SLURM jobs that are queued or running, ``{"1234_5": "RUNNING", ...}`` (one
    entry per array task), from ``squeue``; None when ``squeue`` does not answer.

    ``squeue`` answers on every cluster; ``sacct``, which submitit asks, needs accounting and
    says nothing without it.
    """
    try:
        listed = subprocess.run(
            ["squeue", "--noheader", "--array", "--format=%i %T", f"--user={os.getuid()}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    queue = {}
    for line in listed.stdout.splitlines():
        job_id, _, state = line.strip().partition(" ")
        if state.strip().upper() in QUEUED_STATES:
            queue[job_id] = state.strip().upper()
    return queue


# --------------------------------------------------------------------------------------------
# Run-folder locks
# --------------------------------------------------------------------------------------------


class RunBusy(UserError):
    """Another live process holds the lock of a run folder."""


def holder_text(info: dict | None) -> str:
    if not info:
        return "another process"
    text = f"process {info.get('pid')} on {info.get('host')}"
    if info.get("slurm_job"):
        text += f" (SLURM job {info['slurm_job']})"
    return text + (f", since {info['since']}" if info.get("since") else "")


def _read_lock_info(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def run_lock(run_dir: str | Path, flag: str = "--out"):
    """Hold an exclusive lock on ``run_dir`` (created if needed) for the ``with`` block.

    Raises RunBusy (a UserError naming the holder) when another live process has it, and a
    UserError naming ``flag`` when ``run_dir`` cannot be a folder (a file, not writable). The
    lock is an ``flock`` on ``run_dir/.lock``, released by the kernel when the holder exits or
    is killed; the file records who holds it (host, pid, SLURM job) for messages. If the block
    fails and left nothing but the lock file, the folders this call created are removed again.
    """
    import fcntl

    from linkpaper.safe_io import check_writable_dir, remove_created_dirs

    run_dir = Path(run_dir)
    created = check_writable_dir(run_dir, flag)
    path = run_dir / LOCK_FILE
    for _ in range(10):  # a file unlinked between our open and our flock is not the lock: reopen
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RunBusy(
                f"{run_dir}: {holder_text(_read_lock_info(path))} is training this run; "
                "wait for it to finish (or stop it) before starting it again"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:
        raise RunBusy(f"{run_dir}: its lock file keeps changing; is another process cleaning this folder?")
    try:
        job = os.environ.get("SLURM_ARRAY_JOB_ID")
        job = f"{job}_{os.environ.get('SLURM_ARRAY_TASK_ID')}" if job else os.environ.get("SLURM_JOB_ID")
        info = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "slurm_job": job,
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        yield info
    except BaseException:
        if created and [p.name for p in run_dir.iterdir()] == [LOCK_FILE]:
            os.unlink(path)  # still holding the lock: a process that opened the old file re-checks
            os.close(fd)
            fd = None
            remove_created_dirs(created)
        raise
    finally:
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock


def lock_holder(run_dir: str | Path) -> dict | None:
    """Who holds the lock of ``run_dir`` now (the recorded info, or {}), or None when nobody does."""
    import fcntl

    path = Path(run_dir) / LOCK_FILE
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return _read_lock_info(path) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Shards
# --------------------------------------------------------------------------------------------


def parse_shard(text: str, flag: str = "--shard") -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N, as SLURM_ARRAY_TASK_ID counts) -> ``(I, N)``."""
    index, sep, count = str(text).partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        index = count = None
    if not sep or index is None or count < 1 or not 0 <= index < count:
        raise ConfigError(
            f"{flag} {text!r}: expected I/N with 0 <= I < N, e.g. 0/4 ... 3/4 "
            "(I is $SLURM_ARRAY_TASK_ID in a job array)"
        )
    return index, count


def shard_of(key: str, count: int) -> int:
    """The shard (0..count-1) of ``key``: a stable hash of the key modulo ``count``."""
    digest = hashlib.sha1(str(key).encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def in_shard(key: str, index: int, count: int) -> bool:
    """Whether ``key`` belongs to shard ``index`` of ``count`` (every key is in exactly one)."""
    return count == 1 or shard_of(key, count) == index
