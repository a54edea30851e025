"""The emulator's request log: one JSON line per AWS call, for proving IAM policies (tests/sfn_policy_proof.rs).

Off unless MOTO_REQUEST_LOG=/path/file.jsonl is set in the server's environment (launch.py passes its own
environment on); moto_sfn_server.py then calls install(path).  Each line:

  {"principal": P, "service": "s3", "operation": "GetObject", "action": "s3:GetObject",
   "resources": ["arn:aws:s3:::bucket/key"], "conditions": {"s3:prefix": "..."}, "status": 200,
   "implied_by": null | "why"}

principal:
  * an HTTP call: the access key id of its SigV4 credential (the test gives each process its own: the CLI runs as
    `deployer`, a Batch job as `job-<job role name>`, see the local runner in moto_sfn_server.py);
  * `state-machine`: moto's Step Functions interpreter calls S3 and Batch over HTTP with the access key `ak`
    (moto/stepfunctions/parser/asl/utils/boto_client.py) on behalf of the execution: switch decisions, headObject,
    Distributed Map ItemReader/ResultWriter, `batch:submitJob.sync` and its DescribeJobs polling;
  * `events-target:<role ARN>`: what EventBridge does as a rule target's role when the rule fires (moto never fires
    a schedule rule; the call is logged when the target is put, see below).

One call can need several IAM actions; each is its own line, with `implied_by` saying why:
  * iam:PassRole of every role ARN a call hands to a service (CreateStateMachine/UpdateStateMachine roleArn to
    states.amazonaws.com, RegisterJobDefinition jobRoleArn/executionRoleArn to batch.amazonaws.com, PutTargets
    RoleArn to events.amazonaws.com), with the condition key iam:PassedToService (IAM User Guide, "Granting a user
    permissions to pass a role to an AWS service");
  * batch:TagResource for RegisterJobDefinition with tags (AWS Batch User Guide, "Grant permission to tag resources
    on creation": tag-on-create needs batch:TagResource, condition key batch:CreateAction);
  * CopyObject: s3:GetObject on the source besides s3:PutObject on the target (Amazon S3 API Reference, "CopyObject");
  * s3:ListBucket on the bucket (no s3:prefix) for a GetObject/HeadObject that answers 404: S3 answers 404 for a
    missing key only to a caller allowed s3:ListBucket, 403 otherwise (Amazon S3 API Reference, "GetObject"), and
    the flow reads "missing" as "not written yet";
  * what Step Functions itself does with the state machine's role where moto takes a shortcut (Step Functions
    Developer Guide, "IAM policies for integrated services"): a `batch:submitJob.sync` task makes Step Functions put
    and describe the managed rule StepFunctionsGetEventsForBatchJobsRule ("AWS Batch" policy: events:PutTargets,
    events:PutRule, events:DescribeRule); each item of a Distributed Map is a child execution that Step Functions
    starts and follows ("IAM policies for using Distributed Map states": states:StartExecution on the state machine,
    states:DescribeExecution and states:StopExecution on `execution:<name>/*`), which moto runs in process;
  * a PutTargets target that is a state machine: EventBridge starts an execution of it as the target's role when the
    rule fires (EventBridge User Guide, "Amazon EventBridge targets": the role needs states:StartExecution on the
    target), logged under `events-target:<RoleArn>`.
Resources are the ARNs IAM authorizes the action against (Service Authorization Reference): S3 object ARNs
`arn:aws:s3:::bucket/key`, the bucket ARN for ListObjectsV2/HeadBucket (with the `s3:prefix` condition key when the
request has a prefix), job definition + job queue + job ARNs for SubmitJob, the state machine, alias, version or
execution ARN for Step Functions, the rule ARN for EventBridge, `*` for actions without resource-level permissions.
Calls without a SigV4 credential (moto-api, the launcher's configuration) are not AWS calls and are not logged.
"""
import io
import json
import re
import threading
import urllib.parse

