//! The generated infrastructure, checked with the tools AWS users check theirs with:
//! cfn-lint on the template of every example for every `--compute` kind (JSON and YAML),
//! parliament on every IAM policy, and CloudFormation `create-stack` on the emulator with
//! every output naming a resource that exists. Also: the YAML reads back the same under a
//! YAML 1.1 parser, the Fargate size table matches the AWS API model's own text, and the
//! documentation's permissions table is the code's.
//!
//! The checkers come from `scripts/install-test-tools.sh` (`FLOW_CFN_LINT`,
//! `FLOW_PARLIAMENT`, `FLOW_MOTO_PYTHON`); without them these tests fail, never skip.

#![allow(dead_code)] // the examples' `main`s

mod common;

#[path = "../../examples/foreach.rs"]
mod foreach;
#[path = "../../examples/linear.rs"]
mod linear;
#[path = "../../examples/nested_foreach.rs"]
mod nested_foreach;
#[path = "../../examples/options.rs"]
mod options;
#[path = "../../examples/params.rs"]
mod params;
#[path = "../../examples/resume.rs"]
mod resume;
#[path = "../../examples/split_in_foreach.rs"]
mod split_in_foreach;
#[path = "../../examples/split_join.rs"]
mod split_join;
#[path = "../../examples/switch.rs"]
mod switch;

use flow_core::Flow;
use flow_graph::FlowGraph;
use flow_sfn::infra::fargate::FARGATE_SIZES;
use flow_sfn::infra::policy::{
    markdown_any_resource_list, markdown_table, AccountResources, PERMISSIONS,
};
use flow_sfn::infra::{
    policy_document, template, Bindings, Compute, InfraSettings, PolicyScope, Principal,
    TemplateFormat,
};
use flow_test_support::tool;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The examples' graphs, by the name of their file in `examples/` (`tests/sfn_infra.rs`
/// lints the template of every example there is, through its binary).
fn examples() -> Vec<(&'static str, &'static FlowGraph)> {
    vec![
        ("foreach", foreach::MovieFlow::graph()),
        ("linear", linear::LinearFlow::graph()),
        ("nested_foreach", nested_foreach::GridFlow::graph()),
        ("options", options::OptionsFlow::graph()),
        ("params", params::ParamsFlow::graph()),
        ("resume", resume::ResumeFlow::graph()),
        ("split_in_foreach", split_in_foreach::WordsFlow::graph()),
        ("split_join", split_join::SplitJoinFlow::graph()),
        ("switch", switch::SwitchFlow::graph()),
    ]
}

/// The settings of one stack: a state machine name of its own, so that the stacks of one
/// emulator never share a name.
fn settings(graph: &FlowGraph, compute: Compute) -> InfraSettings {
    InfraSettings::new(format!("{}-{compute}", graph.name), compute)
}

/// Writes the template of every example for every compute kind, in both formats; returns
/// the files.
fn write_templates(dir: &Path) -> Vec<(PathBuf, Compute, TemplateFormat)> {
    let mut files = Vec::new();
    for (name, graph) in examples() {
        for compute in Compute::ALL {
            let template = template(graph, &settings(graph, compute))
                .unwrap_or_else(|e| panic!("{name} on {compute}: {e}"));
            for (format, ext) in [
                (TemplateFormat::Json, "json"),
                (TemplateFormat::Yaml, "yaml"),
            ] {
                let path = dir.join(format!("{name}-{compute}.{ext}"));
                std::fs::write(&path, format.render(&template)).unwrap();
                files.push((path, compute, format));
            }
        }
    }
    files
}

fn cfn_lint_command(files: &[PathBuf]) -> Command {
    let mut command = Command::new(tool("FLOW_CFN_LINT"));
    command.arg("--").args(files);
    command
}

fn cfn_lint(files: &[PathBuf]) -> Output {
    cfn_lint_command(files).output().expect("cfn-lint runs")
}

