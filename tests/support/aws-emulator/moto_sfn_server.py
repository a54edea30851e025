# Project copy of shared/tools/aws-emulator/moto_sfn_server.py (the Rust tests start it through launch.py).
# Keep moto pinned to 5.2.5: the patches below replace moto internals; re-check them before any upgrade.
"""moto_server launcher for end-to-end Step Functions tests.  PIN: moto==5.2.5 (patches private internals).

Usage:  [MOTO_BATCH_RUN_LOCAL=1] python moto_sfn_server.py -H 127.0.0.1 -p 5091
        (MOTO_PORT defaults to the -p port; if you set it, it must be equal - checked below)
then:   curl -X POST -H 'Content-Type: application/json' http://127.0.0.1:5091/moto-api/config \
          -d '{"batch":{"use_docker":false},"stepfunctions":{"execute_state_machine":true}}'

Always applied:
  1. SFN interpreter service-integration casing fix (getmoto/moto#10076).
  2. Unnamed StartExecution gets a uuid name (moto names it "None": 2nd start -> ExecutionAlreadyExists).
  3. ASL Retry of .sync / .waitForTaskToken tasks works (moto: every retry fails at once with States.Timeout).
  4. Batch describe_jobs no longer appends to the job's container environment on every call.
MOTO_BATCH_RUN_LOCAL=1 (see "local Batch runner" below): every Batch job attempt runs its container
  command as a local subprocess (no docker); logs in $MOTO_BATCH_LOG_DIR (default: moto-batch-logs in the temp dir)
  /<jobId>-<attempt>.log; at most $MOTO_BATCH_MAX_PARALLEL (default 8) attempts run at once.
  Like real Batch, an attempt killed for exceeding attemptDurationSeconds is not retried.
Real-AWS behaviour that moto leaves out (always on):
  5. EventBridge rule names and NamePrefix: 1-64 characters of [.-_A-Za-z0-9] (ValidationException).
  6. An SFN Batch task that fails with an unmodelled Batch error (throttling) is named Batch.AWSBatchException,
     as the real service names it; ClientException and ServerException keep their names.
Faults to inject (off unless set):
  MOTO_BATCH_SUBMIT_TPS=R        SubmitJob beyond R per second (burst R) -> HTTP 429 TooManyRequestsException
  MOTO_BATCH_HOST_FAILURE_EVERY=N the first attempt of every Nth submitted job is reported as
                                 "Host EC2 (instance ...) terminated." after its process ran (or was killed at
                                 MOTO_BATCH_HOST_FAILURE_AFTER seconds, default 0.5): a Spot reclaim
  MOTO_SFN_DESCRIBE_LAG=1        the first DescribeExecution of each execution -> ExecutionDoesNotExist
                                 (DescribeExecution is eventually consistent on AWS)
Project additions (not in the shared copy):
  7. StartExecution on a version or alias ARN runs that version; its execution belongs to the state machine
     (listed and described through it); ListStateMachineVersions and DeleteStateMachineVersion exist.
  MOTO_SFN_UPDATE_LAG=SECONDS    an execution started on the unqualified state machine ARN within SECONDS after
                                 UpdateStateMachine runs the previous definition (AWS "UpdateStateMachine")
  MOTO_S3_DENY_LIST=1            a caller without s3:ListBucket: GetObject/HeadObject of a missing key -> 403
                                 AccessDenied (not 404), ListObjects -> 403 (AWS "GetObject")
  MOTO_REQUEST_LOG=PATH          one JSON line per AWS call: principal (access key), IAM action, resources, condition
                                 keys, and the calls moto leaves implicit (request_log.py); Batch jobs sign as
                                 job-<job role name>
"""
import os, sys, tempfile, uuid
import moto
if moto.__version__ != "5.2.5":
    sys.exit(f"moto_sfn_server.py patches moto 5.2.5 internals; found moto {moto.__version__}")
# moto's main() sets MOTO_PORT from -p only when unset; SFN integrations and local jobs call back on MOTO_PORT.
_p = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a in ("-p", "--port")), None)
if _p and os.environ.get("MOTO_PORT", _p) != _p:
    sys.exit(f"MOTO_PORT={os.environ['MOTO_PORT']} differs from -p {_p}; they must be equal")

