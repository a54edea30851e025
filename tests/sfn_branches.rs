//! Projects and branches on the emulator: production, two test branches and a user's
//! deployment of one scheduled project flow (examples/nightly_report.rs) deployed side by
//! side. Listing what each owns (state machine, executions, schedule rule and its target, job
//! definitions, datastore objects) shows nothing crosses; only production gets the schedule;
//! deleting a branch leaves the others listed and triggerable; a branch's `trigger_on_finish`
//! is started by the same branch's upstream run (examples/nightly_publish.rs).

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/nightly_publish.rs"]
mod nightly_publish;

use emulator::{runtime, Aws};
use flow_core::client::Client;
use nightly_publish::NightlyPublish;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const FLOW: &str = "nightly_report";

/// State machine name -> ARN.
fn state_machines(aws: &Aws) -> BTreeMap<String, String> {
    let clients = aws.clients();
    runtime().block_on(async {
        let out = clients.sfn.list_state_machines().send().await.unwrap();
        out.state_machines()
            .iter()
            .map(|m| (m.name().to_string(), m.state_machine_arn().to_string()))
            .collect()
    })
}

/// Execution name (run id) -> status, of one state machine.
fn executions(aws: &Aws, arn: &str) -> BTreeMap<String, String> {
    let clients = aws.clients();
    runtime().block_on(async {
        let out = clients
            .sfn
            .list_executions()
            .state_machine_arn(arn)
            .send()
            .await
            .unwrap();
        out.executions()
            .iter()
            .map(|e| (e.name().to_string(), e.status().as_str().to_string()))
            .collect()
    })
}

/// Rule name -> the ARNs its targets start.
fn rules(aws: &Aws) -> BTreeMap<String, Vec<String>> {
    let clients = aws.clients();
    runtime().block_on(async {
        let out = clients.events.list_rules().send().await.unwrap();
        let mut rules = BTreeMap::new();
        for rule in out.rules() {
            let name = rule.name().unwrap_or_default().to_string();
            let targets = clients
                .events
                .list_targets_by_rule()
                .rule(&name)
                .send()
                .await
                .unwrap();
            let arns = targets
                .targets()
                .iter()
                .map(|t| t.arn().to_string())
                .collect();
            rules.insert(name, arns);
        }
        rules
    })
}

/// The names of the ACTIVE job definitions.
fn job_definitions(aws: &Aws) -> BTreeSet<String> {
    let clients = aws.clients();
    runtime().block_on(async {
        let out = clients
            .batch
            .describe_job_definitions()
            .status("ACTIVE")
            .send()
            .await
            .unwrap();
        out.job_definitions()
            .iter()
            .map(|d| d.job_definition_name().unwrap_or_default().to_string())
            .collect()
    })
}

/// The datastore's keys.
fn keys(aws: &Aws) -> Vec<String> {
    let clients = aws.clients();
    runtime().block_on(async {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = clients
                .s3
                .list_objects_v2()
                .bucket(Aws::BUCKET)
                .set_continuation_token(token)
                .send()
                .await
                .unwrap();
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match out.next_continuation_token() {
                Some(next) => token = Some(next.to_string()),
                None => return keys,
            }
        }
    })
}

/// The run ids stored under a namespace's folder of the datastore.
fn stored_runs(keys: &[String], folder: &str) -> BTreeSet<String> {
    let prefix = format!("runs/{folder}/NightlyReport/runs/");
    keys.iter()
        .filter_map(|k| k.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('/').next())
        .filter(|run| run.starts_with("20"))
        .map(str::to_string)
        .collect()
}

