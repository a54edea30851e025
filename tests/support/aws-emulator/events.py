# Project addition to moto_sfn_server.py (imported by it): the EventBridge plumbing that event-driven flows
# rely on and moto 5.2.5 leaves out. PIN: moto==5.2.5 (patches private internals).
"""EventBridge as AWS runs it, for event-driven flows.

  a. Step Functions puts a "Step Functions Execution Status Change" event on the account's default event bus
     whenever an execution starts (RUNNING) and ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED). moto emits none.
     AWS: "Step Functions events in EventBridge"
     (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html).
  b. A rule whose target is a Step Functions state machine (its ARN, or an alias or version ARN) starts an
     execution with the event as input, after the target's Input / InputPath / InputTransformer. moto raises
     NotImplementedError for such a target (so PutEvents fails), and its input transformer inserts string
     values without quotes and knows no <aws.events.event>. AWS: "Amazon EventBridge targets" and "Amazon
     EventBridge input transformation"
     (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html): a value placed
     outside quotes is inserted as JSON (a string with its quotes), inside quotes as the raw text; a path that
     matches nothing gives null; predefined <aws.events.event> (the event WITHOUT its `detail` field, as the
     page's "Predefined variables" says), <aws.events.event.json> (the whole event, `detail` included),
     <aws.events.rule-name>, <aws.events.rule-arn>, <aws.events.event.ingestion-time>. A DISABLED rule delivers
     nothing. Delivery is asynchronous, as on AWS.
  c. S3 sends "Object Created" events to EventBridge for a bucket whose notification configuration has an
     EventBridgeConfiguration, on the default bus only (moto sends them to every bus, and without the target's
     input transformer). AWS: "Using EventBridge" in the S3 user guide
     (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html), event shape in
     "EventBridge event message structure" (detail.bucket.name, detail.object.key, ...).
Event times are ISO 8601 strings ("2026-01-01T00:00:00Z"), as AWS writes them; moto keeps epoch seconds.
"""
import copy, datetime, json, logging, threading, uuid

from moto.events import models as _ev_models
from moto.events.models import Rule as _Rule, events_backends as _events_backends
from moto.utilities.arns import parse_arn as _parse_arn

log = logging.getLogger("flowrs.events")
STATUS_CHANGE = "Step Functions Execution Status Change"


def _iso(t):
    if isinstance(t, (int, float)):
        t = datetime.datetime.fromtimestamp(float(t), tz=datetime.timezone.utc)
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return t


def _ms(t):
    if t is None:
        return None
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return int(t.timestamp() * 1000)
    return int(float(t) * 1000)


# ---- b. input transformation (AWS semantics)
def _lookup(event, path):
    """The value at a JSONPath of the simple form EventBridge accepts ($.a.b, $.a[0]); (found, value)."""
    if path == "$":
        return True, event
    if not path.startswith("$."):
        return False, None
    value = event
    for part in path[2:].replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]"):
            if not isinstance(value, list):
                return False, None
            i = int(part[1:-1])
            if not -len(value) <= i < len(value):
                return False, None
            value = value[i]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return False, None
    return True, value


def transform(template, paths_map, event, rule_name="", rule_arn=""):
    """InputTemplate with its <placeholders> filled: JSON outside quotes, raw text inside them."""
    values = {}
    for key, path in (paths_map or {}).items():
        found, value = _lookup(event, path)
        values[key] = value if found else None
    # AWS "Predefined variables": aws.events.event is the payload without `detail`; .json has it.
    values.setdefault("aws.events.event", {k: v for k, v in event.items() if k != "detail"})
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.rule-name", rule_name)
    values.setdefault("aws.events.rule-arn", rule_arn)
    values.setdefault("aws.events.event.ingestion-time", event.get("time"))
    out, i, quoted = [], 0, False
    while i < len(template):
        c = template[i]
        if c == "\\" and quoted:
            out.append(template[i:i + 2]); i += 2; continue
        if c == '"':
            quoted = not quoted
        if c == "<":
            end = template.find(">", i)
            key = template[i + 1:end] if end > 0 else None
            if key in values:
                value = values[key]
                if quoted:
                    text = value if isinstance(value, str) else json.dumps(value)
                    out.append(json.dumps(text)[1:-1])     # escaped for its place inside a JSON string
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        out.append(c); i += 1
    return "".join(out)


