"""Creates CloudFormation stacks on the emulator and checks that each stack's outputs name
resources that exist, with the properties the template asked for.

Usage:  $FLOW_MOTO_PYTHON deploy_stacks.py ENDPOINT REGION SERVICE_ROLE_ARN MANIFEST.json

MANIFEST.json is a list of {"stack": NAME, "template": PATH, "compute_type": "EC2" | "SPOT" |
"FARGATE" | "FARGATE_SPOT"}.  Every stack gets the subnets and default security group of the
region's default VPC, and SERVICE_ROLE_ARN as the Batch service role (the emulator, unlike AWS,
has no service-linked role).  Prints ONE JSON line: a list of {"stack", "status", "reason",
"outputs", "problems"}; "problems" lists every output that does not resolve.  Exits 0 whatever
the stacks did (the caller judges); 1 only when the emulator cannot be used at all."""
import json
import sys

import boto3


def client(service, endpoint, region):
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test")


def network(ec2):
    """The default VPC's subnets and its default security group."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    vpc = vpcs[0]["VpcId"]
    subnets = [s["SubnetId"] for s in
               ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    return subnets, [groups[0]["GroupId"]]


def check_outputs(outputs, compute_type, aws):
    """Every output names an existing resource; returns what does not."""
    problems = []

    def expect(condition, what):
        if not condition:
            problems.append(what)

    def guarded(name, check):
        if name not in outputs:
            problems.append(f"no output {name}")
            return
        try:
            check(outputs[name])
        except Exception as e:  # a lookup that fails is a problem to report, not a crash
            problems.append(f"{name} = {outputs[name]!r}: {e!r}")

    def queue(arn):
        queues = aws["batch"].describe_job_queues(jobQueues=[arn])["jobQueues"]
        expect(len(queues) == 1 and queues[0]["state"] == "ENABLED", f"JobQueue {arn} not found/enabled")
        env_arn = queues[0]["computeEnvironmentOrder"][0]["computeEnvironment"]
        envs = aws["batch"].describe_compute_environments(computeEnvironments=[env_arn])["computeEnvironments"]
        expect(len(envs) == 1, f"compute environment {env_arn} not found")
        expect(envs[0]["type"] == "MANAGED", f"compute environment {env_arn} is {envs[0]['type']}")
        kind = envs[0]["computeResources"]["type"]
        expect(kind == compute_type, f"compute environment {env_arn} is {kind}, not {compute_type}")

    def role(arn):
        name = arn.rsplit("/", 1)[-1]
        got = aws["iam"].get_role(RoleName=name)["Role"]
        expect(got["Arn"] == arn, f"role {name} has ARN {got['Arn']}, not {arn}")
        expect(aws["iam"].list_role_policies(RoleName=name)["PolicyNames"], f"role {name} has no policy")

    def datastore(uri):
        expect(uri.startswith("s3://"), f"Datastore {uri} is not an s3:// URI")
        bucket = uri[len("s3://"):].split("/", 1)[0]
        aws["s3"].head_bucket(Bucket=bucket)
        rules = aws["s3"].get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        expect(rules, f"bucket {bucket} is not encrypted")

    def repository(uri):
        name = uri.split("/", 1)[1]
        repos = aws["ecr"].describe_repositories(repositoryNames=[name])["repositories"]
        expect(repos and repos[0]["repositoryUri"] == uri, f"repository {uri} not found")

    def log_group(name):
        groups = aws["logs"].describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        expect(any(g["logGroupName"] == name for g in groups), f"log group {name} not found")

    def policy(arn):
        got = aws["iam"].get_policy(PolicyArn=arn)["Policy"]
        expect(got["Arn"] == arn, f"policy {arn} not found")

    guarded("JobQueue", queue)
    for name in ("StateMachineRoleArn", "JobRoleArn"):
        guarded(name, role)
    if compute_type.startswith("FARGATE"):
        guarded("ExecutionRoleArn", role)
    if "ScheduleRoleArn" in outputs:
        guarded("ScheduleRoleArn", role)
    guarded("Datastore", datastore)
    guarded("RepositoryUri", repository)
    guarded("LogGroup", log_group)
    guarded("DeployerPolicyArn", policy)
    return problems


def main():
    endpoint, region, service_role, manifest_path = sys.argv[1:5]
    with open(manifest_path) as f:
        manifest = json.load(f)
    aws = {s: client(s, endpoint, region) for s in ("cloudformation", "batch", "iam", "s3", "ecr", "logs", "ec2")}
    subnets, groups = network(aws["ec2"])
    results = []
    for entry in manifest:
        with open(entry["template"]) as f:
            body = f.read()
        result = {"stack": entry["stack"], "status": None, "reason": None, "outputs": {}, "problems": []}
        try:
            aws["cloudformation"].create_stack(
                StackName=entry["stack"], TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                Parameters=[
                    {"ParameterKey": "Subnets", "ParameterValue": ",".join(subnets)},
                    {"ParameterKey": "SecurityGroupIds", "ParameterValue": ",".join(groups)},
                    {"ParameterKey": "ServiceRoleArn", "ParameterValue": service_role},
                ])
            aws["cloudformation"].get_waiter("stack_create_complete").wait(
                StackName=entry["stack"], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        except Exception as e:  # reported with the stack's own status below
            result["problems"].append(f"create_stack: {e!r}")
        try:
            stack = aws["cloudformation"].describe_stacks(StackName=entry["stack"])["Stacks"][0]
            result["status"] = stack["StackStatus"]
            result["reason"] = stack.get("StackStatusReason")
            result["outputs"] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        except Exception as e:
            result["problems"].append(f"describe_stacks: {e!r}")
        if result["status"] == "CREATE_COMPLETE":
            result["problems"] += check_outputs(result["outputs"], entry["compute_type"], aws)
        results.append(result)
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.exit(main())
