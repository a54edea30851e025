"""Self-check of events.py (EventBridge for event-driven flows), started the way the Rust tests start it (launch.py).

Usage:  $FLOW_MOTO_PYTHON events_selftest.py     (about 10 s; under another python it re-executes with that venv)
Prints PASS/FAIL lines; exits 1 on any FAIL."""
import json, os, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from launch import _reexec_with_venv  # noqa: E402

_reexec_with_venv()
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

WORK = tempfile.mkdtemp(prefix="flowrs-events-")
LAUNCHER = subprocess.Popen([sys.executable, os.path.join(HERE, "launch.py"), "--log-dir", os.path.join(WORK, "logs")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
_line = []
_reader = threading.Thread(target=lambda: _line.append(LAUNCHER.stdout.readline()), daemon=True)
_reader.start()
_reader.join(60)
if not _line or not _line[0]:
    LAUNCHER.kill()
    sys.exit("FAIL launch.py did not start the server")
INFO = json.loads(_line[0])
EP, ROLE = INFO["endpoint"], INFO["role_arn"]
kw = dict(endpoint_url=EP, region_name=INFO["region"], aws_access_key_id="test", aws_secret_access_key="test",
          config=Config(retries={"total_max_attempts": 1}))
sfn, ev, s3 = (boto3.client(s, **kw) for s in ("stepfunctions", "events", "s3"))
fails = 0


def check(ok, what, detail=""):
    global fails
    fails += not ok
    print(f"{'PASS' if ok else 'FAIL'} {what}" + (f"  [{detail}]" if detail and not ok else ""), flush=True)


def executions(arn, n=1, timeout=20):
    """The first `n` finished executions of `arn` (with their input), oldest first."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        done = [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["status"] != "RUNNING"]
        if len(done) >= n:
            return [sfn.describe_execution(executionArn=e["executionArn"]) for e in done]
        time.sleep(0.2)
    return []


def machine(name, asl):
    return sfn.create_state_machine(name=name, definition=json.dumps(asl), roleArn=ROLE)["stateMachineArn"]


echo = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
boom = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}}}
up = machine("upstream", echo)
created = sfn.create_state_machine(name="downstream", definition=json.dumps(echo), roleArn=ROLE, publish=True)
down = created["stateMachineArn"]
failing = machine("failing", boom)
sfn.create_state_machine_alias(name="live", routingConfiguration=[
    {"stateMachineVersionArn": created["stateMachineVersionArn"], "weight": 100}])

# a + b. the upstream's SUCCEEDED status change starts the downstream (alias target), through the transformer
pattern = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
           "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [up]}}
ev.put_rule(Name="on-upstream", EventPattern=json.dumps(pattern))
template = '{"params": {}, "trigger": {"flow": "Upstream", "run_id": <run>}, "note": "run <run> of <arn>"}'
ev.put_targets(Rule="on-upstream", Targets=[{"Id": "down", "Arn": down + ":live", "RoleArn": ROLE, "InputTransformer": {
    "InputPathsMap": {"run": "$.detail.name", "arn": "$.detail.stateMachineArn"}, "InputTemplate": template}}])
# the whole event, for its shape
ev.put_rule(Name="all-status", EventPattern=json.dumps({"source": ["aws.states"], "detail": {"stateMachineArn": [up]}}))
raw = machine("raw", echo)
ev.put_targets(Rule="all-status", Targets=[{"Id": "raw", "Arn": raw, "RoleArn": ROLE}])
sfn.start_execution(stateMachineArn=up, name="run-1", input=json.dumps({"x": 1}))
got = executions(down)
inputs = [json.loads(e["input"]) for e in got]
check(inputs == [{"params": {}, "trigger": {"flow": "Upstream", "run_id": "run-1"},
                  "note": f"run run-1 of {up}"}],
      "an upstream SUCCEEDED starts the downstream alias with the transformed input", str(inputs))
seen = [json.loads(e["input"]) for e in executions(raw, 2)]
statuses = sorted(e["detail"]["status"] for e in seen)
check(statuses == ["RUNNING", "SUCCEEDED"], "RUNNING and SUCCEEDED status changes both reach EventBridge", str(statuses))
done = next((e for e in seen if e["detail"]["status"] == "SUCCEEDED"), {})
d = done.get("detail", {})
check(done.get("source") == "aws.states" and done.get("detail-type") == "Step Functions Execution Status Change"
      and d.get("name") == "run-1" and d.get("stateMachineArn") == up and d.get("executionArn", "").endswith(":run-1")
      and json.loads(d.get("input", "null")) == {"x": 1} and json.loads(d.get("output", "null")) == {"x": 1}
      and isinstance(d.get("startDate"), int) and isinstance(d.get("stopDate"), int)
      and done.get("time", "").endswith("Z") and done.get("resources") == [d.get("executionArn")],
      "the status-change event has the AWS shape", json.dumps(done))

# a FAILED execution does not match a SUCCEEDED pattern; its own event carries error and cause
ev.put_rule(Name="on-failing", EventPattern=json.dumps({"source": ["aws.states"], "detail": {"stateMachineArn": [failing],
                                                                                             "status": ["FAILED"]}}))
failed_sink = machine("failed-sink", echo)
ev.put_targets(Rule="on-failing", Targets=[{"Id": "s", "Arn": failed_sink, "RoleArn": ROLE, "InputPath": "$.detail"}])
sfn.start_execution(stateMachineArn=failing, name="bad-1")
got = [json.loads(e["input"]) for e in executions(failed_sink)]
check(len(got) == 1 and got[0]["status"] == "FAILED" and got[0]["error"] == "Boom" and got[0]["cause"] == "on purpose",
      "a FAILED execution's event carries its error and cause (InputPath applied)", str(got))
time.sleep(0.5)
check(len(sfn.list_executions(stateMachineArn=down)["executions"]) == 1,
      "a FAILED upstream does not start the downstream")

# a DISABLED rule delivers nothing
ev.disable_rule(Name="on-upstream")
sfn.start_execution(stateMachineArn=up, name="run-2")
time.sleep(1.5)
check(len(sfn.list_executions(stateMachineArn=down)["executions"]) == 1, "a DISABLED rule starts nothing")

# a schedule rule (no event pattern) matches no event: only its schedule would start a run
scheduled = machine("scheduled", echo)
ev.put_rule(Name="daily", ScheduleExpression="cron(0 6 * * ? *)")
ev.put_targets(Rule="daily", Targets=[{"Id": "s", "Arn": scheduled, "RoleArn": ROLE}])
sfn.start_execution(stateMachineArn=up, name="run-3")
time.sleep(1.5)
check(not sfn.list_executions(stateMachineArn=scheduled)["executions"], "a schedule rule matches no event")

# c. S3 Object Created (bucket with EventBridge notifications on), default bus only, key in the input
s3.create_bucket(Bucket="inbox")
s3.put_bucket_notification_configuration(Bucket="inbox", NotificationConfiguration={"EventBridgeConfiguration": {}})
s3.create_bucket(Bucket="quiet")
on_s3 = machine("on-s3", echo)
ev.put_rule(Name="on-upload", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {
    "bucket": {"name": ["inbox", "quiet"]}, "object": {"key": [{"prefix": "incoming/"}]}}}))
ev.put_targets(Rule="on-upload", Targets=[{"Id": "s", "Arn": on_s3, "RoleArn": ROLE, "InputTransformer": {
    "InputPathsMap": {"key": "$.detail.object.key", "size": "$.detail.object.size", "nope": "$.detail.nothing"},
    "InputTemplate": '{"params": {"key": <key>, "size": <size>, "missing": <nope>}, "event": <aws.events.event.json>, '
                     '"envelope": <aws.events.event>}'}}])
s3.put_object(Bucket="inbox", Key="incoming/a.csv", Body=b"1,2,3")
s3.put_object(Bucket="inbox", Key="elsewhere/b.csv", Body=b"x")
s3.put_object(Bucket="quiet", Key="incoming/c.csv", Body=b"x")
got = [json.loads(e["input"]) for e in executions(on_s3)]
time.sleep(1.0)
got_all = sfn.list_executions(stateMachineArn=on_s3)["executions"]
ok = (len(got) == 1 and len(got_all) == 1 and got[0]["params"]["key"] == "incoming/a.csv" and got[0]["params"]["size"] == 5
      and got[0]["event"]["detail"]["bucket"]["name"] == "inbox" and got[0]["event"]["detail-type"] == "Object Created")
check(len(got) == 1 and "detail" not in got[0]["envelope"] and got[0]["envelope"]["source"] == "aws.s3",
      "<aws.events.event> is the event without its detail, <aws.events.event.json> the whole event", str(got))
check(ok, "an object under the prefix in an EventBridge-enabled bucket starts one execution with its key", str(got))
check(len(got) == 1 and got[0]["params"].get("missing", "absent") is None,
      "a path matching nothing gives null", str(got))

# a PutEvents that matches no Step Functions target still works for moto's own targets (no NotImplementedError)
check(ev.put_events(Entries=[{"Source": "custom.app", "DetailType": "Thing", "Detail": "{}"}])["FailedEntryCount"] == 0,
      "PutEvents with a Step Functions target on the bus answers normally")

LAUNCHER.stdin.close()
LAUNCHER.wait(30)
print(f"{'ALL PASS' if not fails else f'{fails} FAIL(S)'}")
sys.exit(1 if fails else 0)
