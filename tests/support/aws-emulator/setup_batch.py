"""Seeds a running moto server (moto_sfn_server.py) with what Batch jobs need: an IAM service
role, an UNMANAGED compute environment and a job queue.  (moto requires a compute environment's
serviceRole to exist in its IAM; UNMANAGED avoids moto trying to start EC2 capacity.)

Usage:  EP=http://127.0.0.1:PORT python setup_batch.py
Env (all optional):  EP          endpoint (default http://127.0.0.1:5055)
                     REGION      region (default us-east-1)
                     CE_NAME     compute environment name (default flowrs-ce)
                     QUEUE_NAME  job queue name (default flowrs-queue)
                     ROLE_NAME   IAM service role name (default AWSBatchServiceRole-flowrs)
Prints one JSON line: {"queue_arn": ..., "compute_environment_arn": ..., "service_role_arn": ...}
Idempotent: existing resources of those names are reused.  launch.py imports setup()."""
import json
import os

import boto3

DEFAULT_CE = "flowrs-ce"
DEFAULT_QUEUE = "flowrs-queue"
DEFAULT_ROLE = "AWSBatchServiceRole-flowrs"
TRUST_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def setup(endpoint, region="us-east-1", ce_name=DEFAULT_CE, queue_name=DEFAULT_QUEUE, role_name=DEFAULT_ROLE):
    """Create (or reuse) role, compute environment and queue; return their ARNs as a dict."""
    kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
    iam, batch = boto3.client("iam", **kw), boto3.client("batch", **kw)
    try:
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=role_name)["Role"]["Arn"]

    ces = batch.describe_compute_environments(computeEnvironments=[ce_name])["computeEnvironments"]
    if ces:
        ce = ces[0]["computeEnvironmentArn"]
    else:
        ce = batch.create_compute_environment(computeEnvironmentName=ce_name, type="UNMANAGED", state="ENABLED",
                                              serviceRole=role)["computeEnvironmentArn"]

    qs = batch.describe_job_queues(jobQueues=[queue_name])["jobQueues"]
    if qs:
        q = qs[0]["jobQueueArn"]
    else:
        q = batch.create_job_queue(jobQueueName=queue_name, state="ENABLED", priority=1,
                                   computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])["jobQueueArn"]
    return {"queue_arn": q, "compute_environment_arn": ce, "service_role_arn": role}


if __name__ == "__main__":
    e = os.environ
    print(json.dumps(setup(e.get("EP", "http://127.0.0.1:5055"), e.get("REGION", "us-east-1"),
                           e.get("CE_NAME", DEFAULT_CE), e.get("QUEUE_NAME", DEFAULT_QUEUE),
                           e.get("ROLE_NAME", DEFAULT_ROLE))), flush=True)
