"""Starts a private moto server (moto_sfn_server.py, local Batch runner on) for one test, prints
where it is, and stops it when the caller goes away.

Usage:  $FLOW_MOTO_PYTHON launch.py [--log-dir DIR] [--max-parallel N] [--path-prefix DIR]...
                                     [--queue NAME] [--compute-env NAME] [--region R] [--no-stdin]
                                     [--fault NAME=VALUE]...

1. picks a free port on 127.0.0.1 and starts moto_sfn_server.py with MOTO_PORT=port,
   MOTO_BATCH_RUN_LOCAL=1, MOTO_BATCH_LOG_DIR=--log-dir, MOTO_BATCH_MAX_PARALLEL=--max-parallel and
   the --path-prefix dirs first on PATH (Batch jobs run as local processes with the server's PATH,
   so that is how they find the flow binary); server output goes to <log-dir>/moto-server.log;
   the fault and strictness variables of moto_sfn_server.py (FAULT_VARS) reach the server from
   this process's environment or from --fault NAME=VALUE (which wins);
2. waits (--startup-timeout, default 30 s) until GET /moto-api/config answers, posts
   {"batch":{"use_docker":false},"stepfunctions":{"execute_state_machine":true}}, and creates the
   IAM service role, UNMANAGED compute environment and job queue (setup_batch.py);
3. prints ONE JSON line on stdout and flushes it:
   {"endpoint": "http://127.0.0.1:PORT", "port": PORT, "pid": SERVER_PID, "queue": "flowrs-queue",
    "queue_arn": ..., "role_arn": ..., "compute_environment_arn": ..., "region": "us-east-1",
    "log_dir": ..., "server_log": ...}
4. stays up until its stdin reaches EOF (unless --no-stdin) or it gets SIGTERM/SIGINT/SIGHUP, then
   sends the server SIGTERM (moto's handler exits and the runner kills running job process groups),
   waits for it (SIGKILL after 15 s) and exits 0.  If the server dies on its own, exits 1.
A test spawns it with piped stdin/stdout and reads the line; dropping the child's stdin (also what
happens when the test process dies) stops everything.  If the launcher itself is SIGKILLed, the
server gets SIGTERM through PR_SET_PDEATHSIG (Linux).  On a startup failure nothing is printed on
stdout, the reason and the server log's tail go to stderr, and the exit status is 1.
Needs moto 5.2.5 + boto3: run it with the venv from scripts/install-test-tools.sh ($FLOW_MOTO_PYTHON);
under another interpreter it re-executes itself with that one if it can find it."""
import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = {"batch": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
# The server's fault injection switches (see moto_sfn_server.py's docstring); --fault accepts only these,
# so a misspelt fault fails the launch instead of silently testing nothing.
FAULT_VARS = ("MOTO_BATCH_SUBMIT_TPS", "MOTO_BATCH_HOST_FAILURE_EVERY", "MOTO_BATCH_HOST_FAILURE_AFTER",
              "MOTO_SFN_DESCRIBE_LAG", "MOTO_SFN_UPDATE_LAG", "MOTO_S3_DENY_LIST")


def _reexec_with_venv():
    """Without boto3 + moto 5.2.5 here, re-run this script with $FLOW_MOTO_PYTHON or the default cache venv."""
    try:
        import boto3, moto  # noqa: F401
        if moto.__version__ == "5.2.5":
            return
    except ImportError:
        pass
    cache = os.environ.get("FLOW_TOOLS_CACHE") or os.path.expanduser("~/.cache/flowrs-tools")
    # (a venv's python is a symlink to its base interpreter, so compare paths unresolved; the env
    # marker stops a loop if the chosen interpreter lacks the packages too)
    for py in (os.environ.get("FLOW_MOTO_PYTHON"), os.path.join(cache, "moto-venv", "bin", "python")):
        if py and os.access(py, os.X_OK) and not os.environ.get("_FLOWRS_MOTO_REEXEC"):
            os.environ["_FLOWRS_MOTO_REEXEC"] = "1"
            os.execv(py, [py, os.path.abspath(sys.argv[0])] + sys.argv[1:])
    sys.exit(f"{os.path.basename(sys.argv[0])}: needs boto3 + moto 5.2.5 (not in {sys.executable}); "
             "run scripts/install-test-tools.sh and use $FLOW_MOTO_PYTHON")


def log(msg):
    print(f"launch.py: {msg}", file=sys.stderr, flush=True)


def free_port():
    # Bind port 0 and release it: a tiny window remains in which another process may take it;
    # start_server() retries with a new port when the server cannot bind.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pdeathsig(parent_pid):
    """preexec_fn: SIGTERM the server when the launcher dies (even by SIGKILL).  Best effort, Linux."""
    def setup():
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except Exception:
            return
        if os.getppid() != parent_pid:  # the launcher died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)
    return setup


def tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"<cannot read {path}: {e}>"


def http(method, url, body=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def start_server(args, server_log):
    """Start the server on a free port and wait until it answers; return (proc, port).
    Exits the launcher with status 1 on failure."""
    path = os.pathsep.join([d for p in args.path_prefix for d in p.split(os.pathsep) if d] + [os.environ.get("PATH", "")])
    for attempt in range(3):
        port = free_port()
        env = dict(os.environ, MOTO_PORT=str(port), MOTO_BATCH_RUN_LOCAL="1", MOTO_BATCH_LOG_DIR=args.log_dir,
                   MOTO_BATCH_MAX_PARALLEL=str(args.max_parallel), PATH=path, PYTHONUNBUFFERED="1")
        env.update(args.fault)
        with open(server_log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "moto_sfn_server.py"), "-H", "127.0.0.1", "-p", str(port)],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                # own session: a terminal's Ctrl-C reaches the launcher only, which then stops the server cleanly
                start_new_session=True, preexec_fn=_pdeathsig(os.getpid()))
        url = f"http://127.0.0.1:{port}/moto-api/config"
        deadline = time.monotonic() + args.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                http("GET", url, timeout=2)
                return proc, port
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        if proc.poll() is None:
            stop_server(proc)
            log(f"moto server on port {port} did not answer {url} within {args.startup_timeout}s; log tail "
                f"({server_log}):\n{tail(server_log)}")
            sys.exit(1)
        text = tail(server_log)
        if "Address already in use" in text and attempt < 2:
            log(f"port {port} was taken meanwhile; retrying with another one")
            continue
        log(f"moto server exited with status {proc.returncode} during startup; log tail ({server_log}):\n{text}")
        sys.exit(1)
    sys.exit(1)