#[test]
fn every_example_template_passes_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_templates(dir.path());
    assert_eq!(files.len(), examples().len() * Compute::ALL.len() * 2);
    // cfn-lint takes about a second a template: lint the two formats side by side.
    let runs: Vec<Child> = [TemplateFormat::Json, TemplateFormat::Yaml]
        .into_iter()
        .map(|format| {
            let files: Vec<PathBuf> = files
                .iter()
                .filter(|(_, _, f)| *f == format)
                .map(|(path, _, _)| path.clone())
                .collect();
            cfn_lint_command(&files)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cfn-lint runs")
        })
        .collect();
    for run in runs {
        // Exit status 0: no error and no warning (informational findings are not reported).
        let output = run.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "cfn-lint found problems:\n{}",
            text(&output)
        );
    }

    // Without this, a cfn-lint that accepts anything would make the check above vacuous.
    let mut broken = template(
        foreach::MovieFlow::graph(),
        &InfraSettings::new("Broken", Compute::Ec2),
    )
    .unwrap();
    broken["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]
        .as_object_mut()
        .unwrap()
        .remove("MaxvCpus");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, broken.to_string()).unwrap();
    let output = cfn_lint(&[path]);
    assert!(
        !output.status.success() && text(&output).contains("MaxvCpus"),
        "cfn-lint accepted a compute environment without MaxvCpus:\n{}",
        text(&output)
    );
}

#[test]
fn yaml_templates_read_back_the_same_under_yaml_1_1() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_templates(dir.path());
    let pairs: Vec<(String, String)> = files
        .iter()
        .filter(|(_, _, format)| *format == TemplateFormat::Yaml)
        .map(|(yaml, _, _)| {
            let json = yaml.with_extension("json");
            (json.display().to_string(), yaml.display().to_string())
        })
        .collect();
    // PyYAML reads YAML 1.1, as CloudFormation tooling does: dates, yes/no, 12:30 ...
    let script = r#"
import json, sys, yaml
different = [y for j, y in json.load(sys.stdin) if yaml.safe_load(open(y)) != json.load(open(j))]
print(json.dumps(different))
"#;
    let mut child = Command::new(tool("FLOW_MOTO_PYTHON"))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&pairs).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let different: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        different.is_empty(),
        "YAML 1.1 reads these differently from their JSON: {different:?}"
    );
    assert_eq!(pairs.len(), examples().len() * Compute::ALL.len());
}

/// Replaces the template's references inside policies by the values a deployed stack
/// would have, so that parliament reads the documents as IAM will.
fn resolve(value: &Value) -> Value {
    let substitute = |text: &str| {
        let mut text = text.to_string();
        for (from, to) in [
            ("${AWS::Partition}", "aws"),
            ("${AWS::Region}", "us-east-1"),
            ("${AWS::AccountId}", "123456789012"),
            ("${AWS::StackName}", "flowrs-stack"),
            ("${DatastoreBucket}", "flowrs-datastore"),
            (
                "${JobQueue}",
                "arn:aws:batch:us-east-1:123456789012:job-queue/flowrs",
            ),
            ("${Repository}", "flowrs/flow"),
            ("${LogGroup}", "flowrs-jobs"),
        ] {
            text = text.replace(from, to);
        }
        for role in [
            "StateMachineRole",
            "JobRole",
            "ScheduleRole",
            "ExecutionRole",
        ] {
            text = text.replace(
                &format!("${{{role}.Arn}}"),
                &format!("arn:aws:iam::123456789012:role/{role}"),
            );
        }
        assert!(!text.contains("${"), "unresolved reference in {text}");
        text
    };
    match value {
        Value::Object(map) => {
            if let Some(Value::String(sub)) = map.get("Fn::Sub") {
                return Value::String(substitute(sub));
            }
            if map.get("Ref") == Some(&json!("AWS::AccountId")) {
                return json!("123456789012");
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), resolve(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(resolve).collect()),
        other => other.clone(),
    }
}

/// The IAM policy documents a template deploys: each role's inline policies and the
/// deployer's managed policy, by a name for messages.
fn template_policies(template: &Value) -> Vec<(String, Value)> {
    let mut policies = Vec::new();
    for (id, resource) in template["Resources"].as_object().unwrap() {
        let properties = &resource["Properties"];
        match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => {
                for policy in properties["Policies"].as_array().into_iter().flatten() {
                    policies.push((id.clone(), policy["PolicyDocument"].clone()));
                }
            }
            Some("AWS::IAM::ManagedPolicy") => {
                policies.push((id.clone(), properties["PolicyDocument"].clone()))
            }
            _ => {}
        }
    }
    policies
}

