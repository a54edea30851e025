"""Self-check of moto_sfn_server.py's AWS-like strictness and injected faults, started the way the
Rust tests start it (launch.py with --fault flags).

Usage:  $FLOW_MOTO_PYTHON faults_selftest.py     (about 30 s; under another python it re-executes with that venv)
Prints PASS/FAIL lines; exits 1 on any FAIL."""
import json, os, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from launch import _reexec_with_venv  # noqa: E402

_reexec_with_venv()
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

WORK = tempfile.mkdtemp(prefix="flowrs-faults-")
LAUNCHER = subprocess.Popen(
    [sys.executable, os.path.join(HERE, "launch.py"), "--log-dir", os.path.join(WORK, "logs"),
     "--fault", "MOTO_BATCH_SUBMIT_TPS=2", "--fault", "MOTO_BATCH_HOST_FAILURE_EVERY=3",
     "--fault", "MOTO_SFN_DESCRIBE_LAG=1", "--fault", "MOTO_SFN_UPDATE_LAG=3", "--fault", "MOTO_S3_DENY_LIST=1"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
_line = []
_reader = threading.Thread(target=lambda: _line.append(LAUNCHER.stdout.readline()), daemon=True)
_reader.start()
_reader.join(60)
if not _line or not _line[0]:
    LAUNCHER.kill()
    sys.exit("FAIL launch.py did not start the server")
INFO = json.loads(_line[0])
EP, QUEUE, ROLE = INFO["endpoint"], INFO["queue"], INFO["role_arn"]
kw = dict(endpoint_url=EP, region_name=INFO["region"], aws_access_key_id="test", aws_secret_access_key="test",
          config=Config(retries={"total_max_attempts": 1}))
b, sfn, ev, s3 = (boto3.client(s, **kw) for s in ("batch", "stepfunctions", "events", "s3"))
fails = 0

def check(ok, what, detail=""):
    global fails
    fails += not ok
    print(f"{'PASS' if ok else 'FAIL'} {what}" + (f"  [{detail}]" if detail and not ok else ""), flush=True)

def code(f):
    try: f(); return "ok"
    except ClientError as e: return e.response["Error"]["Code"]

def submit(name, jd):
    while True:                                   # wait out the rate limit (2/s)
        try: return b.submit_job(jobName=name, jobQueue=QUEUE, jobDefinition=jd)["jobId"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "TooManyRequestsException": raise
            time.sleep(0.3)

def wait_job(j, timeout=60):
    t0 = time.time()
    while (d := b.describe_jobs(jobs=[j])["jobs"][0])["status"] not in ("SUCCEEDED", "FAILED") and time.time() - t0 < timeout:
        time.sleep(0.2)
    return d

# 1. EventBridge names: 64 characters pass, 65 are refused as on AWS
check(code(lambda: ev.put_rule(Name="r" * 64, ScheduleExpression="rate(1 day)")) == "ok", "EventBridge rule name of 64 characters accepted")
check(code(lambda: ev.put_rule(Name="r" * 65, ScheduleExpression="rate(1 day)")) == "ValidationException", "EventBridge rule name of 65 characters refused")
check(code(lambda: ev.list_rules(NamePrefix="p" * 65)) == "ValidationException", "ListRules NamePrefix of 65 characters refused")

# 2. SubmitJob throttling: a burst past 2/s gets 429 TooManyRequestsException
b.register_job_definition(jobDefinitionName="quick", type="container",
                          containerProperties={"image": "local", "command": ["true"], "resourceRequirements": [
                              {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}]})
time.sleep(1.1)
codes = [code(lambda i=i: b.submit_job(jobName=f"burst{i}", jobQueue=QUEUE, jobDefinition="quick")) for i in range(8)]
check(codes.count("TooManyRequestsException") >= 4 and "ok" in codes, "SubmitJob burst of 8 throttled past the rate", str(codes))

# 3. Step Functions names a throttled Batch submit Batch.AWSBatchException
asl = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True,
       "Parameters": {"JobName": "t", "JobQueue": QUEUE, "JobDefinition": "quick"}}}}
arn = sfn.create_state_machine(name="throttled", definition=json.dumps(asl), roleArn=ROLE)["stateMachineArn"]
time.sleep(1.1)
for i in range(4): code(lambda i=i: b.submit_job(jobName=f"drain{i}", jobQueue=QUEUE, jobDefinition="quick"))
e = sfn.start_execution(stateMachineArn=arn)["executionArn"]
lag = code(lambda: sfn.describe_execution(executionArn=e))
check(lag == "ExecutionDoesNotExist", "first DescribeExecution after StartExecution: ExecutionDoesNotExist", lag)
t0 = time.time()
while sfn.describe_execution(executionArn=e)["status"] == "RUNNING" and time.time() - t0 < 30: time.sleep(0.2)
hist = sfn.get_execution_history(executionArn=e)["events"]
errs = [h["taskFailedEventDetails"]["error"] for h in hist if "taskFailedEventDetails" in h]
check(errs[:1] == ["Batch.AWSBatchException"], "throttled submit surfaces in Step Functions as Batch.AWSBatchException", str(errs))

