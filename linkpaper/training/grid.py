"""The ablation grid: every variant x every seed, resumable, summarised as mean +- std.

Layout: ``OUT/<variant slug>/seed<SEED>/`` is one run folder (``linkpaper.training.engine.train`` writes
it, :class:`linkpaper.training.runs.RunRecord` reads it);
``OUT/summary.json`` and ``OUT/summary.md`` hold the table of the ten test F-scores per variant.
A run already complete is skipped and an unfinished one resumed, so an interrupted grid simply
runs again. :func:`summarise_runs` builds the table from any run folders (the results notebook
uses it too).

The runs are independent, so they may run in parallel: :func:`run_grid` takes an executor
(``linkpaper.training.cluster``: sequential in this process, ``local`` worker processes, or a SLURM job
array through submitit). Whatever runs them, every run is one :class:`GridRun` call: it locks
its folder (two jobs never write the same run) and trains with ``resume=True``, so the numbers
are those of the sequential grid. A grid folder never mixes configurations:
:func:`check_grid_configs` refuses runs trained with other options before anything starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path

import numpy as np

from linkpaper.errors import ConfigError, UserError
from linkpaper.evaluation.metrics import SCORE_LABELS
from linkpaper.models.registry import get_method, variant_plsim_labels, variant_slug
from linkpaper.safe_io import atomic_write_bytes, atomic_write_json, read_json
from linkpaper.training.provenance import git_commit
from linkpaper.training.recipe import RECIPE_FIELDS, adopt_variant_plsim_labels, method_recipe
from linkpaper.training.runs import LEAKAGE_CAPTION, RESULTS_FILE, RunRecord, config_differences, read_results

COLUMN_LABELS = SCORE_LABELS  # the one definition is linkpaper.evaluation.metrics.SCORE_LABELS


def resolve_variants(variants: str | list[str]) -> list[str]:
    """``"all"`` (the eight of Table II), ``"controls"``, ``"book"`` (the eight and the three
    controls the book reads, ``BOOK_CONTROLS``), ``"methods"`` (the field's: HAN, MM-Pyramid,
    JoMoLD, LEAP), or a comma list of names and those words -> model names in registry order
    (Table II, the controls, then the field's methods), validated."""
    from linkpaper.models import canonical_name, list_controls, list_methods, list_models
    from linkpaper.models.registry import BOOK_CONTROLS

    known = list(list_models()) + list(list_controls()) + list(list_methods())
    groups = {
        "all": list(list_models()),
        "controls": list(list_controls()),
        "book": list(list_models()) + list(BOOK_CONTROLS),
        "methods": list(list_methods()),
    }
    items = [v.strip() for v in variants.split(",") if v.strip()] if isinstance(variants, str) else list(variants)
    wanted, unknown = set(), []
    for item in items:
        if item in groups:
            wanted.update(groups[item])
            continue
        try:
            wanted.add(canonical_name(item))
        except ConfigError:
            unknown.append(item)
    if unknown or not wanted:
        raise ConfigError(
            f"--variants: unknown {unknown or variants!r}; use 'all', 'controls', 'book', 'methods' or a comma list of "
            f"{', '.join(known)}"
        )
    return [v for v in known if v in wanted]


def run_dir_for(out_dir: str | Path, variant: str, seed: int) -> Path:
    return Path(out_dir) / variant_slug(variant) / f"seed{seed}"


def grid_config(base_config, variant: str, seed: int, recipe_given=()):
    """The TrainConfig of one grid run: ``base_config`` with its model and seed replaced (and the
    PLSIM labels of a variant that fixes them, ``+P/self``). A method of the field trains under
    its own recipe (``linkpaper.training.recipe.method_recipe``) except for the recipe fields named in
    ``recipe_given`` (those the command line set, e.g. ``{"epochs"}``), which keep
    ``base_config``'s value for every run."""
    config = dataclasses.replace(base_config, model=variant, seed=seed)
    if not get_method(variant).is_grid_variant:
        recipe = method_recipe(variant)
        config = dataclasses.replace(
            config, **{name: recipe[name] for name in RECIPE_FIELDS if name not in set(recipe_given)}
        )
    return adopt_variant_plsim_labels(config)


def grid_differences(reference: dict, config: dict) -> list[str]:
    """``config_differences`` between two run configurations (``results.json`` ``config``
    dicts) of one grid: model and seed may differ, and a recipe field (``RECIPE_FIELDS``) counts
    as the same where both runs follow their own model's recipe (HAN's 40 epochs beside
    VALOR++'s 60) or both set the same value; one run on its recipe and the other off it differ
    (``"epochs: 60 (recipe) -> 60"`` for VALOR++ beside a HAN trained 60 epochs). A variant that
    fixes its PLSIM labels (``+P/self``) holding them is not a difference either."""

    def plain(value):
        return list(value) if isinstance(value, (list, tuple)) else value

    def on_recipe(cfg: dict, name: str) -> bool:
        return plain(cfg.get(name)) == plain(method_recipe(cfg["model"])[name])

    def own_labels(cfg: dict) -> bool:  # a variant that fixes its PLSIM labels (+P/self) and holds them
        fixed = variant_plsim_labels(cfg["model"])
        return fixed is not None and cfg.get("plsim_labels") == fixed

    diffs = []
    for diff in config_differences(reference, config):
        name = diff.partition(":")[0]
        if name == "plsim_labels" and (own_labels(reference) or own_labels(config)):
            continue  # the variant's own labels, not a setting of the grid
        if name not in ("model", "seed", *RECIPE_FIELDS):
            diffs.append(diff)
    for name in RECIPE_FIELDS:
        ours, theirs = on_recipe(reference, name), on_recipe(config, name)
        if ours and theirs:
            continue
        if not ours and not theirs and plain(reference.get(name)) == plain(config.get(name)):
            continue
        old, new = (
            repr(cfg.get(name)) + (" (recipe)" if on else "") for cfg, on in ((reference, ours), (config, theirs))
        )
        diffs.append(f"{name}: {old} -> {new}")
    return diffs


def check_grid_configs(base_config, jobs, out_dir, recipe_given=()) -> None:
    """Refuse a grid folder holding runs trained with another configuration.

    jobs: (variant, seed) pairs. Every run folder with a ``results.json`` (finished or not) is
    compared with the configuration this grid would train it with; options that change no number
    (device, threads, evaluation batch size, data folder) may differ, but the annotation files
    must be the ones the run recorded (their sha256, :mod:`linkpaper.training.inputs`). Raises one ConfigError that
    names every run and every difference, before anything is trained or submitted, so a summary
    never mixes runs of different epochs, data, recipes or label modes.
    """
    from linkpaper.training.inputs import annotation_changes, spec_annotation_checksums

    out_dir = Path(out_dir)
    problems = []
    annotations = None  # the current annotation checksums, read once a record needs them
    for variant, seed in jobs:
        run_dir = run_dir_for(out_dir, variant, seed)
        if not (run_dir / RESULTS_FILE).is_file():
            continue
        record = RunRecord.read(run_dir, full=False)  # the configuration is all this check needs
        diffs = record.config_differences(grid_config(base_config, variant, seed, recipe_given))
        if annotations is None and record.data.get("inputs"):
            annotations = spec_annotation_checksums(base_config.data, base_config.data_dir) or {}
        diffs += annotation_changes(record, annotations or None)  # scored on other ground truth
        if diffs:
            problems.append(f"{run_dir.relative_to(out_dir)} ({'; '.join(diffs)})")
    if problems:
        raise ConfigError(
            f"--out {out_dir}: {len(problems)} run(s) there were trained with a different configuration "
            f"(theirs -> this command's): {', '.join(problems)}; rerun with the original options or choose a new --out"
        )


class GridRun:
    """One (variant, seed) of the grid as a job: lock its folder, train or resume it, report.

    The same callable runs in this process (``sequential``), in a worker process (``local``) or
    in a SLURM job (``slurm``, pickled by submitit). It returns a small dict (``status``:
    ``trained`` | ``resumed`` | ``complete`` | ``busy``, ``epochs_before``, ``seconds``, ``host``)
    and never raises for a folder that another job holds (``busy``). ``checkpoint`` makes it
    requeueable by submitit: a job that hits its time limit or is preempted is resubmitted
    with the same arguments and resumes from the run's last checkpoint.
    """

    def __init__(self, verbose: bool = True):
        self.verbose = verbose

    def __call__(self, config, run_dir: str, progress: bool = False, in_job: bool = True) -> dict:
        import socket
        import time

        from linkpaper.training.cluster import RunBusy, run_lock
        from linkpaper.training.engine import train
        from linkpaper.training.runs import is_complete

        run_dir = Path(run_dir)
        result = {
            "model": config.model,
            "seed": config.seed,
            "run_dir": str(run_dir),
            "host": socket.gethostname(),
            "epochs_before": 0,
        }
        tic = time.perf_counter()
        try:
            with run_lock(run_dir):
                if is_complete(run_dir):
                    return {**result, "status": "complete", "seconds": 0.0}
                if (run_dir / RESULTS_FILE).is_file():
                    result["epochs_before"] = len(RunRecord.read(run_dir, full=False).epochs)
                if self.verbose:
                    start = f"resuming after epoch {result['epochs_before']}" if result["epochs_before"] else "starting"
                    print(
                        f"{config.model} seed {config.seed}: {start} in {run_dir} "
                        f"({config.num_threads or 'default'} threads)",
                        flush=True,
                    )
                record = train(config, run_dir, resume=True, progress=progress)
        except RunBusy as err:
            return {**result, "status": "busy", "message": str(err), "seconds": 0.0}
        except UserError as err:  # e.g. missing data on the node: one readable message, not a traceback
            if in_job:
                return {**result, "status": "failed", "error": str(err), "seconds": 0.0}
            raise
        result["seconds"] = time.perf_counter() - tic
        result["status"] = "resumed" if result["epochs_before"] else "trained"
        result["complete"] = bool(record.complete)
        if self.verbose:
            print(f"{config.model} seed {config.seed}: {result['status']}, {result['seconds']:.1f} s", flush=True)
        return result

    def checkpoint(self, *args, **kwargs):
        """submitit's hook on timeout / preemption: resubmit the same call (it resumes)."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


@dataclasses.dataclass
class GridReport:
    """What a ``run_grid`` call did and found.

    table: the summary (:func:`summarise_runs`) over the complete runs; runs: one dict per
    (variant, seed) with its ``status`` (``complete`` before this call, ``trained``,
    ``resumed``, ``busy`` (another live job holds it), ``queued`` (a SLURM job submitted
    earlier is pending), ``submitted`` (``--no-wait``), ``failed``, ``incomplete``, ``missing``
    (``train=False``: no run record));
    failures: one message per failed job.
    """

    table: list
    runs: list
    failures: list
    out_dir: Path
    summary_written: bool = False

    def count(self, *statuses) -> int:
        return sum(r["status"] in statuses for r in self.runs)

    @property
    def complete(self) -> bool:
        return all(r.get("complete") for r in self.runs)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt (in the main thread only; elsewhere
    nothing changes), so the caller's cleanup runs; the previous handler is restored after."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


JOBS_FILE = "jobs.json"  # OUT/submitit/jobs.json: run folder -> SLURM job id of its latest job


def _read_jobs(path: Path) -> dict:
    """``OUT/submitit/jobs.json`` (run folder -> SLURM job id), {} when absent; a damaged file is
    one UserError naming it."""
    if not path.exists():
        return {}
    remedy = (
        "it only lists the SLURM jobs submitted earlier: delete it (the runs are kept), "
        "after checking with squeue that none is still queued"
    )
    jobs = read_json(path, "list of submitted jobs", remedy)
    if not isinstance(jobs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in jobs.items()):
        raise UserError(f"{path}: not a list of submitted jobs (expected an object of run folder -> job id); {remedy}")
    return jobs


def run_grid(
    base_config, variants, seeds, out_dir, progress: bool = True, executor=None, train: bool = True, recipe_given=()
) -> GridReport:
    """Train every (variant, seed) into ``out_dir`` (skipping complete runs), then summarise.

    base_config: a TrainConfig whose ``model`` and ``seed`` are replaced per run (a method of the
    field also takes its own recipe, but for the fields in ``recipe_given``: see
    :func:`grid_config`). executor: a
    ``linkpaper.training.cluster.ExecutorOptions`` (None: sequential, in this process, as always).
    Before anything runs, runs already in ``out_dir`` are checked against this configuration
    (:func:`check_grid_configs`). Complete runs are kept, interrupted ones resume, runs that a
    live job holds are left to it. Writes summary.json / summary.md over the complete runs unless
    the jobs were submitted without waiting. ``train=False`` trains nothing: it checks the
    folder and summarises the complete runs, counting the others as missing (a grid trained
    across sessions, or collected into ``results/``); it refuses an ``out_dir`` that does not
    exist. A run record that is there but damaged raises its UserError (naming the file) in
    either mode.
    """
    from tqdm.auto import tqdm

    from linkpaper.limits import check_seed
    from linkpaper.safe_io import check_writable_dir, remove_created_dirs
    from linkpaper.training.cluster import ExecutorOptions, available_cpus, lock_holder, slurm_queue
    from linkpaper.training.runs import is_complete

    options = (executor or ExecutorOptions()).validate()
    variants = resolve_variants(variants)
    seeds = [int(s) for s in seeds]
    out_dir = Path(out_dir)
    if not train and not out_dir.exists():  # a mistyped path: say so, do not create it and call it empty
        raise UserError(
            f"--out {out_dir}: no such folder; --summarise-only summarises the runs of an existing "
            "grid folder: check the path, or drop --summarise-only to train the grid there"
        )
    for seed in seeds:
        check_seed(seed, "--seeds")
    created = check_writable_dir(out_dir, "--out")  # a file, under a file, not writable: one line, before any run
    pairs = [(v, s) for v in variants for s in seeds]
    try:
        if not (options.kind == "slurm" and options.submitit_cluster == "slurm"):
            base_config.validate()  # a SLURM job validates on its own node (the device may only be there)
        check_grid_configs(base_config, pairs, out_dir, recipe_given)
    except BaseException:
        remove_created_dirs(created)  # a refused grid leaves no empty --out behind
        raise
    out_dir.mkdir(parents=True, exist_ok=True)

    if base_config.num_threads is None and options.kind == "local":
        base_config = dataclasses.replace(base_config, num_threads=max(1, available_cpus() // (options.jobs or 1)))
    if base_config.num_threads is None and options.kind == "slurm":
        base_config = dataclasses.replace(base_config, num_threads=options.cpus_per_job)

    submitit_dir = out_dir / "submitit"
    jobs_path = submitit_dir / JOBS_FILE
    known_jobs = _read_jobs(jobs_path)
    # jobs submitted earlier that SLURM still has (a local job dies with the command that started
    # it); where squeue does not answer, none: the job itself refuses a locked or finished run
    queue = (slurm_queue() or {}) if known_jobs and options.submitit_cluster == "slurm" else {}
    runs, todo = [], []
    for variant, seed in pairs:
        run_dir = run_dir_for(out_dir, variant, seed)
        key = str(run_dir.relative_to(out_dir))
        run = {"model": variant, "seed": seed, "run_dir": str(run_dir)}
        runs.append(run)
        if is_complete(run_dir):
            run.update(status="complete", complete=True)
            continue
        has_record = (run_dir / RESULTS_FILE).is_file()
        if has_record:
            read_results(run_dir)  # a damaged record: its one-line UserError, not "not trained"
        if (holder := lock_holder(run_dir)) is not None:
            from linkpaper.training.cluster import holder_text

            run.update(status="busy", message=f"{key}: {holder_text(holder)} is training it")
        elif known_jobs.get(key) in queue:
            run.update(status="queued", message=f"{key}: SLURM job {known_jobs[key]} is still queued")
        elif not train:
            run.update(status="incomplete" if has_record else "missing", complete=False)
        else:
            todo.append((run, grid_config(base_config, variant, seed, recipe_given)))

    failures = []

    def finish(run, result=None, error=None):
        if result is not None and result.get("status") == "failed":
            error = result["error"]
        if error is not None:
            run.update(status="failed", complete=False)
            failures.append(f"{run['model']} seed {run['seed']}: {error}")
            return
        run.update({k: v for k, v in result.items() if k not in ("model", "seed", "run_dir")})
        run["complete"] = is_complete(run["run_dir"])
        if run["status"] != "busy" and not run["complete"]:
            run["status"] = "incomplete"

    if todo and options.kind == "sequential":
        job = GridRun(verbose=False)
        for run, config in tqdm(todo, desc="grid", unit="run", disable=not progress):
            finish(run, job(config, run["run_dir"], progress=progress, in_job=False))
    elif todo and options.kind == "local":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from linkpaper.training.cluster import die_with_parent, stop_workers

        job = GridRun(verbose=False)
        context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch state
        # Workers end with this process however it ends (die_with_parent); SIGTERM here is turned
        # into an exception so the pool is stopped instead of waited for.
        pool = ProcessPoolExecutor(
            max_workers=min(options.jobs or 1, len(todo)),
            mp_context=context,
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        )
        try:
            with _sigterm_as_interrupt():
                futures = {pool.submit(job, config, run["run_dir"]): run for run, config in todo}
                with tqdm(
                    total=len(futures), desc=f"grid ({options.jobs or 1} at a time)", unit="run", disable=not progress
                ) as bar:
                    for future in as_completed(futures):
                        try:
                            finish(futures[future], future.result())
                        except Exception as err:
                            finish(futures[future], error=f"{type(err).__name__}: {err}")
                        bar.update(1)
        except BaseException:  # Ctrl-C, SIGTERM: stop the workers now, never wait for their runs
            stop_workers(pool)
            raise
        pool.shutdown(wait=True)
    elif todo:
        from linkpaper.training.cluster import failure_text, job_result, make_submitit_executor, wait_for_jobs

        executor_ = make_submitit_executor(options, submitit_dir)
        jobs = executor_.map_array(GridRun(), [c for _, c in todo], [r["run_dir"] for r, _ in todo])
        for (run, _), job in zip(todo, jobs):
            run.update(status="submitted", job_id=job.job_id)
            known_jobs[str(Path(run["run_dir"]).relative_to(out_dir))] = job.job_id
        atomic_write_json(jobs_path, known_jobs)
        if options.wait:
            by_id = {job.job_id: run for (run, _), job in zip(todo, jobs)}
            for job in wait_for_jobs(jobs, "grid jobs", progress=progress):
                try:
                    finish(by_id[job.job_id], job_result(job))
                except Exception as err:
                    finish(by_id[job.job_id], error=failure_text(err, job))

    report = GridReport(table=[], runs=runs, failures=failures, out_dir=out_dir)
    if options.kind == "slurm" and not options.wait:
        return report
    done = [Path(r["run_dir"]) for r in runs if r.get("complete")]
    report.table = summarise_runs(done)
    write_summary(out_dir, report.table, base_config, seeds, missing=len(runs) - len(done))
    report.summary_written = True
    return report


def summarise_runs(run_dirs) -> list[dict]:
    """Mean +- std of the ten test F-scores per variant, over the complete runs given.

    Returns one row per model in first-seen order: ``{"model", "seeds", "n", "mean" (10),
    "std" (10, sample std, 0 for one seed), "runs", "label_leakage", "data"}``. Incomplete runs
    are skipped and counted in ``"incomplete"``.
    """
    groups: dict[str, dict] = {}
    for run_dir in run_dirs:
        record = RunRecord.read(run_dir)
        group = groups.setdefault(
            record.model,
            {
                "model": record.model,
                "seeds": [],
                "rows": [],
                "runs": [],
                "label_leakage": False,
                "data": record.data["description"],
                "incomplete": 0,
            },
        )
        if not record.complete:
            group["incomplete"] += 1
            continue
        group["seeds"].append(record.seed)
        group["rows"].append(record.test_row)
        group["runs"].append(str(run_dir))
        group["label_leakage"] |= bool(record.label_leakage)
    table = []
    for group in groups.values():
        rows = np.asarray(group.pop("rows"), dtype=np.float64).reshape(-1, len(COLUMN_LABELS))
        group["n"] = len(rows)
        group["mean"] = rows.mean(axis=0).tolist() if len(rows) else [float("nan")] * len(COLUMN_LABELS)
        group["std"] = (rows.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros(len(COLUMN_LABELS))).tolist()
        table.append(group)
    return table


def markdown_text(text) -> str:
    """``text`` (from a run record, so from anywhere) as literal markdown: one line, HTML and
    markdown syntax escaped (a ``<script>`` or ``**`` in a data description stays text)."""
    import html
    import re

    flat = " ".join(str(text).split())
    return re.sub(r"([\\`*_\[\]|#~])", r"\\\1", html.escape(flat, quote=False))


def format_summary(table: list[dict], caption: str = "") -> str:
    """A markdown table: one row per variant, ten columns ``mean ± std``."""
    lines = []
    if caption:
        lines += [caption, ""]
    lines.append("| model | n | " + " | ".join(COLUMN_LABELS) + " |")
    lines.append("| --- | --- | " + " | ".join("---" for _ in COLUMN_LABELS) + " |")
    for row in table:
        cells = [f"{m:.2f} ± {s:.2f}" for m, s in zip(row["mean"], row["std"])]
        lines.append(f"| {row['model']} | {row['n']} | " + " | ".join(cells) + " |")
    if any(row["label_leakage"] for row in table):
        lines += ["", LEAKAGE_CAPTION]
    return "\n".join(lines) + "\n"


def write_summary(out_dir, table: list[dict], base_config, seeds, missing: int = 0) -> None:
    """``summary.json`` and ``summary.md`` in ``out_dir``; ``missing``: runs of the grid that are
    not complete (named in the caption, so a partial table never passes for the whole grid)."""
    from linkpaper.training.precision import DEFAULT_PRECISION

    out_dir = Path(out_dir)
    data = table[0]["data"] if table else base_config.data
    code = git_commit()
    caption = (
        f"Test F-scores (%), mean ± std over seeds {', '.join(map(str, seeds))}; data: {markdown_text(data)}; "
        f"{base_config.epochs} epochs; commit {code['commit'][:12]}{' (dirty)' if code['dirty'] else ''}"
    )
    precision = getattr(base_config, "precision", DEFAULT_PRECISION)
    if precision != DEFAULT_PRECISION:  # an fp32 summary reads as it always did
        caption += f"; trained in {precision} (autocast)"
    if missing:
        caption += f"; INCOMPLETE: {missing} run(s) of the grid are not finished and not in this table"
    atomic_write_json(
        out_dir / "summary.json",
        {
            "data": data,
            "data_spec": base_config.data,
            "seeds": list(seeds),
            "epochs": base_config.epochs,
            "code": code,
            "missing_runs": missing,
            "columns": list(COLUMN_LABELS),
            "label_leakage": any(r["label_leakage"] for r in table),
            "rows": table,
            **({"precision": precision} if precision != DEFAULT_PRECISION else {}),
        },
    )
    atomic_write_bytes(out_dir / "summary.md", format_summary(table, caption).encode())