fn account() -> AccountResources {
    AccountResources {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: Some("123456789012".into()),
        bucket: "flowrs-datastore".into(),
        job_queue: "flowrs-queue".into(),
        state_machine_role_arn: "arn:aws:iam::123456789012:role/flowrs-states".into(),
        job_role_arn: Some("arn:aws:iam::123456789012:role/flowrs-jobs".into()),
        schedule_role_arn: Some("arn:aws:iam::123456789012:role/flowrs-schedule".into()),
        execution_role_arn: Some("arn:aws:iam::123456789012:role/flowrs-execution".into()),
        repository: Some("flowrs/flow".into()),
        log_group: Some("flowrs-jobs".into()),
    }
}

/// Runs parliament over every `.json` policy in `dir`; its exit status is 0 only when it
/// found nothing.
fn parliament(dir: &Path) -> Output {
    Command::new(tool("FLOW_PARLIAMENT"))
        .arg("--directory")
        .arg(dir)
        .args(["--include_policy_extension", ".json"])
        .stdin(Stdio::null())
        .output()
        .expect("parliament runs")
}

#[test]
fn every_policy_passes_parliament() {
    let dir = tempfile::tempdir().unwrap();
    let mut written = 0;
    let mut write = |name: String, policy: &Value| {
        std::fs::write(dir.path().join(format!("{name}.json")), policy.to_string()).unwrap();
        written += 1;
    };
    // The example graphs and the compiler's test shapes (per-step queues, job roles, GPUs).
    let mut graphs: Vec<(String, FlowGraph)> = examples()
        .into_iter()
        .map(|(n, g)| (n.to_string(), g.clone()))
        .collect();
    graphs.extend(
        common::shapes()
            .into_iter()
            .map(|(n, g)| (format!("shape-{n}"), g)),
    );
    for (name, graph) in &graphs {
        for compute in Compute::ALL {
            for kms in [None, Some(KMS_KEY)] {
                let tag = format!(
                    "{name}-{compute}-{}",
                    if kms.is_some() { "kms" } else { "sse" }
                );
                // What `create --print-policy` would print, from an account's resources.
                let scope = PolicyScope::new(graph, "Flow", "runs", compute, kms);
                let bindings = Bindings::account(&scope, &account()).with_stack("flowrs-stack");
                for principal in Principal::ALL.into_iter().filter(|p| scope.has(*p)) {
                    if let Some(policy) = policy_document(principal, &scope, &bindings).unwrap() {
                        write(format!("{tag}-{principal:?}"), &policy);
                    }
                }
                // What the template deploys (GPU steps cannot run on Fargate).
                let mut settings = InfraSettings::new("Flow", compute);
                settings.kms_key_arn = kms.map(str::to_string);
                if let Ok(template) = template(graph, &settings) {
                    for (role, policy) in template_policies(&template) {
                        write(format!("{tag}-template-{role}"), &resolve(&policy));
                    }
                }
            }
        }
    }
    assert!(written > 500, "only {written} policies written");
    let output = parliament(dir.path());
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "parliament found problems:\n{}",
        text(&output)
    );

    // Without this, a parliament that accepts anything would make the check above vacuous.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("broken.json"),
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "batch:SubmitJob",
            "Resource": "arn:aws:s3:::flowrs-datastore/*",
        }]})
        .to_string(),
    )
    .unwrap();
    let output = parliament(broken.path());
    assert!(!output.status.success(), "{}", text(&output));
}

#[test]
fn every_permission_is_in_the_documentation() {
    let docs = std::fs::read_to_string(repo_root().join("docs/step-functions.md")).unwrap();
    assert!(
        docs.contains(&markdown_table()),
        "docs/step-functions.md does not hold the permissions table; paste \
         flow_sfn::infra::policy::markdown_table():\n{}",
        markdown_table()
    );
    assert!(
        docs.contains(&markdown_any_resource_list()),
        "docs/step-functions.md does not list every `Resource: \"*\"` with its reason; paste \
         flow_sfn::infra::policy::markdown_any_resource_list():\n{}",
        markdown_any_resource_list()
    );
    assert!(PERMISSIONS.iter().any(|p| p.is_on_any_resource()));
}

