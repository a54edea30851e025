"""Driver of bench/compare-metaflow: times equivalent flows in Metaflow and flowrs.

Python 3 standard library only. Run it through bench/compare-metaflow, which checks the
prerequisites first. What it does:

1. Creates (once) a virtual environment with a pinned Metaflow under the cache directory
   (${FLOW_BENCH_CACHE:-~/.cache/flowrs-bench}). Only PyPI is reached, at install time;
   Metaflow then runs with the local datastore and local metadata, no AWS, no conda.
2. Builds the flowrs twins (bench/flows, a cargo workspace of its own) with --release.
3. Runs every shape --runs times per system, alternating the two systems (and which one
   goes first) so that machine noise spreads over both; each run is a fresh process in a
   fresh directory under --dir (empty datastore), timed wall-clock from spawn to exit.
   Each flow runs as a user runs it: `<binary> run --count N ...` with its progress output
   on, on a pseudo-terminal (flowrs draws its live bar; --no-tty gives both systems a
   file instead, where flowrs prints plain progress lines).
   The flowrs-only shapes (foreach 10,000 and 100,000 items by default, and a foreach whose
   `start` also sets a large field no later step names) run flowrs alone: Metaflow would take
   hours. Their ratio is per task, against Metaflow's per-task figure from the largest
   foreach it ran here.
4. Checks each run: exit status 0 and every task's record in the run's datastore (flowrs:
   read back through the binary's own `runs` and `dump` commands).
5. Prints a Markdown table of medians, ratios, per-task overhead and peak memory.

Exits 1 if any run failed, 2 on a setup error.
"""

import argparse
import datetime
import fcntl
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

METAFLOW_VERSION = "2.19.39"
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
FLOWS_DIR = os.path.join(BENCH_DIR, "flows")
METAFLOW_FLOWS_DIR = os.path.join(BENCH_DIR, "metaflow")
TIME_BIN = "/usr/bin/time"
RSS_SAMPLE_INTERVAL_S = 0.05


class SetupError(Exception):
    """A prerequisite is missing or could not be installed."""


class Shape:
    """One benchmark shape: the same flow in both systems, with its params."""

    def __init__(self, name, flow, metaflow_class, params, tasks, runs, flowrs_only=False):
        self.name = name
        self.runs = runs  # runs per system
        self.flow = flow  # bench/metaflow/<flow>.py and bench/flows binary <flow>
        self.metaflow_class = metaflow_class
        self.params = params  # {"count": 100, "payload": 10}: each is a --flag of both twins
        self.tasks = tasks  # tasks one run executes (the same in both systems)
        self.flowrs_only = flowrs_only  # too slow in Metaflow: flowrs runs it alone


def counts_arg(text):
    """'10000,100000' (underscores allowed) as [10000, 100000]; '' as []."""
    out = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if part:
            n = int(part)
            if n < 1:
                raise argparse.ArgumentTypeError(f"{part}: a count must be at least 1")
            out.append(n)
    return out


def shapes(args):
    """The shapes to run, in order."""
    out = []
    payloads = [0] if args.no_payload else [0, args.payload_mib]
    for payload in payloads:
        suffix = "" if payload == 0 else f" + {payload} MiB"
        p = {"payload": payload}
        out.append(Shape(f"linear 10 steps{suffix}", "linear", "BenchLinearFlow", dict(p), 10, args.runs))
        out.append(
            Shape(f"foreach 100{suffix}", "foreach", "BenchForeachFlow", dict(p, count=100), 103,
                  args.runs)
        )
        out.append(Shape(f"split/join 10{suffix}", "split", "BenchSplitFlow", dict(p), 13, args.runs))
    if not args.no_large:
        out.append(
            Shape("foreach 1000", "foreach", "BenchForeachFlow", {"payload": 0, "count": 1000}, 1003,
                  args.large_runs)
        )
    # The common pattern at scale: the items list inherited by every task, a trivial body.
    for count in args.flowrs_counts:
        if any(s.name == f"foreach {count}" for s in out):
            continue  # already run by both systems
        out.append(
            Shape(f"foreach {count}", "foreach", "BenchForeachFlow", {"payload": 0, "count": count},
                  count + 3, args.flowrs_runs, flowrs_only=True)
        )
    # The same, with a field of --inherit-mib MiB set in start that no later step names.
    for count in args.inherited_counts:
        out.append(
            Shape(f"foreach {count} + {args.inherit_mib} MiB inherited", "foreach", "BenchForeachFlow",
                  {"payload": 0, "count": count, "inherit-mib": args.inherit_mib}, count + 3,
                  args.inherited_runs, flowrs_only=True)
        )
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        names = {s.name for s in out}
        # A token that names a shape exactly selects only it ("foreach 100", not 1000).
        out = [s for s in out if any(w == s.name if w in names else w in s.name for w in wanted)]
        if not out:
            raise SetupError(f"--only {args.only!r} matches no shape")
    if "metaflow" not in args.systems or "flowrs" not in args.systems:
        only = args.systems[0]
        out = [s for s in out if only == "flowrs" or not s.flowrs_only]
    return out


