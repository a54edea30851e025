//! Proof that the generated IAM policies are sufficient and minimal.
//!
//! Flows run end to end on the emulator with its request log on
//! (`MOTO_REQUEST_LOG`, tests/support/aws-emulator/request_log.py): one line per AWS call
//! with its principal, IAM action, resources and condition keys, including the calls moto
//! leaves implicit (iam:PassRole, what Step Functions does with the state machine's role for
//! `.sync` jobs and Distributed Map children, what EventBridge does as the schedule's role).
//! Each process signs as its principal: the CLI as `deployer`, a Batch job as its job role,
//! moto's Step Functions interpreter as the state machine.
//!
//! Then, with the policies `flow_sfn::infra::policy_document` generates for the emulator's
//! account (`Bindings::account`):
//! * sufficient: every logged call of every principal is allowed by that principal's policy,
//!   resource by resource, conditions included;
//! * minimal: for every statement of every policy, the policy without it denies at least
//!   one logged call, except the few statements listed in [`NOT_EXERCISED`] with why the
//!   emulator cannot exercise them.
//!
//! moto's own IAM enforcement (`INITIAL_NO_AUTH_ACTION_COUNT`) is not used: it authorizes
//! every action against `*` (moto/iam/access_control.py), so it could prove neither
//! resource scoping nor conditions.

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/downstream.rs"]
mod downstream;
#[path = "../examples/foreach.rs"]
mod foreach;
#[path = "../examples/params.rs"]
mod params;
#[path = "../examples/resume.rs"]
mod resume;
#[path = "../examples/switch.rs"]
mod switch;

use emulator::Aws;
use flow_core::graph::FlowGraph;
use flow_core::Flow;
use flow_sfn::infra::policy::AccountResources;
use flow_sfn::infra::{policy_document, Bindings, Compute, PolicyScope, Principal};
use flow_test_support::iam::{denied_resources, statements, Request, Statement};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";
const STATE_MACHINE_ROLE: &str = "arn:aws:iam::123456789012:role/flowrs-state-machine";
const JOB_ROLE: &str = "arn:aws:iam::123456789012:role/flowrs-job";
const SCHEDULE_ROLE: &str = "arn:aws:iam::123456789012:role/flowrs-schedule";
/// The key id the deploying user signs with.
const DEPLOYER_KEY: &str = "deployer";
/// The key the test harness itself signs with (emulator setup, the datastore bucket).
const HARNESS_KEY: &str = "test";

/// Statements the emulator cannot exercise, with why; every other statement of every
/// generated policy must be needed by some logged call.
const NOT_EXERCISED: &[(Principal, &str, &str)] = &[(
    Principal::StateMachine,
    "StopFlowJobs",
    "Step Functions terminates a `.sync` Batch job when its execution stops; moto's \
     interpreter leaves the job running and calls nothing, so no TerminateJob is made",
)];

/// One logged AWS call.
#[derive(Debug, Clone)]
struct Call {
    principal: String,
    operation: String,
    implied_by: Option<String>,
    request: Request,
}

impl Call {
    fn describe(&self) -> String {
        format!(
            "{} {} {} ({}{}{})",
            self.principal,
            self.request.action,
            self.request.resources.join(" "),
            self.operation,
            if self.request.conditions.is_empty() {
                String::new()
            } else {
                format!(", {:?}", self.request.conditions)
            },
            self.implied_by
                .as_ref()
                .map(|w| format!("; {w}"))
                .unwrap_or_default()
        )
    }
}

fn read_log(path: &Path) -> Vec<Call> {
    let text = std::fs::read_to_string(path).expect("the request log");
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            Call {
                principal: s("principal"),
                operation: s("operation"),
                implied_by: v["implied_by"].as_str().map(str::to_string),
                request: Request {
                    action: s("action"),
                    resources: v["resources"]
                        .as_array()
                        .expect("resources")
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect(),
                    conditions: v["conditions"]
                        .as_object()
                        .expect("conditions")
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect(),
                },
            }
        })
        .collect()
}

/// Which principal a logged caller is (`None` for the test harness).
fn principal_of(caller: &str) -> Result<Option<Principal>, String> {
    let job_key = format!("job-{}", JOB_ROLE.rsplit('/').next().unwrap());
    let schedule_target = format!("events-target:{SCHEDULE_ROLE}");
    match caller {
        HARNESS_KEY => Ok(None),
        DEPLOYER_KEY => Ok(Some(Principal::Deployer)),
        "state-machine" => Ok(Some(Principal::StateMachine)),
        c if c == job_key => Ok(Some(Principal::Job)),
        c if c == schedule_target => Ok(Some(Principal::Schedule)),
        other => Err(format!(
            "a call by `{other}`, which is none of the principals"
        )),
    }
}