#[test]
fn the_fargate_sizes_are_the_aws_api_models() {
    // The API model botocore ships documents the valid pairs in ResourceRequirement.value.
    let script = r#"
import json, re, botocore.session
doc = botocore.session.get_session().get_service_model("batch") \
    .shape_for("ResourceRequirement").members["value"].documentation
text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", doc))
vcpu = text[text.index('type="VCPU"'):]
pairs = re.findall(r"value = ([0-9.]+) MEMORY = ([0-9, or]+?)(?= value =|$| [A-Z])", vcpu)
print(json.dumps({v: [int(m) for m in re.findall(r"[0-9]+", ms)] for v, ms in pairs}))
"#;
    let output = Command::new(tool("FLOW_MOTO_PYTHON"))
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let documented: std::collections::BTreeMap<String, Vec<u64>> =
        serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        documented.len(),
        FARGATE_SIZES.len(),
        "AWS documents {documented:?}"
    );
    for size in FARGATE_SIZES {
        let vcpu = size.vcpu().to_string();
        assert_eq!(
            documented.get(&vcpu),
            Some(&size.memory_mib()),
            "{vcpu} vCPU: AWS documents {:?}",
            documented.get(&vcpu)
        );
    }
}

/// A private emulator (moto with CloudFormation) for one test, stopped when dropped.
struct Emulator {
    child: Child,
    stdin: Option<ChildStdin>,
    info: Value,
    _logs: tempfile::TempDir,
}

impl Emulator {
    fn start() -> Emulator {
        let logs = tempfile::tempdir().unwrap();
        let mut child = Command::new(tool("FLOW_MOTO_PYTHON"))
            .arg(repo_root().join("tests/support/aws-emulator/launch.py"))
            .arg("--log-dir")
            .arg(logs.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("launch.py starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the emulator did not start ({e}): {line:?}"));
        Emulator {
            stdin: child.stdin.take(),
            child,
            info,
            _logs: logs,
        }
    }

    fn get(&self, key: &str) -> &str {
        self.info[key].as_str().unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // EOF on the launcher's stdin stops the server.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn every_example_template_deploys_on_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Vec::new();
    let mut expected = Vec::new();
    for (name, graph) in examples() {
        for compute in Compute::ALL {
            let template = template(graph, &settings(graph, compute)).unwrap();
            // Half the stacks from YAML: CloudFormation (here, moto's PyYAML) reads it too.
            let format = match compute {
                Compute::Ec2 | Compute::Fargate => TemplateFormat::Json,
                Compute::Spot | Compute::FargateSpot => TemplateFormat::Yaml,
            };
            let path = dir.path().join(format!("{name}-{compute}.template"));
            std::fs::write(&path, format.render(&template)).unwrap();
            let stack = format!("{name}-{compute}").replace('_', "-");
            manifest.push(json!({
                "stack": stack,
                "template": path,
                "compute_type": compute.batch_type(),
            }));
            let outputs: Vec<String> = template["Outputs"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            expected.push((stack, outputs, compute, graph.schedule.is_some()));
        }
    }
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(&manifest_path, Value::Array(manifest).to_string()).unwrap();

    let emulator = Emulator::start();
    let output = Command::new(tool("FLOW_MOTO_PYTHON"))
        .arg(repo_root().join("tests/support/aws-emulator/deploy_stacks.py"))
        .args([
            emulator.get("endpoint"),
            emulator.get("region"),
            // moto, unlike AWS, has no Batch service-linked role: pass the launcher's role.
            emulator.get("role_arn"),
        ])
        .arg(&manifest_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let results: Vec<Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output)));
    assert_eq!(results.len(), expected.len());
    let mut failures = Vec::new();
    for (result, (stack, outputs, compute, scheduled)) in results.iter().zip(&expected) {
        assert_eq!(&result["stack"], stack);
        if result["status"] != "CREATE_COMPLETE" || result["problems"] != json!([]) {
            failures.push(format!(
                "{stack}: {} {} {}",
                result["status"], result["reason"], result["problems"]
            ));
            continue;
        }
        let mut got: Vec<String> = result["outputs"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        got.sort();
        let mut want = outputs.clone();
        want.sort();
        assert_eq!(&got, &want, "{stack}: outputs");
        assert_eq!(
            got.contains(&"ExecutionRoleArn".to_string()),
            compute.is_fargate(),
            "{stack}"
        );
        assert_eq!(
            got.contains(&"ScheduleRoleArn".to_string()),
            *scheduled,
            "{stack}"
        );
        assert!(result["outputs"]["Datastore"]
            .as_str()
            .unwrap()
            .starts_with("s3://"));
    }
    assert!(
        failures.is_empty(),
        "stacks failed:\n{}",
        failures.join("\n")
    );
}