from moto.core import DEFAULT_ACCOUNT_ID

# moto's Step Functions interpreter signs its service calls with this access key (boto_client.py).
MOTO_SFN_KEY = "ak"
BATCH_EVENTS_RULE = "StepFunctionsGetEventsForBatchJobsRule"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_lock = threading.Lock()
_path = None
_tl = threading.local()


def _write(entry):
    with _lock, open(_path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def log_call(principal, service, operation, action, resources, conditions=None, status=None, implied_by=None):
    """Append one line (see the module docstring)."""
    _write({"principal": principal, "service": service, "operation": operation, "action": action,
            "resources": list(resources), "conditions": conditions or {}, "status": status,
            "implied_by": implied_by})


def _principal(key):
    return "state-machine" if key == MOTO_SFN_KEY else key


def _arn(service, region, resource):
    return f"arn:aws:{service}:{region}:{DEFAULT_ACCOUNT_ID}:{resource}"


# ---------------------------------------------------------------------------------------------- S3
def _s3_calls(method, path, query, headers, host):
    """[(operation, action, resources, conditions)] of one S3 request (path-style or virtual-host)."""
    path = path.lstrip("/")
    bucket_in_host = re.match(r"^([^.:]+)\.(localhost|127\.0\.0\.1|s3[.-])", host or "")
    if bucket_in_host:
        bucket, key = bucket_in_host.group(1), path
    else:
        bucket, _, key = path.partition("/")
    q = set(query)
    bucket_arn, object_arn = f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{key}"
    if not bucket:
        return [("ListBuckets", "s3:ListAllMyBuckets", ["*"], {})]
    if not key:
        if method == "HEAD":
            return [("HeadBucket", "s3:ListBucket", [bucket_arn], {})]
        if method == "GET":
            if "uploads" in q:
                return [("ListMultipartUploads", "s3:ListBucketMultipartUploads", [bucket_arn], {})]
            if "location" in q:
                return [("GetBucketLocation", "s3:GetBucketLocation", [bucket_arn], {})]
            if "versions" in q:
                return [("ListObjectVersions", "s3:ListBucketVersions", [bucket_arn], {})]
            sub = [s for s in q if s not in ("list-type", "prefix", "delimiter", "max-keys", "continuation-token",
                                             "start-after", "encoding-type", "fetch-owner", "marker")]
            if sub:
                return [(f"GetBucket?{sub[0]}", f"s3:GetBucket?{sub[0]}", [bucket_arn], {})]
            op = "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
            cond = {"s3:prefix": query["prefix"][0]} if "prefix" in query else {}
            return [(op, "s3:ListBucket", [bucket_arn], cond)]
        if method == "PUT" and not q:
            return [("CreateBucket", "s3:CreateBucket", [bucket_arn], {})]
        if method == "DELETE" and not q:
            return [("DeleteBucket", "s3:DeleteBucket", [bucket_arn], {})]
        if method == "POST" and "delete" in q:
            # the keys are in the body; IAM checks s3:DeleteObject per key
            return [("DeleteObjects", "s3:DeleteObject", [f"{bucket_arn}/*"], {})]
        return [(f"{method} bucket?{','.join(sorted(q))}", f"s3:Unknown{method}Bucket", [bucket_arn], {})]
    if method in ("GET", "HEAD"):
        if "uploadId" in q:
            return [("ListParts", "s3:ListMultipartUploadParts", [object_arn], {})]
        if "tagging" in q:
            return [("GetObjectTagging", "s3:GetObjectTagging", [object_arn], {})]
        if "acl" in q:
            return [("GetObjectAcl", "s3:GetObjectAcl", [object_arn], {})]
        return [("GetObject" if method == "GET" else "HeadObject", "s3:GetObject", [object_arn], {})]
    if method == "PUT":
        if "uploadId" in q:
            return [("UploadPart", "s3:PutObject", [object_arn], {})]
        if "tagging" in q:
            return [("PutObjectTagging", "s3:PutObjectTagging", [object_arn], {})]
        source = headers.get("x-amz-copy-source")
        if source:
            src = urllib.parse.unquote(source.split("?")[0]).lstrip("/")
            return [("CopyObject", "s3:PutObject", [object_arn], {}),
                    ("CopyObject", "s3:GetObject", [f"arn:aws:s3:::{src}"], {})]
        return [("PutObject", "s3:PutObject", [object_arn], {})]
    if method == "POST":
        if "uploads" in q:
            return [("CreateMultipartUpload", "s3:PutObject", [object_arn], {})]
        if "uploadId" in q:
            return [("CompleteMultipartUpload", "s3:PutObject", [object_arn], {})]
    if method == "DELETE":
        if "uploadId" in q:
            return [("AbortMultipartUpload", "s3:AbortMultipartUpload", [object_arn], {})]
        return [("DeleteObject", "s3:DeleteObject", [object_arn], {})]
    return [(f"{method} object?{','.join(sorted(q))}", f"s3:Unknown{method}Object", [object_arn], {})]


# ------------------------------------------------------------------------------- Step Functions
_SFN_ARN_PARAMS = ("stateMachineAliasArn", "stateMachineVersionArn", "executionArn", "mapRunArn", "resourceArn",
                   "stateMachineArn")
_SFN_ANY = {"ListStateMachines", "ListActivities", "CreateActivity"}


def _sfn_calls(op, body, region):
    action = f"states:{op}"
    if op in _SFN_ANY:
        return [(action, ["*"], {}, None)]
    if op == "CreateStateMachine":
        resource = _arn("states", region, f"stateMachine:{body.get('name')}")
        calls = [(action, [resource], {}, None)]
    elif op == "CreateStateMachineAlias":
        routes = body.get("routingConfiguration") or [{}]
        version = routes[0].get("stateMachineVersionArn", "")
        calls = [(action, [f"{version.rpartition(':')[0]}:{body.get('name')}"], {}, None)]
    else:
        arn = next((body[k] for k in _SFN_ARN_PARAMS if body.get(k)), "*")
        calls = [(action, [arn], {}, None)]
    if body.get("roleArn") and op in ("CreateStateMachine", "UpdateStateMachine"):
        calls.append(("iam:PassRole", [body["roleArn"]], {"iam:PassedToService": "states.amazonaws.com"},
                      f"{op} gives the state machine the role"))
    return calls


# ------------------------------------------------------------------------------------------ Batch
_BATCH_OPS = {}    # "/v1/submitjob" -> "SubmitJob", from botocore's model


def _batch_op(path):
    if not _BATCH_OPS:
        from botocore.session import Session
        model = Session().get_service_model("batch")
        for name in model.operation_names:
            uri = model.operation_model(name).http["requestUri"]
            _BATCH_OPS[uri.split("{")[0].rstrip("/").lower()] = name
    p = path.rstrip("/").lower()
    if p.startswith("/v1/tags/"):
        return "ListTagsForResource"   # GET; TagResource is POST (see below)
    return _BATCH_OPS.get(p)


def _batch_definition_arn(region, definition):
    return definition if definition.startswith("arn:") else _arn("batch", region, f"job-definition/{definition}")


def _batch_queue_arn(region, queue):
    return queue if queue.startswith("arn:") else _arn("batch", region, f"job-queue/{queue}")


def _batch_calls(op, body, region, path, method, response):
    action = f"batch:{op}"
    if op in ("DescribeJobDefinitions", "DescribeJobs", "DescribeJobQueues", "DescribeComputeEnvironments",
              "ListJobs", "DescribeSchedulingPolicies", "ListSchedulingPolicies"):
        return [(action, ["*"], {}, None)]
    if path.lower().startswith("/v1/tags/"):
        arn = urllib.parse.unquote(path[len("/v1/tags/"):])
        op = {"POST": "TagResource", "DELETE": "UntagResource"}.get(method, "ListTagsForResource")
        return [(f"batch:{op}", [arn], {}, None)]
    if op == "SubmitJob":
        resources = [_batch_definition_arn(region, body.get("jobDefinition", "")),
                     _batch_queue_arn(region, body.get("jobQueue", ""))]
        job_arn = (response or {}).get("jobArn")
        if job_arn:
            resources.append(job_arn)
        calls = [(action, resources, {}, None)]
        if body.get("tags"):
            calls.append(("batch:TagResource", resources[-1:], {"batch:CreateAction": "SubmitJob"},
                          "SubmitJob with tags tags the new job"))
        return calls
    if op == "RegisterJobDefinition":
        resource = _arn("batch", region, f"job-definition/{body.get('jobDefinitionName')}")
        calls = [(action, [resource], {}, None)]
        container = body.get("containerProperties") or {}
        for field in ("jobRoleArn", "executionRoleArn"):
            if container.get(field):
                calls.append(("iam:PassRole", [container[field]], {"iam:PassedToService": "batch.amazonaws.com"},
                              f"RegisterJobDefinition names {field}"))
        if body.get("tags"):
            calls.append(("batch:TagResource", [resource], {"batch:CreateAction": "RegisterJobDefinition"},
                          "RegisterJobDefinition with tags (tag on create)"))
        return calls
    if op == "DeregisterJobDefinition":
        return [(action, [_batch_definition_arn(region, body.get("jobDefinition", ""))], {}, None)]
    if op in ("TerminateJob", "CancelJob"):
        return [(action, [_arn("batch", region, f"job/{body.get('jobId')}")], {}, None)]
    return [(action, ["*"], {}, None)]


# ------------------------------------------------------------------------------------- EventBridge
def _events_calls(op, body, region):
    action = f"events:{op}"
    if op in ("ListRules", "ListEventBuses", "PutEvents"):
        return [(action, ["*"], {}, None)]
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return [(action, [body.get("ResourceARN", "*")], {}, None)]
    name = body.get("Name") or body.get("Rule")
    bus = body.get("EventBusName")
    rule = _arn("events", region, f"rule/{bus}/{name}" if bus and bus != "default" else f"rule/{name}")
    calls = [(action, [rule], {}, None)]
    if op == "PutTargets":
        for target in body.get("Targets") or []:
            if target.get("RoleArn"):
                calls.append(("iam:PassRole", [target["RoleArn"]], {"iam:PassedToService": "events.amazonaws.com"},
                              "PutTargets gives the rule's target its role"))
    return calls


def _events_deliveries(body):
    """(principal, action, resources, why) of what EventBridge does as each target's role when the rule fires."""
    out = []
    for target in body.get("Targets") or []:
        arn = target.get("Arn", "")
        if ":states:" in arn and ":stateMachine:" in arn:
            out.append((f"events-target:{target.get('RoleArn', '')}", "states:StartExecution", [arn],
                        f"the rule {body.get('Rule')} starts an execution of its target when it fires"))
    return out


# ------------------------------------------------------------------------------------- WSGI hook
def _handle(environ, status, response_body):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _CREDENTIAL.search(auth)
    if not m:
        return
    key, region, service = m.group(1), m.group(2), m.group(3)
    principal = _principal(key)
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    body = getattr(_tl, "body", None)
    try:
        params = json.loads(body) if body else {}
    except ValueError:
        params = {}
    if service == "s3":
        headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        for op, action, resources, cond in _s3_calls(method, path, query, headers, environ.get("HTTP_HOST", "")):
            log_call(principal, service, op, action, resources, cond, status,
                     "CopyObject reads its source" if op == "CopyObject" and action == "s3:GetObject" else None)
            if action == "s3:GetObject" and status == 404:
                bucket = resources[0][len("arn:aws:s3:::"):].partition("/")[0]
                log_call(principal, service, op, "s3:ListBucket", [f"arn:aws:s3:::{bucket}"], {}, status,
                         "S3 answers 404 for a missing key only to a caller with s3:ListBucket, 403 otherwise")
        return
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    op = target.rpartition(".")[2] if target else None
    if service == "states" and op:
        calls = _sfn_calls(op, params, region)
    elif service == "events" and op:
        calls = _events_calls(op, params, region)
    elif service == "batch":
        op = _batch_op(path) or f"{method} {path}"
        try:
            response = json.loads(response_body) if response_body else None
        except ValueError:
            response = None
        calls = _batch_calls(op, params, region, path, method, response)
    else:
        op = op or f"{method} {path}"
        calls = [(f"{service}:{op}", ["*"], {}, None)]
    for action, resources, cond, why in calls:
        log_call(principal, service, op, action, resources, cond, status, why)
    if service == "events" and op == "PutTargets" and status and status < 300:
        for who, action, resources, why in _events_deliveries(params):
            log_call(who, "states", "StartExecution", action, resources, {}, None, why)


def _wrap_app(app_class):
    orig = app_class.__call__

    def __call__(self, environ, start_response):
        signed = "Credential=" in environ.get("HTTP_AUTHORIZATION", "")
        if not signed:
            return orig(self, environ, start_response)
        _tl.body = None
        service = (_CREDENTIAL.search(environ["HTTP_AUTHORIZATION"]) or [None, None, None, ""])[3]
        if service != "s3":   # JSON APIs: read the parameters, hand the server an unread copy
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            _tl.body = raw
        seen = {}

        def capture(status, headers, *rest):
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, *rest)

        result = orig(self, environ, capture)
        body = None
        if service == "batch":   # SubmitJob's answer names the job, whose ARN IAM also authorizes
            body = b"".join(result)
            result = [body]
        try:
            _handle(environ, seen.get("status"), body)
        except Exception as e:  # the log must never break the emulator; a broken line fails the proof instead
            log_call("request-log-error", "", "", f"error:{e!r}", [], {}, seen.get("status"))
        return result

    app_class.__call__ = __call__