def fs_type(path):
    """The file system type of the mount holding `path` (longest mount point), from /proc."""
    path = os.path.realpath(path)
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mnt = fields[1].replace("\\040", " ")
                inside = path == mnt or path.startswith(mnt.rstrip("/") + "/")
                if inside and len(mnt) >= len(best):
                    best, kind = mnt, fields[2]
    except OSError:
        pass
    return kind


def default_runs_dir():
    """The system's temporary directory, unless it is a tmpfs (memory, not a disk): then a
    directory under the cache directory."""
    tmp = tempfile.gettempdir()
    if fs_type(tmp) in ("tmpfs", "ramfs"):
        return os.path.join(cache_dir(), "runs")
    return tmp


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- setup


def cache_dir():
    return os.environ.get("FLOW_BENCH_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "flowrs-bench"
    )


def metaflow_venv():
    """The venv's python, creating the venv with the pinned Metaflow on first use."""
    py_tag = f"py{sys.version_info[0]}.{sys.version_info[1]}"
    venv = os.path.join(cache_dir(), f"metaflow-{METAFLOW_VERSION}-{py_tag}")
    python = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".installed")
    if os.path.exists(stamp) and os.path.exists(python):
        return python
    log(f"setting up Metaflow {METAFLOW_VERSION} in {venv} (once) ...")
    shutil.rmtree(venv, ignore_errors=True)
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
    if r.returncode != 0:
        raise SetupError(
            "could not create a virtual environment "
            f"({sys.executable} -m venv {venv}):\n{r.stderr.strip()}\n"
            "install the venv module (e.g. apt-get install python3-venv)"
        )
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    r = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", f"metaflow=={METAFLOW_VERSION}"],
        capture_output=True,
        text=True,
        env=env,
    )
    if r.returncode != 0:
        raise SetupError(
            f"pip could not install metaflow=={METAFLOW_VERSION} into {venv}:\n"
            f"{(r.stdout + r.stderr).strip()}"
        )
    r = subprocess.run(
        [python, "-c", "import metaflow; print(metaflow.__version__)"],
        capture_output=True,
        text=True,
        env=metaflow_env(venv_home=os.path.join(venv, "metaflow-home"), sysroot=None),
    )
    if r.returncode != 0 or r.stdout.strip() != METAFLOW_VERSION:
        raise SetupError(f"metaflow does not import from {venv}:\n{r.stdout}{r.stderr}")
    with open(stamp, "w") as f:
        f.write(METAFLOW_VERSION + "\n")
    return python


def metaflow_env(venv_home, sysroot):
    """The environment of a Metaflow run: local datastore and metadata, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    os.makedirs(venv_home, exist_ok=True)
    env.update(
        METAFLOW_HOME=venv_home,  # an empty config dir: ~/.metaflowconfig cannot leak in
        METAFLOW_DEFAULT_DATASTORE="local",
        METAFLOW_DEFAULT_METADATA="local",
        METAFLOW_DEFAULT_ENVIRONMENT="local",
        USERNAME="flowrs-bench",
    )
    if sysroot:
        # The run's own <sysroot>/.metaflow: no search upward from the cwd for another one.
        env["METAFLOW_DATASTORE_SYSROOT_LOCAL"] = sysroot
    return env


def build_flowrs():
    """Builds bench/flows with --release; returns {binary name: path}."""
    log("building the flowrs benchmark flows (cargo build --release) ...")
    cmd = [
        "cargo",
        "build",
        "--release",
        "--bins",
        "--message-format=json-render-diagnostics",
        "--manifest-path",
        os.path.join(FLOWS_DIR, "Cargo.toml"),
    ]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SetupError(f"`{' '.join(cmd)}` failed (its errors are above)")
    bins = {}
    for line in r.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            bins[msg["target"]["name"]] = msg["executable"]
    for name in ("linear", "foreach", "split"):
        if name not in bins:
            raise SetupError(f"cargo built no `{name}` binary in {FLOWS_DIR}")
    return bins


# ----------------------------------------------------------------------------- runs


def tree_rss_bytes(root):
    """Sum of the resident memory of `root` and all its descendants, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page
        except OSError:
            pass
    return total