def stop_server(proc, grace=15):
    """SIGTERM (moto exits via sys.exit; its atexit hook kills the running jobs' process groups);
    SIGKILL its process group if it is still there after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        log(f"server {proc.pid} ignored SIGTERM for {grace}s; killing it (running jobs may be left behind)")
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session/group (start_new_session)
        except OSError:
            pass
        proc.wait()


def fault(text):
    """argparse type of --fault: NAME=VALUE with NAME one of FAULT_VARS."""
    name, eq, value = text.partition("=")
    if not eq or name not in FAULT_VARS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE with NAME one of {', '.join(FAULT_VARS)}")
    return name, value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log-dir", help="Batch job logs (<jobId>-<attempt>.log) and moto-server.log "
                                      "(default: a new temporary directory, kept)")
    ap.add_argument("--max-parallel", type=int, default=4, help="Batch job attempts running at once (default 4)")
    ap.add_argument("--path-prefix", action="append", default=[], metavar="DIR",
                    help="directory put first on the server's PATH, which jobs inherit (repeatable, or "
                         f"'{os.pathsep}'-separated)")
    ap.add_argument("--queue", default="flowrs-queue", help="job queue name (default flowrs-queue)")
    ap.add_argument("--compute-env", default="flowrs-ce", help="compute environment name (default flowrs-ce)")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--startup-timeout", type=float, default=30.0, help="seconds (default 30)")
    ap.add_argument("--no-stdin", action="store_true", help="ignore stdin; run until SIGTERM/SIGINT (manual use)")
    ap.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", type=fault,
                    help="set one of the server's fault variables (repeatable): " + ", ".join(FAULT_VARS))
    args = ap.parse_args()
    args.fault = dict(args.fault)

    args.log_dir = os.path.abspath(args.log_dir or tempfile.mkdtemp(prefix="flowrs-moto-"))
    os.makedirs(args.log_dir, exist_ok=True)
    server_log = os.path.join(args.log_dir, "moto-server.log")

    stop = threading.Event()
    # Handlers first: a signal during startup must not kill the launcher before the server is stopped.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())

    proc, port = start_server(args, server_log)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        http("POST", f"{endpoint}/moto-api/config", CONFIG)
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        sys.path.insert(0, HERE)
        from setup_batch import setup
        arns = setup(endpoint, args.region, args.compute_env, args.queue)
        if stop.is_set():
            return 0
        line = {"endpoint": endpoint, "port": port, "pid": proc.pid, "queue": args.queue,
                "queue_arn": arns["queue_arn"], "role_arn": arns["service_role_arn"],
                "compute_environment_arn": arns["compute_environment_arn"], "region": args.region,
                "log_dir": args.log_dir, "server_log": server_log}
        try:
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the reader is already gone; keep the exit-time flush quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            return 0

        # Wait on stdin with select + os.read in this thread: a daemon thread blocked in
        # sys.stdin.read() makes the interpreter abort at exit (buffered-reader lock).
        while not stop.is_set():
            if proc.poll() is not None:
                log(f"moto server exited on its own with status {proc.returncode}; log tail ({server_log}):\n"
                    f"{tail(server_log)}")
                return 1
            if args.no_stdin:
                stop.wait(0.5)
                continue
            try:
                if select.select([0], [], [], 0.5)[0] and not os.read(0, 65536):
                    break  # EOF: the caller closed our stdin or died
            except OSError:
                break  # stdin closed or unusable: same as EOF
        return 0
    except Exception as e:
        log(f"setup failed: {e!r}; server log tail ({server_log}):\n{tail(server_log)}")
        return 1
    finally:
        stop_server(proc)


if __name__ == "__main__":
    _reexec_with_venv()
    sys.exit(main())