# ---- 1. SFN casing fix: resolve the boto operation model case-insensitively (getmoto/moto#10076)
from botocore.session import Session
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service as sts
_models = {}
def _op(self, boto_service_name, action):
    svc = self._get_boto_service_name(boto_service_name)
    if svc not in _models: _models[svc] = Session().get_service_model(svc)
    m = _models[svc]; a = action.replace("_", "").lower()
    return m.operation_model(next(o for o in m.operation_names if o.lower() == a))
def _norm_params(self, parameters, boto_service_name=None, service_action_name=None):
    shape = _op(self, boto_service_name, service_action_name or self.resource.api_action).input_shape
    if shape is not None: self._to_boto_request(parameters, shape)
def _norm_resp(self, response, boto_service_name=None, service_action_name=None):
    shape = _op(self, boto_service_name, service_action_name or self.resource.api_action).output_shape
    if shape is not None: self._from_boto_response(response, shape)  # also turns S3 Body streams into str
sts.StateTaskService._normalise_parameters = _norm_params
sts.StateTaskService._normalise_response = _norm_resp

# ---- 2. unnamed executions
from moto.stepfunctions.parser.models import StepFunctionsParserBackend as _B
_orig_start = _B.start_execution
def _start(self, state_machine_arn, name=None, *a, **kw):
    return _orig_start(self, state_machine_arn, name or str(uuid.uuid4()), *a, **kw)
_B.start_execution = _start

# ---- 3. ASL Retry of a callback-capable integration (.sync, .waitForTaskToken): the retry re-used the
# first try's task-token endpoint, already interrupted, so every retry ended at once in States.Timeout.
# Give each retry a fresh token + endpoint (RetryCount > 0; the first try is left as it was).
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import \
    StateTaskServiceCallback as _CB
_orig_eval_exec = _CB._eval_execution
def _eval_exec(self, env):
    ctx = env.states.context_object.context_object_data
    if "Task" in ctx and ctx.get("State", {}).get("RetryCount"):
        env.callback_pool_manager.add(env.states.context_object.update_task_token())
    return _orig_eval_exec(self, env)
_CB._eval_execution = _eval_exec

# ---- 4. moto's Job._get_container_property("environment") mutates containerOverrides.environment
# (one more AWS_BATCH_JOB_ID per describe; a polled .sync job's output grows without bound).
from moto.batch.models import Job
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import batch_secrets  # noqa: E402  Batch's `secrets` resolved from moto's Secrets Manager
_orig_gcp = Job._get_container_property
def _gcp(self, p, default):
    if p != "environment": return _orig_gcp(self, p, default)
    env = {e["name"]: e["value"] for e in self.job_definition.container_properties.get("environment", [])
           + (self.container_overrides.get("environment") or [])}
    return [{"name": k, "value": v} for k, v in {**env, "AWS_BATCH_JOB_ID": self.job_id}.items()]
Job._get_container_property = _gcp