fn wait_succeeded(aws: &Aws, arn: &str, run: &str) {
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let status = executions(aws, arn).get(run).cloned().unwrap_or_default();
        if status == "SUCCEEDED" {
            return;
        }
        assert!(
            status == "RUNNING" && Instant::now() < deadline,
            "run {run} of {arn}: {status}\n{}",
            aws.emulator.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn production_and_branches_side_by_side_never_cross() {
    let aws = Aws::start(&[], &[]);
    let prod = "recs.prod.NightlyReport";
    let a = "recs.test.a.NightlyReport";
    let b = "recs.test.b.NightlyReport";
    let user = "recs.user.alice.NightlyReport";

    // A flow without a project refuses the flags, naming how to give it one.
    let err = aws.fails("linear", &["step-functions", "create", "--branch", "a"]);
    assert!(err.contains("#[flow(project = \"...\")]"), "{err}");
    // A bad branch name is refused before anything is deployed.
    let err = aws.fails(FLOW, &["step-functions", "create", "--branch", "a.b"]);
    assert!(err.contains("branch `a.b`"), "{err}");

    aws.ok(FLOW, &["step-functions", "create", "--production"]);
    aws.ok(FLOW, &["step-functions", "create", "--branch", "a"]);
    aws.ok(FLOW, &["step-functions", "create", "--branch", "b"]);
    let out = aws.cli_with_env(
        FLOW,
        &["step-functions", "create"],
        &[("FLOW_USER", "alice")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        state_machines(&aws).keys().cloned().collect::<Vec<_>>(),
        vec![prod, a, b, user],
        "one state machine per branch, and no un-namespaced one"
    );

    let trigger = |flags: &[&str]| {
        let mut args = vec!["step-functions", "trigger"];
        args.extend_from_slice(flags);
        aws.ok(FLOW, &args)
            .trim()
            .lines()
            .last()
            .unwrap()
            .to_string()
    };
    let runs = BTreeMap::from([
        (prod, trigger(&["--production"])),
        (a, trigger(&["--branch", "a"])),
        (b, trigger(&["--branch", "b"])),
    ]);
    let machines = state_machines(&aws);
    for (machine, run) in &runs {
        wait_succeeded(&aws, &machines[*machine], run);
        let listed: Vec<String> = executions(&aws, &machines[*machine]).into_keys().collect();
        assert_eq!(listed, vec![run.clone()], "{machine}'s executions");
    }
    assert!(executions(&aws, &machines[user]).is_empty());
    // list-runs of a branch shows its run only.
    let listed = aws.ok(FLOW, &["step-functions", "list-runs", "--branch", "a"]);
    assert!(
        listed.contains(&runs[a]) && !listed.contains(&runs[b]) && !listed.contains(&runs[prod]),
        "{listed}"
    );

    // Only production is scheduled, and its rule starts production only.
    let rules = rules(&aws);
    assert_eq!(
        rules.keys().cloned().collect::<Vec<_>>(),
        vec![prod.to_string()],
        "{rules:?}"
    );
    assert!(
        rules[prod].iter().all(|t| t.starts_with(&machines[prod])) && !rules[prod].is_empty(),
        "{rules:?}"
    );

    // Each branch has its own job definitions.
    let defs = job_definitions(&aws);
    for owner in [
        "recs_prod_NightlyReport-",
        "recs_test_a_NightlyReport-",
        "recs_test_b_NightlyReport-",
        "recs_user_alice_NightlyReport-",
    ] {
        assert!(
            defs.iter().any(|d| d.starts_with(owner)),
            "{owner}: {defs:?}"
        );
    }
    assert!(defs.iter().all(|d| d.starts_with("recs_")), "{defs:?}");

    // Each run is stored under its branch's folder only.
    let keys = keys(&aws);
    for (folder, machine) in [("recs.prod", prod), ("recs.test.a", a), ("recs.test.b", b)] {
        assert_eq!(
            stored_runs(&keys, folder),
            BTreeSet::from([runs[machine].clone()]),
            "{folder}: {keys:?}"
        );
    }
    assert!(
        keys.iter().all(
            |k| ["runs/recs.prod/", "runs/recs.test.a/", "runs/recs.test.b/"]
                .iter()
                .any(|p| k.starts_with(p))
        ),
        "a key outside the branches' folders: {keys:?}"
    );

    // Deleting branch a leaves production and branch b listed and working.
    aws.ok(FLOW, &["step-functions", "delete", "--branch", "a"]);
    let machines = state_machines(&aws);
    assert!(!machines.contains_key(a), "{machines:?}");
    assert!(machines.contains_key(prod) && machines.contains_key(b) && machines.contains_key(user));
    let defs = job_definitions(&aws);
    assert!(
        !defs.iter().any(|d| d.starts_with("recs_test_a_")),
        "{defs:?}"
    );
    assert!(defs.iter().any(|d| d.starts_with("recs_prod_")), "{defs:?}");
    assert!(
        defs.iter().any(|d| d.starts_with("recs_test_b_")),
        "{defs:?}"
    );
    assert!(self::rules(&aws).contains_key(prod));
    let again = trigger(&["--branch", "b", "--wait"]);
    let listed: BTreeSet<String> = executions(&aws, &machines[b]).into_keys().collect();
    assert_eq!(listed, BTreeSet::from([runs[b].clone(), again]));
    assert_eq!(executions(&aws, &machines[prod]).len(), 1);
    let err = aws.fails(
        FLOW,
        &["step-functions", "status", "--branch", "a", &runs[a]],
    );
    assert!(err.contains(a), "{err}");

    // --enable-triggers gives a branch its schedule, on its own state machine.
    aws.ok(
        FLOW,
        &[
            "step-functions",
            "create",
            "--branch",
            "c",
            "--enable-triggers",
        ],
    );
    let c = "recs.test.c.NightlyReport";
    let machines = state_machines(&aws);
    let rules = self::rules(&aws);
    assert!(
        rules[c].iter().all(|t| t.starts_with(&machines[c])) && !rules[c].is_empty(),
        "{rules:?}"
    );
    assert_eq!(rules.len(), 2, "{rules:?}");

    // trigger_on_finish stays within a branch: branch b's report starts branch b's publish,
    // which reads the report from branch b's folder; production's publish does not start.
    aws.ok(
        "nightly_publish",
        &["step-functions", "create", "--production"],
    );
    aws.ok(
        "nightly_publish",
        &[
            "step-functions",
            "create",
            "--branch",
            "b",
            "--enable-triggers",
        ],
    );
    let report = trigger(&["--branch", "b", "--wait"]);
    let machines = state_machines(&aws);
    let publish_b = &machines["recs.test.b.NightlyPublish"];
    let deadline = Instant::now() + Duration::from_secs(90);
    let published = loop {
        let runs = executions(&aws, publish_b);
        if let Some((run, _)) = runs.iter().find(|(_, s)| s.as_str() == "SUCCEEDED") {
            break run.clone();
        }
        assert!(
            runs.values().all(|s| s == "RUNNING") && Instant::now() < deadline,
            "branch b's publish: {runs:?}\n{}",
            aws.emulator.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(executions(&aws, &machines["recs.prod.NightlyPublish"]).is_empty());
    let store = emulator::with_env(&aws.env(), || {
        runtime().block_on(async {
            flow_sfn::open_s3_store(&format!("{}/recs.test.b", aws.datastore))
                .await
                .unwrap()
        })
    });
    let end = runtime().block_on(async {
        Client::<NightlyPublish>::new(store)
            .run(&published.parse().unwrap())
            .await
            .unwrap()
            .end_state()
            .await
            .unwrap()
    });
    assert_eq!(end.upstream, format!("NightlyReport/{report}"));
    assert_eq!(end.rows, 42);
}