class TreeSampler(threading.Thread):
    """Samples the process tree's total RSS until stopped; keeps the peak."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(RSS_SAMPLE_INTERVAL_S):
            try:
                self.peak = max(self.peak, tree_rss_bytes(self.pid))
            except OSError:
                pass


class RunResult:
    def __init__(self, system, shape, wall, max_rss, tree_rss, error, workdir):
        self.system = system
        self.shape = shape
        self.wall = wall  # seconds, spawn to exit
        self.max_rss = max_rss  # bytes, the largest single process (wait4 / time -v)
        self.tree_rss = tree_rss  # bytes, peak sampled sum over the process tree
        self.error = error  # None if the run succeeded and was checked
        self.workdir = workdir


def spawn(full, workdir, env, out, tty):
    """Starts `full` with its stdout and stderr going to `out`: through a pseudo-terminal
    (as on a user's terminal) when `tty`, else straight to the file. Returns the process and
    the thread copying the terminal's output to `out` (None without a terminal)."""
    if not tty:
        proc = subprocess.Popen(full, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        return proc, None
    master, slave = os.openpty()
    # A terminal of 40 rows and 120 columns, so a progress bar has a width to draw in.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(env, TERM=env.get("TERM") or "xterm-256color")
    try:
        proc = subprocess.Popen(full, cwd=workdir, env=env, stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True)
    finally:
        os.close(slave)

    def drain():
        # Read until every holder of the terminal has exited (EIO), so the child never
        # blocks on a full terminal buffer.
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            out.write(data)
        os.close(master)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return proc, reader


def run_once(system, shape, cmd, env, args):
    """Runs one flow in a fresh directory; returns a RunResult."""
    workdir = tempfile.mkdtemp(prefix=f"flowrs-bench-{system}-", dir=args.dir)
    out_path = os.path.join(workdir, "output.log")
    time_path = os.path.join(workdir, "time.txt")
    use_time = os.access(TIME_BIN, os.X_OK) and not args.no_time_v
    full = ([TIME_BIN, "-v", "-o", time_path] if use_time else []) + cmd
    if system == "metaflow":
        env = dict(env, METAFLOW_DATASTORE_SYSROOT_LOCAL=workdir)
    with open(out_path, "wb") as out:
        # Start every run with nothing waiting to be written back, so no run pays for the
        # write-back of what the previous one (often the other system's) wrote or deleted.
        os.sync()
        start = time.perf_counter()
        proc, reader = spawn(full, workdir, env, out, args.tty)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        # wait4 gives this child's own rusage (its peak RSS, or that of the largest
        # descendant it reaped): a per-run figure, unlike RUSAGE_CHILDREN of this process.
        status, rusage, deadline_hit = _wait4(proc, args.timeout)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
        if reader is not None:
            reader.join(10)
    max_rss = rusage.ru_maxrss * 1024
    if use_time:
        try:
            with open(time_path) as f:
                m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
            if m:
                max_rss = int(m.group(1)) * 1024
        except OSError:
            pass
    tree_rss = max(sampler.peak, max_rss)
    error = None
    if deadline_hit:
        error = f"killed after the {args.timeout} s timeout"
    elif proc.returncode != 0:
        error = f"exit status {proc.returncode}"
    else:
        error = check_datastore(system, shape, workdir, cmd)
    if error:
        error += f" (output: {out_path})"
    elif not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return RunResult(system, shape, wall, max_rss, tree_rss, error, workdir)


def _wait4(proc, timeout):
    """os.wait4 on the process, killing it after `timeout` seconds; (status, rusage, killed)."""
    # Block in the kernel (in a thread, for the timeout): a polling loop would add its
    # period to the measured wall time.
    waited = {}

    def wait():
        _, waited["status"], waited["rusage"] = os.wait4(proc.pid, 0)

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    t.join(timeout)
    killed = t.is_alive()
    if killed:
        proc.kill()
        t.join()
    return waited["status"], waited["rusage"], killed


def flowrs_task_records(workdir, binary):
    """(tasks recorded as succeeded in the one run stored under workdir, None) or
    (None, why not), read through the binary's `runs` and `dump` commands, so the check does
    not depend on the datastore's layout."""
    r = subprocess.run([binary, "runs"], cwd=workdir, capture_output=True, text=True)
    rows = [line.split() for line in r.stdout.splitlines()[1:] if line.strip()]
    if r.returncode != 0 or len(rows) != 1:
        return None, f"`{os.path.basename(binary)} runs` listed {len(rows)} runs: {(r.stdout + r.stderr).strip()}"
    run_id, status = rows[0][0], rows[0][1]
    if status != "succeeded":
        return None, f"run {run_id} is stored as {status}"
    r = subprocess.run([binary, "dump", run_id], cwd=workdir, capture_output=True, text=True)
    try:
        dumped = json.loads(r.stdout)
    except ValueError:
        return None, f"`dump {run_id}` printed no JSON: {r.stderr.strip()}"
    tasks = [t for step in dumped.get("steps", {}).values() for t in step]
    return sum(1 for t in tasks if t.get("status") == "succeeded"), None


def check_datastore(system, shape, workdir, cmd):
    """None if the run's datastore holds a finished record of every task, else why not."""
    if system == "flowrs":
        root = os.path.join(workdir, ".flow")
        if not os.path.isdir(root):
            return f"no datastore at {root}: the run persisted nothing"
        records, why = flowrs_task_records(workdir, cmd[cmd.index("run") - 1])
        if why:
            return why
    else:
        root = os.path.join(workdir, ".metaflow", shape.metaflow_class)
        if not os.path.isdir(root):
            return f"no datastore at {root}"
        records = 0
        # .metaflow/<Flow>/<run>/<step>/<task>/0.DONE.lock, one per finished task.
        for run in os.listdir(root):
            if run == "data" or not os.path.isdir(os.path.join(root, run)):
                continue
            for step in os.listdir(os.path.join(root, run)):
                if step.startswith("_"):
                    continue
                step_dir = os.path.join(root, run, step)
                for task in os.listdir(step_dir):
                    if os.path.exists(os.path.join(step_dir, task, "0.DONE.lock")):
                        records += 1
    if records != shape.tasks:
        return f"{records} task records in {root}, expected {shape.tasks}"
    return None


FLOWRS_DEFAULT_MAX_NUM_SPLITS = 1_000_000


def commands(shape, python, bins, args):
    """The Metaflow and flowrs command lines of one shape (same params, same workers).

    flowrs runs as a user types it: `<binary> run --count N ... --max-workers W`, progress
    on, the default datastore (.flow in the working directory); --max-num-splits only past
    its default. Metaflow needs --max-num-splits past 100 items."""
    count = shape.params.get("count", 0)
    params = []
    for k, v in shape.params.items():
        params += [f"--{k}", str(v)]
    mf = [python or "python3", os.path.join(METAFLOW_FLOWS_DIR, f"{shape.flow}.py"), "--no-pylint", "run"]
    mf += ["--max-workers", str(args.max_workers), "--max-num-splits", str(max(100, count))] + params
    rs = [bins[shape.flow] if bins else shape.flow, "run"] + params
    rs += ["--max-workers", str(args.max_workers)]
    if count > FLOWRS_DEFAULT_MAX_NUM_SPLITS:
        rs += ["--max-num-splits", str(count)]
    return mf, rs


# ----------------------------------------------------------------------------- report


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            if m:
                cpu = m.group(1).strip()
    except OSError:
        pass
    mem = "unknown memory"
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+) kB", f.read(), re.M)
            if m:
                mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem} RAM, {platform.system()} {platform.release()}"