def _wrap_step_functions():
    """Log what Step Functions does with the state machine's role where moto takes a shortcut."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import \
        StateTaskServiceBatch
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.\
        distributed_item_processor_worker import DistributedItemProcessorWorker

    orig_submit = StateTaskServiceBatch._eval_service_task

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        condition = getattr(self.resource, "condition", None)
        if condition is not None and "sync" in str(condition).lower():
            rule = _arn("events", resource_runtime_part.region, f"rule/{BATCH_EVENTS_RULE}")
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
                log_call("state-machine", "events", action.split(":")[1], action, [rule], {}, None,
                         "a batch:submitJob.sync task: Step Functions learns of the job's end through this rule")
        return orig_submit(self, env, resource_runtime_part, normalised_parameters, state_credentials)

    StateTaskServiceBatch._eval_service_task = _eval_service_task

    orig_job = DistributedItemProcessorWorker._eval_job

    def _eval_job(self, env, job):
        import uuid
        record = self._map_run_record
        machine = env.states.context_object.context_object_data["StateMachine"]["Id"]
        child = record.map_state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{uuid.uuid4()}"
        why = "a Distributed Map item is a child execution Step Functions starts and follows"
        log_call("state-machine", "states", "StartExecution", "states:StartExecution", [machine], {}, None, why)
        log_call("state-machine", "states", "DescribeExecution", "states:DescribeExecution", [child], {}, None, why)
        return orig_job(self, env, job)

    DistributedItemProcessorWorker._eval_job = _eval_job


def install(path):
    """Log every AWS call the server answers, and the calls moto leaves implicit, to `path` (JSON lines)."""
    global _path
    _path = path
    open(path, "a").close()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    _wrap_app(DomainDispatcherApplication)
    _wrap_step_functions()
