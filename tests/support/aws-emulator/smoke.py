"""Smoke test of launch.py + moto_sfn_server.py, the way the Rust tests use them.

Usage:  $FLOW_MOTO_PYTHON smoke.py     (under another python it re-executes with that venv)
Prints PASS/FAIL/INFO lines; exits 1 on any failure.  Checks:
  1. launch.py prints its JSON line; a Step Functions execution (explicit name) of a
     batch:submitJob.sync task runs a real local process found through --path-prefix, which
     writes a local file and an S3 object; the execution SUCCEEDS; job status/exit code/log;
  2. closing the launcher's stdin stops it and the server (port closed, pid gone);
  3. SIGTERM to the launcher stops the server and kills a job that is still running;
  4. SIGKILL of the launcher still stops the server (PR_SET_PDEATHSIG) and its running job."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from launch import _reexec_with_venv  # noqa: E402

_reexec_with_venv()
import boto3  # noqa: E402

fails = 0


def check(ok, what, detail=""):
    global fails
    fails += not ok
    print(f"{'PASS' if ok else 'FAIL'} {what}" + (f"  [{detail}]" if detail and not ok else ""), flush=True)
    return ok


def launch(work, *extra):
    """Start launch.py; return (Popen, info dict or None)."""
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "launch.py"), "--log-dir", os.path.join(work, "logs"),
                          "--max-parallel", "2", *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "launch.err"), "ab"))
    got = []
    t = threading.Thread(target=lambda: got.append(p.stdout.readline()), daemon=True)
    t.start()
    t.join(60)
    if not got or not got[0]:
        p.kill()
        p.wait()
        print(open(os.path.join(work, "launch.err")).read(), file=sys.stderr)
        return p, None
    return p, json.loads(got[0])


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pids_with(marker):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and alive(int(d)):
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out


def wait_until(cond, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def clients(info):
    kw = dict(endpoint_url=info["endpoint"], region_name=info["region"], aws_access_key_id="test",
              aws_secret_access_key="test")
    return boto3.client("s3", **kw), boto3.client("batch", **kw), boto3.client("stepfunctions", **kw)


def run_execution(sfn, info, name, asl, exec_name, timeout=60):
    arn = sfn.create_state_machine(name=name, definition=json.dumps(asl), roleArn=info["role_arn"])["stateMachineArn"]
    e = sfn.start_execution(stateMachineArn=arn, name=exec_name, input="{}")["executionArn"]
    wait_until(lambda: sfn.describe_execution(executionArn=e)["status"] != "RUNNING", timeout)
    return sfn.describe_execution(executionArn=e)


def main():
    work = tempfile.mkdtemp(prefix="flowrs-moto-smoke-")
    print(f"INFO work dir {work}", flush=True)
    # A tool on a --path-prefix dir, like the flow binary the Rust tests put there.
    tools = os.path.join(work, "tools")
    os.makedirs(tools)
    with open(os.path.join(tools, "flowrs-smoke-tool"), "w") as f:
        f.write('#!/bin/sh\nset -e\necho "hi $AWS_BATCH_JOB_ID $1" > "$OUT_DIR/x-$AWS_BATCH_JOB_ID"\n'
                'exec python3 -c "import boto3,os,sys; boto3.client(\'s3\').put_object(Bucket=\'smoke\', '
                'Key=\'out/\'+os.environ[\'AWS_BATCH_JOB_ID\'], Body=sys.argv[1])" "$1"\n')
    os.chmod(os.path.join(tools, "flowrs-smoke-tool"), 0o755)
    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir)
    venv_bin = os.path.dirname(sys.executable)  # jobs' python3 must have boto3

    # ------------------------------------------------------------ 1. an execution runs a real job
    t0 = time.monotonic()
    p, info = launch(work, "--path-prefix", tools, "--path-prefix", venv_bin)
    if not check(info is not None, "launch.py printed its JSON line"):
        return 1
    print(f"INFO ready in {time.monotonic() - t0:.1f}s: {json.dumps(info)}", flush=True)
    check(all(k in info for k in ("endpoint", "port", "pid", "queue", "queue_arn", "role_arn")) and
          info["endpoint"] == f"http://127.0.0.1:{info['port']}" and info["queue"] == "flowrs-queue",
          "JSON line has endpoint/port/pid/queue/queue_arn/role_arn", info)
    s3, batch, sfn = clients(info)
    s3.create_bucket(Bucket="smoke")
    batch.register_job_definition(jobDefinitionName="smoke-jd", type="container", parameters={"word": "unset"},
                                  containerProperties={
                                      "image": "local", "command": ["flowrs-smoke-tool", "Ref::word"],
                                      "environment": [{"name": "OUT_DIR", "value": out_dir}],
                                      "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                               {"type": "MEMORY", "value": "512"}]})
    asl = {"StartAt": "Job", "States": {"Job": {
        "Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True,
        "Parameters": {"JobName": "smoke", "JobQueue": info["queue_arn"], "JobDefinition": "smoke-jd",
                       "Parameters": {"word": "hello"}},
        "ResultSelector": {"JobId.$": "$.JobId", "Status.$": "$.Status"}}}}
    t1 = time.monotonic()
    d = run_execution(sfn, info, "smoke-sm", asl, "smoke-exec-1")
    print(f"INFO execution took {time.monotonic() - t1:.1f}s", flush=True)
    check(d["status"] == "SUCCEEDED", "execution 'smoke-exec-1' SUCCEEDED", f"{d['status']} {d.get('error')} {d.get('cause')}")
    check(d["executionArn"].endswith(":smoke-exec-1"), "execution kept its explicit name", d["executionArn"])
    job_id = json.loads(d.get("output") or "{}").get("JobId")
    if check(bool(job_id), "execution output has the Batch JobId", d.get("output")):
        j = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        check(j["status"] == "SUCCEEDED" and j["container"].get("exitCode") == 0, "Batch job SUCCEEDED with exit code 0",
              f"{j['status']} {j['container'].get('exitCode')} {j['container'].get('reason')}")
        local = os.path.join(out_dir, f"x-{job_id}")
        check(os.path.exists(local) and open(local).read() == f"hi {job_id} hello\n",
              "job ran the --path-prefix tool as a local process (file written, Ref::word substituted)",
              open(local).read() if os.path.exists(local) else "missing")
        try:
            body = s3.get_object(Bucket="smoke", Key=f"out/{job_id}")["Body"].read().decode()
        except Exception as ex:
            body = repr(ex)
        check(body == "hello", "job wrote s3://smoke/out/<jobId> through the emulator endpoint", body)
        check(os.path.exists(os.path.join(info["log_dir"], f"{job_id}-1.log")), "job log <log-dir>/<jobId>-1.log exists")

    # ------------------------------------------------------ 2. closing stdin stops launcher + server
    p.stdin.close()
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "launcher exited 0 after its stdin closed", rc)
    check(wait_until(lambda: not alive(info["pid"]), 5), f"server pid {info['pid']} is gone")
    check(not port_open(info["port"]), f"port {info['port']} is closed")
    if rc is None:
        p.kill()

    # ------------------------------- 3 + 4. SIGTERM / SIGKILL of the launcher while a job is running
    for sig in (signal.SIGTERM, signal.SIGKILL):
        marker = f"smoke-sleep-{uuid.uuid4()}"
        p, info = launch(work)
        if not check(info is not None, f"launcher #{sig.name} started"):
            continue
        s3, batch, sfn = clients(info)
        batch.register_job_definition(jobDefinitionName="sleepy", type="container", containerProperties={
            "image": "local", "command": ["python3", "-c", "import time; time.sleep(120)", marker],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}]})
        batch.submit_job(jobName="sleepy", jobQueue=info["queue"], jobDefinition="sleepy")
        if not check(wait_until(lambda: pids_with(marker), 15), f"[{sig.name}] long job is running"):
            os.kill(p.pid, signal.SIGKILL)
            continue
        p.send_signal(sig)
        check(wait_until(lambda: not alive(info["pid"]), 15), f"[{sig.name}] of the launcher stopped the server")
        check(wait_until(lambda: not pids_with(marker), 10), f"[{sig.name}] the running job's process was killed",
              pids_with(marker))
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        if sig == signal.SIGTERM:
            check(rc == 0, "[SIGTERM] launcher exited 0", rc)
        for pid in pids_with(marker):  # don't leave anything behind even on failure
            os.kill(pid, signal.SIGKILL)

    print("RESULT", "PASS" if not fails else f"FAIL ({fails} failed)", flush=True)
    if not fails:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