# 4. Spot reclaim of every 3rd job's first attempt, retried by evaluateOnExit
b.register_job_definition(jobDefinitionName="spot", type="container", retryStrategy={"attempts": 2, "evaluateOnExit": [
    {"onStatusReason": "Host EC2*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}]},
    containerProperties={"image": "local", "command": ["true"], "resourceRequirements": [
        {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}]})
jobs = [wait_job(submit(f"spot{i}", "spot")) for i in range(3)]
reasons = [[a.get("statusReason", "") for a in j.get("attempts", [])] for j in jobs]
hit = [r for r in reasons if r and r[0].startswith("Host EC2")]
check(len(hit) == 1 and all(j["status"] == "SUCCEEDED" for j in jobs) and len(hit[0]) == 2,
      "one job in three reclaimed on attempt 1, retried on attempt 2, all SUCCEEDED", str(reasons))

# 5. a job killed for its timeout is not retried, whatever its retryStrategy
b.register_job_definition(jobDefinitionName="slow", type="container", retryStrategy={"attempts": 3},
                          timeout={"attemptDurationSeconds": 1},
                          containerProperties={"image": "local", "command": ["sleep", "30"], "resourceRequirements": [
                              {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}]})
j = wait_job(submit("slow", "slow"))
att = j.get("attempts", [])
check(j["status"] == "FAILED" and len(att) == 1 and "timeout" in att[0].get("statusReason", ""),
      "a job killed for its timeout: FAILED after 1 attempt, not retried", f"{j['status']} {[a.get('statusReason') for a in att]}")
# 6. (project) versions and aliases run their own definition; executions belong to the state machine
def passing(result):
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": result}, "End": True}}})
def run(arn, name):
    e = sfn.start_execution(stateMachineArn=arn, name=name)["executionArn"]
    code(lambda: sfn.describe_execution(executionArn=e))          # the injected lag
    t0 = time.time()
    while (d := sfn.describe_execution(executionArn=e))["status"] == "RUNNING" and time.time() - t0 < 10:
        time.sleep(0.1)
    return json.loads(d.get("output") or "{}").get("v")
created = sfn.create_state_machine(name="versioned", definition=passing("one"), roleArn=ROLE, publish=True)
sm, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
    {"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
v2 = sfn.update_state_machine(stateMachineArn=sm, definition=passing("two"), publish=True)["stateMachineVersionArn"]
check(run(sm, "lagging") == "one", "MOTO_SFN_UPDATE_LAG: the unqualified ARN runs the previous definition right after an update")
check(run(alias, "on-alias") == "one", "an alias runs the version it points at")
sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
    {"stateMachineVersionArn": v2, "weight": 100}])
ran = run(alias, "on-alias-2"), run(v1, "on-v1")
check(ran == ("two", "one"), "an alias and a version ARN run their version", str(ran))
names = {e["name"] for e in sfn.list_executions(stateMachineArn=sm)["executions"]}
check({"lagging", "on-alias", "on-alias-2", "on-v1"} <= names, "executions on versions and aliases are listed under the state machine", str(names))
versions = [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]]
check(versions == [v2, v1], "ListStateMachineVersions, newest first", str(versions))
check(code(lambda: sfn.delete_state_machine_version(stateMachineVersionArn=v2)) == "ValidationException",
      "a version an alias points at cannot be deleted")
sfn.delete_state_machine_version(stateMachineVersionArn=v1)
check(code(lambda: sfn.start_execution(stateMachineArn=v1)) == "StateMachineDoesNotExist", "a deleted version cannot start")
check(code(lambda: sfn.start_execution(stateMachineArn=sm + ":nosuchalias")) == "StateMachineDoesNotExist",
      "an unknown alias cannot start")
time.sleep(3)
check(run(sm, "settled") == "two", "past the lag, the unqualified ARN runs the current definition")

# 7. (project) without s3:ListBucket a missing key is a 403, not a 404
s3.create_bucket(Bucket="deny-list")
s3.put_object(Bucket="deny-list", Key="there", Body=b"x")
check(s3.get_object(Bucket="deny-list", Key="there")["Body"].read() == b"x", "MOTO_S3_DENY_LIST: an existing key reads")
check(code(lambda: s3.get_object(Bucket="deny-list", Key="missing")) == "AccessDenied", "GetObject of a missing key: AccessDenied")
check(code(lambda: s3.head_object(Bucket="deny-list", Key="missing")) == "403", "HeadObject of a missing key: 403")
check(code(lambda: s3.list_objects_v2(Bucket="deny-list")) == "AccessDenied", "ListObjectsV2: AccessDenied")
print("RESULT", "PASS" if fails == 0 else "FAIL")
LAUNCHER.stdin.close()  # EOF stops the launcher and the server
LAUNCHER.wait()
raise SystemExit(1 if fails else 0)