def loadavg():
    """The 1-minute load average, or None where /proc/loadavg is missing."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def output_of(cmd, cwd=None):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd).stdout.strip()
    except OSError:
        return ""


def fmt_s(x):
    return f"{x:.3f}" if x >= 0.1 else f"{x:.4f}"


def fmt_us(seconds):
    """Seconds as whole microseconds, with thousands separators."""
    return f"{seconds * 1e6:,.0f}"


def fmt_duration(seconds):
    """A long duration, roughly: '20 min', '3.4 h'."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def fmt_mib(b):
    return f"{b / 1024 / 1024:.0f}"


def metaflow_reference(results, shapes_run):
    """(per-task seconds, shape name) of Metaflow's largest foreach without a payload that
    succeeded here: what the flowrs-only shapes' ratios are computed against. None if
    Metaflow ran no foreach."""
    best = None
    for shape in shapes_run:
        if shape.flowrs_only or shape.flow != "foreach" or shape.params.get("payload"):
            continue
        mf = [r.wall for r in results if r.shape is shape and r.system == "metaflow" and not r.error]
        if mf and (best is None or shape.tasks > best[0].tasks):
            best = (shape, statistics.median(mf) / shape.tasks)
    return None if best is None else (best[1], best[0].name)


def report(results, shapes_run, python, args, started, loads):
    lines = []
    mf_version = python and output_of([python, "-c", "import metaflow; print(metaflow.__version__)"])
    py_version = python and output_of([python, "-c", "import platform; print(platform.python_version())"])
    commit = output_of(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_DIR) or "unknown"
    dirty = output_of(["git", "status", "--porcelain", "--", "flow-core", "flow-local",
                       "flow-macros", "flow-graph", "bench"], cwd=REPO_DIR)
    both = len(args.systems) == 2
    lines.append(f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}")
    lines.append(f"- machine: {machine()}")
    metaflow_versions = f"metaflow {mf_version} (Python {py_version})" if python else "metaflow not run"
    lines.append(
        f"- versions: {metaflow_versions}; "
        f"{output_of(['rustc', '--version'])}; flowrs commit {commit}"
        + (" (with uncommitted changes)" if dirty else "")
    )
    runs_of = ", ".join(f"{s.runs} of {s.name}" for s in shapes_run if s.runs != args.runs)
    lines.append(
        f"- settings: {args.runs} runs per system and shape"
        + (f" ({runs_of})" if runs_of else "")
        + (", alternating systems; " if both else f", {args.systems[0]} only; ")
        + f"--max-workers {args.max_workers}"
        + (" for both" if both else "")
        + "; wall-clock of the whole process; "
        f"a fresh directory (empty datastore) under {args.dir} ({fs_type(args.dir)}) "
        "and `sync` before each run"
    )
    if "flowrs" in args.systems:
        lines.append(
            "- flowrs command line: `<bench/flows binary> run --count N [--payload MIB] "
            f"[--inherit-mib MIB] --max-workers {args.max_workers}` in the run's directory "
            "(default datastore .flow, default --max-num-splits)"
        )
    lines.append(
        "- progress output: "
        + (
            "on, on a pseudo-terminal (flowrs draws its live bar, as on a user's terminal)"
            if args.tty
            else "on, into a file (not a terminal: flowrs prints plain progress lines)"
        )
    )
    if loads:
        lines.append(
            f"- load: 1-minute load average read before each run: min {min(loads):.1f}, "
            f"median {statistics.median(loads):.1f}, max {max(loads):.1f} on {os.cpu_count()} cores "
            "(it counts the benchmark's own processes, and any other work on the machine)"
        )
    lines.append("")
    lines.append(
        "| shape | tasks | metaflow median s | flowrs median s | metaflow per task µs "
        "| flowrs per task µs | ratio per task (metaflow/flowrs) "
        "| metaflow peak RSS MiB (largest process / all processes) | flowrs peak RSS MiB |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    reference = metaflow_reference(results, shapes_run) if "metaflow" in args.systems else None
    summary = {}
    borrowed = False
    for shape in shapes_run:
        mf = [r for r in results if r.shape is shape and r.system == "metaflow" and not r.error]
        rs = [r for r in results if r.shape is shape and r.system == "flowrs" and not r.error]
        if not mf and not rs:
            lines.append(f"| {shape.name} | {shape.tasks} | failed | failed | | | | | |")
            continue
        mf_wall = statistics.median(r.wall for r in mf) if mf else None
        rs_wall = statistics.median(r.wall for r in rs) if rs else None
        mf_task = mf_wall / shape.tasks if mf else None
        rs_task = rs_wall / shape.tasks if rs else None
        mf_task_cell = fmt_us(mf_task) if mf else "-"
        if shape.flowrs_only and reference:
            mf_task = reference[0]
            mf_task_cell = f"{fmt_us(mf_task)}*"
            borrowed = True
        ratio = mf_task / rs_task if mf_task and rs_task else None
        summary[shape.name] = {
            "tasks": shape.tasks,
            "flowrs_only": shape.flowrs_only,
            "metaflow_walls_s": [r.wall for r in mf],
            "flowrs_walls_s": [r.wall for r in rs],
            "metaflow_per_task_s": mf_task,
            "metaflow_per_task_from": reference[1] if shape.flowrs_only and reference else shape.name,
            "flowrs_per_task_s": rs_task,
            "ratio_per_task": ratio,
            "flowrs_peak_rss_bytes": max(r.max_rss for r in rs) if rs else None,
        }
        missing = "failed" if both else "-"
        cells = [
            shape.name,
            str(shape.tasks),
            fmt_s(mf_wall) if mf else ("not run" if shape.flowrs_only else missing),
            fmt_s(rs_wall) if rs else missing,
            mf_task_cell,
            fmt_us(rs_task) if rs else "-",
            f"{ratio:,.0f}x" if ratio else "-",
            f"{fmt_mib(max(r.max_rss for r in mf))} / {fmt_mib(max(r.tree_rss for r in mf))}" if mf else "-",
            fmt_mib(max(r.max_rss for r in rs)) if rs else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Medians over the runs; per task = median wall-clock / tasks in the run (process "
        "start and datastore setup included). Peak RSS: the largest over the runs; "
        "'largest process' from /usr/bin/time -v (wait4), 'all processes' the peak of the "
        f"sum over the process tree, sampled every {int(RSS_SAMPLE_INTERVAL_S * 1000)} ms."
    )
    if borrowed:
        tasks = [s.tasks for s in shapes_run if s.flowrs_only]
        lasting = " to ".join(dict.fromkeys(fmt_duration(reference[0] * n) for n in (min(tasks), max(tasks))))
        lines.append(
            f"\n\\* Metaflow did not run these shapes (at its per-task time here they would take "
            f"{lasting} each run): the figure is its per-task time in `{reference[1]}` measured "
            "above, and the ratio is per task against it."
        )
    elif any(s.flowrs_only for s in shapes_run) and "metaflow" in args.systems:
        lines.append(
            "\nMetaflow did not run the flowrs-only shapes, and no Metaflow foreach ran here to "
            "compare them with per task."
        )
    return "\n".join(lines), summary


# ----------------------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/compare-metaflow",
        description="Time the same flows in Metaflow (subprocess per task) and flowrs "
        "(in-process), alternating the two, and print a Markdown table.",
    )
    p.add_argument("--runs", type=int, default=3, help="runs per system and shape (default 3)")
    p.add_argument(
        "--max-workers", type=int, default=2,
        help="parallel tasks, the same for both systems (default 2)",
    )
    p.add_argument(
        "--payload-mib", type=int, default=10,
        help="size of the artifact passed along in the payload shapes (default 10)",
    )
    p.add_argument("--no-payload", action="store_true", help="skip the payload shapes")
    p.add_argument(
        "--no-large", action="store_true",
        help="skip the 1,000-item foreach (Metaflow takes minutes per run on 2 cores)",
    )
    p.add_argument(
        "--large-runs", type=int, default=1,
        help="runs per system of the 1,000-item foreach (default 1: Metaflow takes minutes)",
    )
    p.add_argument(
        "--flowrs-counts", type=counts_arg, default=counts_arg("10000,100000"), metavar="N,N",
        help="item counts of the flowrs-only foreach shapes: the items list inherited by every "
        "task, a trivial body; Metaflow would take hours (default 10000,100000; '' for none)",
    )
    p.add_argument(
        "--flowrs-runs", type=int, default=3,
        help="runs of each flowrs-only foreach shape (default 3)",
    )
    p.add_argument(
        "--inherited-counts", type=counts_arg, default=counts_arg("100000"), metavar="N,N",
        help="item counts of the flowrs-only foreach shapes whose start also sets a field of "
        "--inherit-mib MiB that no later step names (default 100000; '' for none)",
    )
    p.add_argument(
        "--inherit-mib", type=int, default=50,
        help="MiB of that inherited, unchanged field (default 50)",
    )
    p.add_argument(
        "--inherited-runs", type=int, default=3,
        help="runs of each inherited-field shape (default 3)",
    )
    p.add_argument(
        "--dir", metavar="DIR",
        help="where the runs' directories are made: a disk, as a user's project is (default: the "
        "system's temporary directory, or the cache directory's runs/ if that is a tmpfs)",
    )
    p.add_argument(
        "--no-tty", dest="tty", action="store_false",
        help="give the runs a file as stdout and stderr, not a pseudo-terminal (flowrs then "
        "prints plain progress lines instead of its live bar)",
    )
    p.add_argument(
        "--only", metavar="SUBSTRINGS",
        help="comma-separated substrings of shape names to run, e.g. 'foreach 100'",
    )
    p.add_argument(
        "--timeout", type=float, default=3600, help="seconds before one run is killed (default 3600)"
    )
    p.add_argument(
        "--systems", default="metaflow,flowrs",
        help="which systems to run (default metaflow,flowrs; one alone gives no ratios)",
    )
    p.add_argument("--keep", action="store_true", help="keep every run's directory, not only failed ones")
    p.add_argument("--json", metavar="FILE", help="also write every run's figures as JSON")
    p.add_argument(
        "--no-time-v", action="store_true",
        help="measure peak RSS through wait4 only, not /usr/bin/time -v",
    )
    args = p.parse_args(argv)
    if min(args.runs, args.large_runs, args.max_workers, args.flowrs_runs, args.inherited_runs) < 1:
        p.error("--runs, --large-runs, --flowrs-runs, --inherited-runs and --max-workers must be at least 1")
    if args.inherit_mib < 0:
        p.error("--inherit-mib must be 0 or more")
    args.dir = os.path.abspath(args.dir or default_runs_dir())
    try:
        os.makedirs(args.dir, exist_ok=True)
    except OSError as e:
        p.error(f"--dir {args.dir}: {e}")
    args.systems = [x.strip() for x in args.systems.split(",") if x.strip()]
    if not args.systems or set(args.systems) - {"metaflow", "flowrs"}:
        p.error("--systems takes metaflow, flowrs or both, comma-separated")
    return args


def main(argv):
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        todo = shapes(args)
        python = metaflow_venv() if "metaflow" in args.systems else None
        bins = build_flowrs() if "flowrs" in args.systems else None
    except SetupError as e:
        log(f"compare-metaflow: {e}")
        return 2
    mf_env = python and metaflow_env(os.path.join(os.path.dirname(os.path.dirname(python)), "metaflow-home"), None)
    rs_env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOW_", "RUST_LOG"))}
    results = []
    loads = []
    for shape in todo:
        mf_cmd, rs_cmd = commands(shape, python, bins, args)
        for i in range(shape.runs):
            # Alternate the systems, and which one goes first, so drifts hit both alike.
            order = [("metaflow", mf_cmd, mf_env), ("flowrs", rs_cmd, rs_env)]
            order = [o for o in order if o[0] in args.systems]
            if shape.flowrs_only:
                order = [o for o in order if o[0] == "flowrs"]
            if i % 2:
                order.reverse()
            for system, cmd, env in order:
                load = loadavg()
                if load is not None:
                    loads.append(load)
                r = run_once(system, shape, cmd, env, args)
                results.append(r)
                status = f"FAILED: {r.error}" if r.error else "ok"
                log(
                    f"{shape.name:<32} run {i + 1}/{shape.runs} {system:<8} "
                    f"{r.wall:9.4f} s  {r.wall / shape.tasks * 1e6:9.0f} µs/task  "
                    f"{r.max_rss / 2**20:7.1f} MiB  {status}"
                )
    table, summary = report(results, todo, python, args, started, loads)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "runs": [
                        {"system": r.system, "shape": r.shape.name, "wall_s": r.wall,
                         "max_rss_bytes": r.max_rss, "tree_rss_bytes": r.tree_rss,
                         "error": r.error}
                        for r in results
                    ],
                    "summary": summary,
                    "load_averages": loads,
                },
                f,
                indent=2,
            )
    failed = [r for r in results if r.error]
    if failed:
        log(f"\n{len(failed)} run(s) failed:")
        for r in failed:
            log(f"  {r.system} {r.shape.name}: {r.error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