def target_input(target, event, rule):
    """The text a target receives for `event` (AWS: Input, InputPath or InputTransformer; else the event)."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        found, value = _lookup(event, target["InputPath"])
        return json.dumps(value if found else None)
    transformer = target.get("InputTransformer")
    if transformer:
        return transform(transformer.get("InputTemplate", ""), transformer.get("InputPathsMap"), event,
                         rule.name, rule.arn)
    return json.dumps(event)


def _start_execution(account, region, arn, text):
    from moto.stepfunctions.responses import get_backend
    try:
        get_backend(account, region).start_execution(arn, None, text)
    except Exception:   # AWS retries, then drops the event (or sends it to a DLQ): never fails PutEvents
        log.exception("EventBridge could not start an execution of %s", arn)


_orig_send = _Rule.send_to_targets


def _send_to_targets(self, original_event, transform_input=True):
    if self.state == "DISABLED":
        return
    # A rule without an event pattern (a schedule rule: ScheduleExpression only) matches no
    # event: it runs on its schedule alone (EventBridge User Guide, "Creating a rule that runs
    # on a schedule"). moto's empty pattern matches every event, so each status-change event
    # of a scheduled flow's run started another run of it.
    if not self.event_pattern.get_pattern():
        return
    ours = [t for t in self.targets if _parse_arn(t["Arn"]).service == "states"]
    others = [t for t in self.targets if t not in ours]
    if ours and self.event_pattern.matches_event(original_event):
        event = copy.deepcopy(original_event)
        event["time"] = _iso(event.get("time"))
        event.pop("ingestion-time", None)
        for target in ours:
            text = target_input(target, event, self)
            try:
                json.loads(text)
            except ValueError:   # Step Functions refuses input that is not JSON: the delivery fails, not PutEvents
                log.error("rule %s built input that is not JSON for %s: %s", self.name, target["Arn"], text)
                continue
            threading.Thread(target=_start_execution, args=(self.account_id, self.region_name, target["Arn"], text),
                             daemon=True).start()
    if others:
        saved = self.targets
        self.targets = others
        try:
            _orig_send(self, original_event, transform_input)
        finally:
            self.targets = saved


_Rule.send_to_targets = _send_to_targets


def put_default_bus(account, region, source, detail_type, detail, resources):
    """Puts a service event on the default bus of `account` in `region`, as the service itself does."""
    backend = _events_backends[account][region]
    backend.put_events([{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
                         "Resources": resources}])


# ---- a. Step Functions execution status changes
from moto.stepfunctions.parser.backend import execution as _execution

_orig_reflect = _execution.BaseExecutionWorkerCommunication._reflect_execution_status


def status_change_detail(ex, status=None):
    status = status or (ex.exec_status.value if hasattr(ex.exec_status, "value") else str(ex.exec_status))
    ended = status not in ("RUNNING",)
    output = ex.output if ended and status == "SUCCEEDED" else None
    return {
        "executionArn": ex.exec_arn,
        "stateMachineArn": ex.state_machine_arn,
        "name": ex.name,
        "status": status,
        "startDate": _ms(ex.start_date),
        "stopDate": _ms(ex.stop_date) if ended else None,
        "input": json.dumps(ex.input_data),
        "inputDetails": {"included": True},
        "output": json.dumps(output) if output is not None else None,
        "outputDetails": {"included": True} if output is not None else None,
        "error": ex.error if ended else None,
        "cause": ex.cause if ended else None,
    }


def _emit(ex, status=None):
    try:
        put_default_bus(ex.account_id, ex.region_name, "aws.states", STATUS_CHANGE,
                        status_change_detail(ex, status), [ex.exec_arn])
    except Exception:
        log.exception("could not put the status change of %s", ex.exec_arn)


def _reflect_and_emit(self):
    _orig_reflect(self)
    _emit(self.execution)


_execution.BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_and_emit

_orig_exec_start = _execution.Execution.start


def _start_and_emit(self):
    if type(self) is _execution.Execution:   # synchronous Express executions emit no events
        _emit(self, "RUNNING")                # before the worker starts, so it always comes first
    _orig_exec_start(self)


_execution.Execution.start = _start_and_emit


# ---- c. S3 "Object Created" events: default bus only, through the targets' transformers
from moto.s3 import notifications as _s3n


def _send_event_bridge_message(account_id, bucket, event_name, key):
    try:
        detail = {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": {"key": key.name, "size": key.size, "etag": key.etag.replace('"', ""),
                       "version-id": key.version_id, "sequencer": "617f08299329d189"},
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": event_name.split(":")[1] if ":" in event_name else event_name,
        }
        put_default_bus(account_id, bucket.region_name, "aws.s3", _s3n._detail_type(event_name), detail,
                        [bucket.arn])
    except Exception:   # asynchronous on AWS: never fails the S3 call
        log.exception("could not put the S3 event of %s/%s", bucket.name, key.name)


_s3n._send_event_bridge_message = _send_event_bridge_message