# ---- local Batch runner ------------------------------------------------------------------------
if os.environ.get("MOTO_BATCH_RUN_LOCAL") == "1":
    import atexit, logging, signal, subprocess, threading, time
    from datetime import datetime
    from fnmatch import fnmatchcase
    from moto import settings
    from moto.batch.models import datetime2int_milliseconds as _ms
    from moto.batch.responses import BatchResponse
    from moto.batch_simple.models import BatchSimpleBackend
    log = logging.getLogger("moto_batch_local")
    LOG_DIR = os.environ.get("MOTO_BATCH_LOG_DIR") or os.path.join(tempfile.gettempdir(), "moto-batch-logs")
    _SLOTS = threading.BoundedSemaphore(int(os.environ.get("MOTO_BATCH_MAX_PARALLEL", "8")))
    _LIVE = set()      # Popen objects of running attempts; their process groups are killed at exit
    _ORDER = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"]
    _EXITED = "Essential container in task exited"          # real Batch's statusReason
    _tl = threading.local()

    # use_docker=false routes SubmitJob to batch_simple, which marks the job SUCCEEDED on the spot.
    # Send it to the real backend instead: its submit_job starts a Job thread -> Job.run (replaced below).
    BatchSimpleBackend.submit_job = lambda self, *a, **kw: self.backend.submit_job(*a, **kw)

    # moto ignores SubmitJob's retryStrategy: stash it for the Job(s) built in this request thread.
    _orig_submit = BatchResponse.submitjob
    def _submitjob(self):
        _tl.retry = self._get_param("retryStrategy")
        try: return _orig_submit(self)
        finally: _tl.retry = None
    BatchResponse.submitjob = _submitjob
    _orig_init = Job.__init__
    def _init(self, *a, **kw):
        _orig_init(self, *a, **kw)
        self.retry_strategy = getattr(_tl, "retry", None) or self.job_definition.retry_strategy or {}
        self._reason = None                                   # container.reason of the latest attempt
    Job.__init__ = _init

    _orig_describe = Job.describe
    def _describe(self):
        d = _orig_describe(self)
        if self.retry_strategy: d["retryStrategy"] = self.retry_strategy
        c = d.get("container")
        if c is not None and self.exit_code is not None:        # moto's describe() drops these
            c.update(exitCode=self.exit_code, reason=self._reason)
        kids = self._child_jobs                                 # array parent: FAILED once all children
        if kids and all(k.job_stopped for k in kids) and any(k.status == "FAILED" for k in kids):
            self.status = d["status"] = "FAILED"                # are done and any failed (moto: never)
        return d
    Job.describe = _describe

    def _to(job, target):
        """Advance through moto's ManagedState transitions (batch::job) until `target` is reached."""
        while job.status in _ORDER and _ORDER.index(job.status) < _ORDER.index(target) and not job.stop:
            job.advance(); time.sleep(0.02)

    def _subst(params, part):
        """Batch parameter substitution: Ref::name -> value (longest names first, anywhere in the arg)."""
        for k in sorted(params, key=len, reverse=True): part = part.replace(f"Ref::{k}", str(params[k]))
        return part

    def _retry_allowed(rs, rc, status_reason, reason):
        """retryStrategy.evaluateOnExit: first matching condition decides; no match -> retry.
        A job terminated for exceeding its timeout is never retried (AWS Batch "Job timeouts")."""
        if status_reason == "Job attempt duration exceeded timeout": return False
        for c in rs.get("evaluateOnExit") or []:
            if (fnmatchcase(str(rc), c.get("onExitCode", "*")) and fnmatchcase(status_reason, c.get("onStatusReason", "*"))
                    and fnmatchcase(reason, c.get("onReason", "*"))):
                return c.get("action", "").lower() == "retry"
        return True

    def _kill(p):
        """SIGTERM the attempt's process group, SIGKILL 2 s later (ECS stop semantics, shortened)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try: os.killpg(p.pid, sig); p.wait(2)
            except (OSError, subprocess.TimeoutExpired): pass
        p.wait()

    def _attempt(job, n):
        """Run attempt n (1-based) as a subprocess; record it in job.attempts; return the exit code."""
        cp, ov = job.job_definition.container_properties, job.container_overrides
        if cp is None: raise ValueError("MOTO_BATCH_RUN_LOCAL runs containerProperties jobs only (no multinode/EKS)")
        cmd = [_subst(job.parameters, str(x)) for x in (ov.get("command") or cp.get("command") or [])]
        region, port = job.job_definition._region, settings.moto_server_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # never leak real AWS config
        # the job role's own access key: the request log (request_log.py) attributes the job's calls to that role
        job_key = "job-" + (cp.get("jobRoleArn") or "none").rpartition("/")[2]
        env.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID=job_key,
                   AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=region, AWS_REGION=region)
        env.update({e["name"]: str(e["value"]) for e in cp.get("environment", []) + (ov.get("environment") or [])})
        try: env.update(batch_secrets.resolve(cp, region))      # Batch's `secrets` (valueFrom)
        except batch_secrets.SecretUnavailable as e: secret_error = str(e)[:255]
        else: secret_error = None
        env.update(AWS_BATCH_JOB_ID=job.job_id, AWS_BATCH_JOB_ATTEMPT=str(n), AWS_BATCH_JQ_NAME=job.job_queue.name)
        if job.job_queue.environments: env["AWS_BATCH_CE_NAME"] = job.job_queue.environments[0].name
        if "index" in job.array_properties: env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(job.array_properties["index"])
        os.makedirs(LOG_DIR, exist_ok=True)
        path = os.path.join(LOG_DIR, f"{job.job_id}-{n}.log")
        job.log_stream_name = f"{job.job_definition.name}/default/{job.job_id}-{n}"
        _to(job, "STARTING")
        job.job_started_at = datetime.now()
        job._start_attempt()
        why, limit = _EXITED, job._get_attempt_duration()
        with open(path, "wb") as out:
            try:
                if not cmd: raise OSError("no command: set containerProperties.command or containerOverrides.command")
                if secret_error: raise OSError(secret_error)
                p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
            except OSError as e:                                   # e.g. executable not found
                out.write(f"{e}\n".encode()); rc, why = 127, f"CannotStartContainerError: {e}"[:255]
            else:
                _LIVE.add(p); _to(job, "RUNNING")
                host_dies = n == 1 and getattr(job, "_host_failure", False)
                while p.poll() is None:
                    ran = (datetime.now() - job.job_started_at).total_seconds()
                    late = limit and ran > limit
                    if job.stop or late or (host_dies and ran > _HOST_AFTER):
                        why = job.job_stopped_reason if job.stop else \
                            "Job attempt duration exceeded timeout" if late else why
                        _kill(p); break
                    time.sleep(0.1)
                _LIVE.discard(p)
                rc = p.returncode if p.returncode >= 0 else 128 - p.returncode   # killed by signal s -> 128+s
                if host_dies and not job.stop:      # Spot reclaim: the attempt fails whatever the process did
                    why = "Host EC2 (instance i-0fa17ed000000000) terminated."
                    rc = rc or 143
                    out.write(f"injected fault: {why}\n".encode())
        job.exit_code, job.job_stopped_reason, job._reason = rc, why, f"exit code {rc}; log {path}"
        a = job.latest_attempt
        a["container"].update(exitCode=rc, reason=job._reason, logStreamName=job.log_stream_name)
        a.update(statusReason=why, stoppedAt=_ms(datetime.now()))
        try:  # mirror the log into moto CloudWatch Logs (/aws/batch/job), like the docker runner does
            with open(path, errors="replace") as f: lines = [l for l in f.read().splitlines() if l][-10000:]
            lb, now = job._log_backend, int(time.time() * 1000)
            lb.ensure_log_group(job._log_group); lb.ensure_log_stream(job._log_group, job.log_stream_name)
            if lines: lb.put_log_events(job._log_group, job.log_stream_name, [{"timestamp": now, "message": l} for l in lines])
        except Exception:
            log.exception("could not copy %s to CloudWatch Logs", path)
        return rc

    def _run_local(self):
        """Replaces Job.run (docker): SUBMITTED>PENDING>RUNNABLE>STARTING>RUNNING>SUCCEEDED|FAILED, with retries."""
        ok = False
        try:
            _to(self, "PENDING")
            if self.depends_on and not self._wait_for_dependencies():
                self.job_stopped_reason = self.job_stopped_reason or "Dependent Job failed"; return
            attempts = max(1, int(self.retry_strategy.get("attempts") or 1))
            for n in range(1, attempts + 1):
                if n > 1: self.status = "RUNNABLE"                      # a failed attempt is re-queued
                _to(self, "RUNNABLE")
                got = False
                while not self.stop and not (got := _SLOTS.acquire(timeout=0.2)): pass  # RUNNABLE till a slot frees
                if not got: break
                try:
                    if self.stop: break
                    rc = _attempt(self, n)
                finally: _SLOTS.release()
                ok = rc == 0
                if ok or self.stop or not _retry_allowed(self.retry_strategy, rc, self.job_stopped_reason, self._reason): break
        except Exception as e:
            log.exception("local Batch job %s failed", self.job_id)
            self.job_stopped_reason = f"moto local runner error: {e!r}"[:255]
        finally:
            self._mark_stopped(success=ok and not self.stop)
    Job.run = _run_local

    @atexit.register  # moto's SIGTERM/SIGINT handler calls sys.exit(0), so this runs on those too
    def _kill_all():
        for p in list(_LIVE):
            try: os.killpg(p.pid, signal.SIGKILL)
            except OSError: pass

# ---- 5. EventBridge rule names: 1-64 chars [.-_A-Za-z0-9] (moto accepts any length)
import re as _re
from moto.events.exceptions import ValidationException as _EvValidation
from moto.events.responses import EventsHandler as _EH
def _check_rule_names(method, param):
    orig = getattr(_EH, method)
    def wrapped(self):
        v = self._get_param(param)
        if v is not None and not _re.fullmatch(r"[\.\-_A-Za-z0-9]{1,64}", v):
            raise _EvValidation(f"1 validation error detected: Value '{v}' at '{param[0].lower() + param[1:]}' "
                                "failed to satisfy constraint: Member must have length less than or equal to 64 "
                                "and match pattern [\\.\\-_A-Za-z0-9]+")
        return orig(self)
    setattr(_EH, method, wrapped)
for _m, _p in [("put_rule", "Name"), ("list_rules", "NamePrefix"), ("delete_rule", "Name"), ("describe_rule", "Name"),
               ("put_targets", "Rule"), ("remove_targets", "Rule"), ("list_targets_by_rule", "Rule"),
               ("enable_rule", "Name"), ("disable_rule", "Name")]:
    if hasattr(_EH, _m): _check_rule_names(_m, _p)

# ---- 6. SFN names an unmodelled Batch error (e.g. throttling, HTTP 429) Batch.AWSBatchException
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import \
    StateTaskServiceBatch as _SB
from botocore.exceptions import ClientError as _ClientError
_orig_from_error = _SB._from_error
def _from_error(self, env, ex):
    if isinstance(ex, _ClientError) and ex.response["Error"]["Code"] not in ("ClientException", "ServerException"):
        ex.response["Error"]["Code"] = "AWSBatchException"
    return _orig_from_error(self, env, ex)
_SB._from_error = _from_error

# ---- fault injection
import threading as _th, time as _time
from moto.core.exceptions import AWSError as _AWSError
_TPS = float(os.environ.get("MOTO_BATCH_SUBMIT_TPS") or 0)
_HOST_EVERY = int(os.environ.get("MOTO_BATCH_HOST_FAILURE_EVERY") or 0)
_HOST_AFTER = float(os.environ.get("MOTO_BATCH_HOST_FAILURE_AFTER") or 0.5)
_fault_lock, _bucket, _submitted = _th.Lock(), [_TPS, _time.monotonic()], [0]
class _TooManyRequests(_AWSError):
    TYPE = "TooManyRequestsException"
    STATUS = 429
if _TPS or _HOST_EVERY:
    from moto.batch.responses import BatchResponse as _BR
    _orig_submit2 = _BR.submitjob
    def _submit_faulty(self):
        with _fault_lock:
            if _TPS:
                tokens, last = _bucket; now = _time.monotonic()
                tokens = min(_TPS, tokens + (now - last) * _TPS)
                if tokens < 1:
                    _bucket[:] = [tokens, now]; raise _TooManyRequests("Too Many Requests")
                _bucket[:] = [tokens - 1, now]
            _submitted[0] += 1; k = _submitted[0]
        _tl_fault.host = bool(_HOST_EVERY) and k % _HOST_EVERY == 0
        try: return _orig_submit2(self)
        finally: _tl_fault.host = False
    _BR.submitjob = _submit_faulty
    _tl_fault = _th.local()
    _orig_init2 = Job.__init__
    def _init_faulty(self, *a, **kw):
        _orig_init2(self, *a, **kw)
        self._host_failure = getattr(_tl_fault, "host", False)
    Job.__init__ = _init_faulty
if os.environ.get("MOTO_SFN_DESCRIBE_LAG") == "1":
    from moto.stepfunctions.responses import StepFunctionResponse as _SR
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist as _NoExec
    _described, _orig_desc = set(), _SR.describe_execution
    def _describe_lagging(self):
        arn = self._get_param("executionArn")
        with _fault_lock:
            first = arn not in _described; _described.add(arn)
        if first: raise _NoExec(f"Execution Does Not Exist: '{arn}'")
        return _orig_desc(self)
    _SR.describe_execution = _describe_lagging

# ---- 7. (project) Step Functions versions and aliases as AWS runs them. moto runs an execution started on
# a version ARN from the version object (which has no backend: it crashes), cannot start one on an alias ARN, and
# would file such executions under the version, where ListExecutions/DescribeExecution of the state machine never
# look. AWS ("How Step Functions associates executions with a version or alias"): a qualified ARN (`...:NAME:3`,
# `...:NAME:ALIAS`) runs that version (an alias: one of its versions, by routing weight), and the execution
# (ARN `execution:NAME:EXEC`) belongs to the state machine: ListExecutions of the unqualified ARN lists it.
# moto also lacks ListStateMachineVersions and DeleteStateMachineVersion (AWS: "You can't delete a state machine
# version currently referenced by one or more aliases").
import random as _random
from moto.stepfunctions.exceptions import StateMachineDoesNotExist as _NoSM
from moto.stepfunctions.models import StepFunctionBackend as _SFB
from moto.stepfunctions.responses import StepFunctionResponse as _SR2
from moto.core.responses import ActionResult as _AR, EmptyResult as _ER
_swap_lock = _th.Lock()
def _base_sm(backend, arn):
    return next((x for x in backend.state_machines if x.arn == arn), None)
def _resolve(backend, arn):
    """(state machine, version object or None) that a StartExecution on `arn` runs."""
    sm = _base_sm(backend, arn)
    if sm is not None:
        return sm, None
    base_arn, _, qualifier = arn.rpartition(":")
    sm = _base_sm(backend, base_arn) if ":stateMachine:" in base_arn else None
    if sm is None:
        raise _NoSM(f"State Machine Does Not Exist: '{arn}'")
    if qualifier.isdigit() and int(qualifier) in sm.versions:
        return sm, sm.versions[int(qualifier)]
    alias = sm.aliases.get(qualifier)
    if alias is None:
        raise _NoSM(f"State Machine Does Not Exist: '{arn}'")
    routes = alias.routing_configuration
    pick = _random.choices(routes, weights=[r["weight"] for r in routes])[0]["stateMachineVersionArn"]
    return sm, sm.versions[int(pick.rsplit(":", 1)[1])]
_UPDATE_LAG = float(os.environ.get("MOTO_SFN_UPDATE_LAG") or 0)
_previous = {}   # state machine ARN -> (definition, roleArn, monotonic time of the UpdateStateMachine)
_start_named = _B.start_execution
def _start_versioned(self, state_machine_arn, name=None, *a, **kw):
    sm, version = _resolve(self, state_machine_arn)
    definition, role = (version.definition, version.roleArn) if version else (sm.definition, sm.roleArn)
    # ---- 8. (project) MOTO_SFN_UPDATE_LAG=SECONDS: AWS "UpdateStateMachine": "executions started immediately after
    # calling UpdateStateMachine may use the previous state machine definition and roleArn". An execution started on
    # the unqualified ARN within SECONDS of an update runs the previous definition; a version never changes.
    prev = _previous.get(sm.arn)
    if version is None and prev and _time.monotonic() - prev[2] < _UPDATE_LAG:
        definition, role = prev[0], prev[1]
    with _swap_lock:   # the execution snapshots (deep-copies) the state machine it is started on
        saved = sm.definition, sm.roleArn
        sm.definition, sm.roleArn = definition, role
        try:
            return _start_named(self, sm.arn, name, *a, **kw)
        finally:
            sm.definition, sm.roleArn = saved
_B.start_execution = _start_versioned
_orig_update_sm = _B.update_state_machine
def _update_remembering(self, arn, definition=None, role_arn=None, *a, **kw):
    sm = _base_sm(self, arn)
    before = (sm.definition, sm.roleArn) if sm is not None else None
    out = _orig_update_sm(self, arn, definition, role_arn, *a, **kw)
    if before is not None and _UPDATE_LAG:
        _previous[arn] = (*before, _time.monotonic())
    return out
_B.update_state_machine = _update_remembering
def _list_versions(self):
    sm = _base_sm(self.stepfunction_backend, self._get_param("stateMachineArn"))
    if sm is None:
        raise _NoSM(f"State Machine Does Not Exist: '{self._get_param('stateMachineArn')}'")
    items = [{"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
             for _, v in sorted(sm.versions.items(), reverse=True)]    # newest first, as AWS lists them
    return _AR({"stateMachineVersions": items})
def _delete_version(self):
    arn = self._get_param("stateMachineVersionArn")
    base_arn, _, number = arn.rpartition(":")
    sm = _base_sm(self.stepfunction_backend, base_arn)
    if sm is not None and number.isdigit():
        if any(r["stateMachineVersionArn"] == arn for al in sm.aliases.values() for r in al.routing_configuration):
            from moto.stepfunctions.exceptions import ValidationException as _SfnValidation
            raise _SfnValidation(f"Version to be deleted must not be referenced by an alias. Current list of aliases "
                                 f"referencing this version: {[al.name for al in sm.aliases.values()]}")
        sm.versions.pop(int(number), None)
    return _ER()
_SR2.list_state_machine_versions = _list_versions
_SR2.delete_state_machine_version = _delete_version

# ---- 9. (project) MOTO_S3_DENY_LIST=1: a caller without s3:ListBucket. AWS "GetObject": "If you don't have the
# s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access Denied error" for a missing key (and
# HeadObject a bodiless 403); ListObjects(V2) itself is denied.
if os.environ.get("MOTO_S3_DENY_LIST") == "1":
    from moto.s3.exceptions import S3AccessDeniedError as _S3Denied, MissingKey as _S3Missing
    from moto.s3.responses import S3Response as _S3R
    _orig_get_key = _S3R._get_key
    def _get_key_denied(self, *a, **kw):
        try: return _orig_get_key(self, *a, **kw)
        except _S3Missing: raise _S3Denied()
    _S3R._get_key = _get_key_denied
    _orig_head = _S3R.head_object
    def _head_denied(self, *a, **kw):
        status, headers, body = _orig_head(self, *a, **kw)
        return (403, headers, body) if status == 404 else (status, headers, body)
    _S3R.head_object = _head_denied
    def _list_denied(self, *a, **kw): raise _S3Denied()
    _S3R.list_objects = _S3R.list_objects_v2 = _list_denied

# ---- 8. (project) A Parallel branch or an inline Map iteration that fails with a `States.*` error (a
# States.TaskFailed from a throttled SubmitJob, a States.Timeout) fails the Parallel/Map state with that same
# error. AWS ("Parallel workflow state": "If any branch fails, because of an unhandled error or by transitioning
# to a Fail state, the entire Parallel state fails"; the error keeps its name so an outer Catch/Retry on
# States.TaskFailed matches it). moto re-raised the branch's error as a CustomErrorName, which refuses names
# starting with "States." and so replaced every such error with an invalid States.Runtime.
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import \
    CustomErrorName as _CustomErrorName, ILLEGAL_CUSTOM_ERROR_PREFIX as _STATES_PREFIX
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import \
    StatesErrorName as _StatesErrorName
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl as _branches
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker as _iteration
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName as _ErrorName
def _propagated_error_name(error_name=None):
    if error_name is not None and str(error_name).startswith(_STATES_PREFIX):
        try:
            return _StatesErrorName.from_name(str(error_name))
        except ValueError:  # a States.* name the parser does not model: keep it as it is
            return _ErrorName(error_name=str(error_name))
    return _CustomErrorName(error_name=error_name)
_branches.CustomErrorName = _propagated_error_name
_iteration.CustomErrorName = _propagated_error_name

# ---- 10. (project) MOTO_REQUEST_LOG=PATH: one JSON line per AWS call (principal, IAM action, resources, condition
# keys), for the proof that the generated IAM policies allow every call (request_log.py, tests/sfn_policy_proof.rs).
if os.environ.get("MOTO_REQUEST_LOG"):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import request_log
    request_log.install(os.environ["MOTO_REQUEST_LOG"])

# ---- (project) EventBridge for event-driven flows: Step Functions status-change events, rules with Step Functions
# targets (input transformers applied), S3 "Object Created" events on the default bus. See events.py.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import events as _events  # noqa: E402,F401

# ---- start moto_server (it sets MOTO_PORT from -p when unset; SFN integrations call back on that port)
from moto.server import main
main(sys.argv[1:])