/// One flow's runs: its logged calls and its policies' scope.
struct Scenario {
    flow: &'static str,
    scope: PolicyScope,
    calls: Vec<Call>,
}

/// Starts an emulator with the request log on, runs `steps` against it as the deployer,
/// and returns the log.
fn scenario(
    example: &'static str,
    graph: &FlowGraph,
    job_env: &[(&str, &str)],
    steps: impl FnOnce(&Deployer),
) -> Scenario {
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("requests.jsonl");
    let mut env: Vec<(&str, &str)> = vec![("MOTO_REQUEST_LOG", log.to_str().unwrap())];
    env.extend_from_slice(job_env);
    let aws = Aws::start(&env, &[]);
    let deployer = Deployer { aws, example };
    steps(&deployer);
    let scope = PolicyScope::new(graph, &graph.name, "runs", Compute::Ec2, None);
    drop(deployer);
    Scenario {
        flow: example,
        scope,
        calls: read_log(&log),
    }
}

/// Runs an example's CLI as the deploying user.
struct Deployer {
    aws: Aws,
    example: &'static str,
}

impl Deployer {
    fn env() -> [(&'static str, &'static str); 4] {
        [
            ("AWS_ACCESS_KEY_ID", DEPLOYER_KEY),
            ("FLOW_SFN_ROLE_ARN", STATE_MACHINE_ROLE),
            ("FLOW_SFN_JOB_ROLE_ARN", JOB_ROLE),
            ("FLOW_SFN_SCHEDULE_ROLE", SCHEDULE_ROLE),
        ]
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["step-functions"];
        full.extend_from_slice(args);
        self.aws.cli_with_env(self.example, &full, &Self::env())
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{} {args:?} failed:\n{}\n{}\nemulator logs:\n{}",
            self.example,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.aws.emulator.logs()
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

fn account(scope: &PolicyScope, queue: &str) -> AccountResources {
    AccountResources {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: Some(ACCOUNT.into()),
        bucket: Aws::BUCKET.into(),
        job_queue: queue.into(),
        state_machine_role_arn: STATE_MACHINE_ROLE.into(),
        job_role_arn: Some(JOB_ROLE.into()),
        schedule_role_arn: scope.scheduled.then(|| SCHEDULE_ROLE.into()),
        execution_role_arn: None,
        repository: None,
        log_group: None,
    }
}

/// Every principal's generated policy for a scenario, as statements.
fn policies(scope: &PolicyScope) -> BTreeMap<Principal, Vec<Statement>> {
    let bindings = Bindings::account(scope, &account(scope, "flowrs-queue"));
    Principal::ALL
        .iter()
        .filter_map(|p| {
            let document = policy_document(*p, scope, &bindings).expect("policy")?;
            Some((
                *p,
                statements(&document).expect("a policy the evaluator reads"),
            ))
        })
        .collect()
}

fn run_scenarios() -> Vec<Scenario> {
    let foreach_and_switch = std::thread::spawn(|| {
        let foreach = scenario("foreach", foreach::MovieFlow::graph(), &[], |d| {
            d.ok(&["create"]);
            let run = d.ok(&["trigger", "--wait", "--count", "3"]);
            d.ok(&["status", &run]);
            d.ok(&["delete"]);
        });
        let switch = scenario("switch", switch::SwitchFlow::graph(), &[], |d| {
            d.ok(&["create"]);
            d.ok(&["trigger", "--wait", "--value", "80"]);
            d.ok(&["delete"]);
        });
        // A flow that triggers start (another flow's success, an S3 upload): its rules are
        // put as the deployer and target the state machine as the schedule's role.
        let triggered = scenario(
            "downstream",
            downstream::DownstreamFlow::graph(),
            &[],
            |d| {
                d.ok(&["create"]);
                d.ok(&["trigger", "--wait"]);
                d.ok(&["delete"]);
            },
        );
        vec![foreach, switch, triggered]
    });

    let outage_dir = tempfile::tempdir().unwrap();
    let outage = outage_dir.path().join("outage");
    std::fs::write(&outage, "down").unwrap();
    let outage_env = [("FRAGILE_FAIL_IF_EXISTS", outage.to_str().unwrap())];
    let resumed = scenario("resume", resume::ResumeFlow::graph(), &outage_env, |d| {
        d.ok(&["create"]);
        let out = d.run(&["trigger", "--wait"]);
        assert!(
            !out.status.success(),
            "the run fails while the outage lasts"
        );
        let failed = String::from_utf8(out.stdout).unwrap().trim().to_string();
        d.ok(&["status", &failed]);
        d.ok(&["list-runs"]);
        std::fs::remove_file(&outage).unwrap();
        d.ok(&["resume", &failed, "--wait"]);
        d.ok(&["delete"]);
    });
    let scheduled = scenario("params", params::ParamsFlow::graph(), &[], |d| {
        d.ok(&["create"]);
        d.ok(&["trigger", "--wait"]);
        let run = d.ok(&["trigger"]);
        d.ok(&["terminate", &run]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !d.ok(&["status", &run]).contains("ABORTED") {
            assert!(Instant::now() < deadline, "run {run} was not aborted");
            std::thread::sleep(Duration::from_millis(300));
        }
        d.ok(&["list-runs", "--status", "aborted"]);
        d.ok(&["delete"]);
    });
    let mut all = foreach_and_switch.join().expect("foreach and switch runs");
    all.extend([resumed, scheduled]);
    all
}

#[test]
fn every_call_is_allowed_and_every_statement_is_needed() {
    let scenarios = run_scenarios();
    let mut problems = Vec::new();
    // (principal, sid) -> whether some scenario's calls need it.
    let mut needed: BTreeMap<(Principal, String), bool> = BTreeMap::new();
    let mut seen: BTreeMap<(Principal, String), usize> = BTreeMap::new();
    for scenario in &scenarios {
        let policies = policies(&scenario.scope);
        let mut by_principal: BTreeMap<Principal, Vec<&Call>> = BTreeMap::new();
        for call in &scenario.calls {
            match principal_of(&call.principal) {
                Ok(Some(p)) => by_principal.entry(p).or_default().push(call),
                Ok(None) => {}
                Err(e) => problems.push(format!("{}: {e}: {}", scenario.flow, call.describe())),
            }
        }
        // Sufficient: each call allowed, resource by resource.
        for (principal, calls) in &by_principal {
            let empty = Vec::new();
            let policy = policies.get(principal).unwrap_or(&empty);
            for call in calls {
                *seen
                    .entry((*principal, call.request.action.clone()))
                    .or_default() += 1;
                let denied = denied_resources(policy, &call.request);
                if !denied.is_empty() {
                    problems.push(format!(
                        "{}: denied to the {}: {} (on {})",
                        scenario.flow,
                        principal.name(),
                        call.describe(),
                        denied.join(" ")
                    ));
                }
            }
        }
        // Minimal: each statement needed by some call.
        for (principal, policy) in &policies {
            let calls = by_principal.get(principal).cloned().unwrap_or_default();
            for (i, statement) in policy.iter().enumerate() {
                let without: Vec<Statement> = policy
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, s)| s.clone())
                    .collect();
                let is_needed = calls
                    .iter()
                    .any(|c| !denied_resources(&without, &c.request).is_empty());
                *needed
                    .entry((*principal, statement.sid.clone()))
                    .or_default() |= is_needed;
            }
        }
    }
    for ((principal, sid), is_needed) in &needed {
        let listed = NOT_EXERCISED
            .iter()
            .any(|(p, s, _)| p == principal && s == sid);
        match (is_needed, listed) {
            (false, false) => problems.push(format!(
                "statement `{sid}` of the {} is needed by no call of the runs: exercise it or \
                 drop it from flow-sfn/src/infra/policy.rs",
                principal.name()
            )),
            (true, true) => problems.push(format!(
                "statement `{sid}` of the {} is listed as not exercised, but the runs need it: \
                 take it off NOT_EXERCISED",
                principal.name()
            )),
            _ => {}
        }
    }
    for (principal, sid, why) in NOT_EXERCISED {
        assert!(
            needed.contains_key(&(*principal, sid.to_string())),
            "NOT_EXERCISED names `{sid}` of the {}, which no generated policy has",
            principal.name()
        );
        assert!(!why.is_empty());
    }
    // Every principal the flows have made calls: the proof covers each of them.
    let principals: BTreeSet<Principal> = seen.keys().map(|(p, _)| *p).collect();
    for expected in [
        Principal::Deployer,
        Principal::StateMachine,
        Principal::Job,
        Principal::Schedule,
    ] {
        if !principals.contains(&expected) {
            problems.push(format!("no call of the {} was logged", expected.name()));
        }
    }
    let summary: Vec<String> = seen
        .iter()
        .map(|((p, a), n)| format!("{:<20} {a:<40} {n}", p.name()))
        .collect();
    eprintln!("calls checked:\n{}", summary.join("\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
