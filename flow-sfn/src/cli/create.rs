//! `step-functions create`: compile the flow and deploy it, or with `--only-json` print
//! what would be deployed, or with `--print-policy` the IAM policy its deployer needs.

use super::with_settings;
use crate::aws;
use crate::config::{ConfigError, SfnArgs};
use crate::deployment::compile_flow;
use crate::infra::policy::AccountResources;
use crate::infra::{policy_document, Bindings, PolicyScope, Principal};
use crate::json::to_canonical_pretty;
use anyhow::{bail, Context};
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use flow_core::graph::{Analysis, FlowGraph};
use flow_core::Flow;
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;

/// The `create` command.
pub(super) fn command() -> Command {
    with_settings(
        Command::new("create")
            .about(
                "Compile the flow and deploy it: Batch job definitions, the state machine, its \
                 schedule",
            )
            .arg(
                Arg::new("only-json")
                    .long("only-json")
                    .action(ArgAction::SetTrue)
                    .help("Print the state machine definition instead of deploying it"),
            )
            .arg(
                Arg::new("job-definitions")
                    .long("job-definitions")
                    .action(ArgAction::SetTrue)
                    .requires("only-json")
                    .help(
                        "With --only-json: print {state_machine_name, definition, \
                         job_definitions} instead of the definition alone",
                    ),
            )
            .arg(
                Arg::new("print-policy")
                    .long("print-policy")
                    .action(ArgAction::SetTrue)
                    .conflicts_with("only-json")
                    .help(
                        "Print the IAM policy that whoever runs create, trigger, status, \
                         list-runs, resume, terminate and delete needs for this flow and these \
                         settings, instead of deploying (the account is the state machine \
                         role's)",
                    ),
            ),
    )
}

/// Whether `create` only prints (`--only-json`, `--print-policy`) and deploys nothing.
pub(super) fn prints_only(create: &ArgMatches) -> bool {
    create.get_flag("only-json") || create.get_flag("print-policy")
}

/// Runs `create`: deploys flow `F` (job definitions, state machine, schedule) and prints the
/// state machine's ARN; with `--only-json` or `--print-policy` (`matches`) prints instead.
pub(super) async fn create<F: Flow>(
    args: &SfnArgs,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let graph = F::graph();
    if prints_only(matches) {
        return print(
            graph,
            F::analysis(),
            args,
            matches,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        );
    }
    let crate::deployment::Created {
        compiled: deployment,
        deployed,
    } = crate::Deployment::<F>::settled(args.clone())
        .create()
        .await?;
    eprint!("{}", deployment.report.to_text());
    let schedule = match (&deployed.schedule_rule, &graph.schedule) {
        (Some(rule), Some(expression)) => {
            format!("; scheduled {expression} by EventBridge rule {rule}")
        }
        _ => String::new(),
    };
    eprintln!(
        "{} state machine {} and published version {} as alias `{}`; {} new job definition(s){schedule}",
        if deployed.created {
            "created"
        } else {
            "updated"
        },
        deployment.state_machine_name,
        deployed
            .version_arn
            .rsplit(':')
            .next()
            .unwrap_or_default(),
        aws::deploy::LIVE_ALIAS,
        deployed.registered_job_definitions.len(),
    );
    if let Some(rule) = &deployed.foreign_rule {
        eprintln!(
            "note: left the EventBridge rule `{rule}` alone: it has the name of this flow's \
             schedule rule but is not this deployment's"
        );
    }
    println!("{}", deployed.state_machine_arn);
    Ok(ExitCode::SUCCESS)
}

/// Runs `step-functions create --only-json` for a graph, writing JSON to `out` and the
/// report to `log`.
pub fn run_for_graph(
    graph: &FlowGraph,
    analysis: &Analysis,
    matches: &ArgMatches,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match matches.subcommand() {
        Some(("create", create)) if prints_only(create) => {
            let args = SfnArgs::from_arg_matches(create)?;
            if args.stack.is_some() {
                bail!(
                    "--stack reads the stack from AWS: use `run_step_functions_command`, or pass \
                     the settings as flags"
                );
            }
            print(graph, analysis, &args, create, out, log)
        }
        Some((name, _)) => {
            bail!("`step-functions {name}` needs AWS: use `run_step_functions_command`")
        }
        None => bail!("missing subcommand: run `step-functions --help`"),
    }
}

/// `create --only-json` (the definition, or with `--job-definitions` the bundle) or
/// `create --print-policy` (the deployer's policy), written to `out`; the compile report
/// goes to `log`.
fn print(
    graph: &FlowGraph,
    analysis: &Analysis,
    args: &SfnArgs,
    create: &ArgMatches,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    if create.get_flag("print-policy") {
        let policy = deployer_policy(graph, args)?;
        writeln!(out, "{}", to_canonical_pretty(&policy).trim_end())?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = args.resolve_flow(graph)?;
    let deployment = compile_flow(graph, analysis, &config)?;
    let json = if create.get_flag("job-definitions") {
        deployment.bundle_json()
    } else {
        deployment.definition_json()
    };
    writeln!(out, "{json}")?;
    write!(log, "{}", deployment.report.to_text())?;
    Ok(ExitCode::SUCCESS)
}

/// The partition and account id of an IAM role ARN, `arn:<partition>:iam::<account>:role/..`.
fn role_account(arn: &str) -> Result<(String, String), ConfigError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, _]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok((partition.to_string(), account.to_string()))
        }
        _ => Err(ConfigError::Invalid {
            setting: "IAM role ARN",
            flag: "--role-arn / FLOW_SFN_ROLE_ARN",
            value: arn.to_string(),
            why: "the deployer's policy names the account of the state machine's role: write \
                  arn:aws:iam::<12-digit account id>:role/<name>"
                .to_string(),
        }),
    }
}

/// The IAM policy of whoever deploys and operates `graph` with these settings: the
/// deployer's rows of the permissions table, bound to the flow's resources in the account of
/// the state machine's role (and the stack's, with `--stack`).
fn deployer_policy(graph: &FlowGraph, args: &SfnArgs) -> anyhow::Result<Value> {
    // The image is no part of the policy: every other setting is checked as `create` would.
    let mut settings = args.clone();
    settings.image.get_or_insert_with(|| "unused".to_string());
    let config = settings.resolve_flow(graph)?;
    let role = config.require_role_arn()?;
    let region = config.require_region()?;
    let (partition, account_id) = role_account(role)?;
    let mut scope = PolicyScope::new(
        graph,
        &config.state_machine_name,
        config.datastore.prefix(),
        config.compute,
        None,
    );
    // A branch without --enable-triggers puts no schedule or trigger rule: no schedule role.
    scope.scheduled &= config.triggers_enabled;
    let schedule_role_arn = match scope.scheduled {
        true => Some(config.require_schedule_role_arn()?.to_string()),
        false => None,
    };
    let account = AccountResources {
        partition,
        region: region.to_string(),
        account_id: Some(account_id),
        bucket: config.datastore.bucket().to_string(),
        job_queue: config.job_queue.clone(),
        state_machine_role_arn: role.to_string(),
        job_role_arn: config.job_role_arn.clone(),
        schedule_role_arn,
        execution_role_arn: config.execution_role_arn.clone(),
        repository: None,
        log_group: None,
    };
    let mut bindings = Bindings::account(&scope, &account);
    if let Some(stack) = args.stack.as_deref().filter(|s| !s.is_empty()) {
        bindings = bindings.with_stack(stack);
    }
    let policy = policy_document(Principal::Deployer, &scope, &bindings)
        .with_context(|| {
            format!(
                "cannot build the deployer's policy of flow `{}`",
                graph.name
            )
        })?
        .expect("the deployer always has permissions");
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::step_functions_command;
    use flow_graph::{validate, StepSpec, Transition};

    fn graph() -> FlowGraph {
        FlowGraph::new(
            "CliFlow",
            vec![
                StepSpec::new("start", Transition::Next("end".into())),
                StepSpec::new("end", Transition::End),
            ],
        )
    }

    fn run(argv: &[&str]) -> (anyhow::Result<ExitCode>, String, String) {
        let matches = Command::new("flow")
            .subcommand(step_functions_command())
            .try_get_matches_from(argv)
            .expect("arguments parse");
        let (_, sfn) = matches.subcommand().expect("a subcommand");
        let graph = graph();
        let analysis = validate(&graph).unwrap();
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let result = run_for_graph(&graph, &analysis, sfn, &mut out, &mut log);
        (
            result,
            String::from_utf8(out).unwrap(),
            String::from_utf8(log).unwrap(),
        )
    }

    const SETTINGS: [&str; 8] = [
        "--image",
        "img:1",
        "--job-queue",
        "q",
        "--datastore",
        "s3://bucket/p",
        "--binary-name",
        "cli-flow",
    ];

    #[test]
    fn create_only_json_prints_the_definition_deterministically() {
        let argv: Vec<&str> = ["flow", "step-functions", "create", "--only-json"]
            .into_iter()
            .chain(SETTINGS)
            .collect();
        let (result, out, log) = run(&argv);
        assert_eq!(result.unwrap(), ExitCode::SUCCESS);
        let definition: serde_json::Value = serde_json::from_str(&out).unwrap();
        let start = definition["StartAt"].as_str().unwrap();
        assert!(definition["States"].get(start).is_some(), "{out}");
        assert!(log.contains("the run's execution"), "{log}");
        assert_eq!(run(&argv).1, out, "two runs printed different bytes");
    }

    #[test]
    fn job_definitions_flag_prints_the_bundle() {
        let argv: Vec<&str> = [
            "flow",
            "step-functions",
            "create",
            "--only-json",
            "--job-definitions",
        ]
        .into_iter()
        .chain(SETTINGS)
        .collect();
        let (result, out, _) = run(&argv);
        result.unwrap();
        let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(bundle["state_machine_name"], "CliFlow");
        assert_eq!(bundle["job_definitions"].as_array().unwrap().len(), 1);
        let start = bundle["definition"]["StartAt"].as_str().unwrap();
        assert!(bundle["definition"]["States"].get(start).is_some(), "{out}");
    }

    #[test]
    fn other_subcommands_are_refused_without_aws() {
        let (result, out, _) = run(&["flow", "step-functions", "delete"]);
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("`step-functions delete` needs AWS"),
            "{error}"
        );
        assert!(out.is_empty(), "{out}");
    }

    fn with_settings(args: &[&'static str]) -> Vec<&'static str> {
        ["flow", "step-functions", "create"]
            .into_iter()
            .chain(args.iter().copied())
            .chain(SETTINGS)
            .collect()
    }

    const EXEC_ROLE: &str = "arn:aws:iam::123456789012:role/exec";

    #[test]
    fn fargate_job_definitions_show_the_fargate_fields() {
        let (result, out, _) = run(&with_settings(&[
            "--only-json",
            "--job-definitions",
            "--compute",
            "fargate",
            "--execution-role",
            EXEC_ROLE,
            "--log-group",
            "flow-logs",
            "--assign-public-ip",
        ]));
        result.unwrap();
        let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
        let definition = &bundle["job_definitions"][0];
        assert_eq!(
            definition["platformCapabilities"],
            serde_json::json!(["FARGATE"])
        );
        let container = &definition["containerProperties"];
        assert_eq!(container["executionRoleArn"], EXEC_ROLE);
        assert_eq!(
            container["networkConfiguration"]["assignPublicIp"],
            "ENABLED"
        );
        assert_eq!(
            container["logConfiguration"]["options"]["awslogs-group"],
            "flow-logs"
        );
        assert_eq!(
            container["resourceRequirements"],
            serde_json::json!([
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "4096"}
            ])
        );
    }

    #[test]
    fn fargate_without_an_execution_role_is_refused() {
        let (result, _, _) = run(&with_settings(&[
            "--only-json",
            "--compute",
            "fargate-spot",
        ]));
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("Fargate execution role")
                && error.contains("--execution-role")
                && error.contains("FLOW_SFN_EXECUTION_ROLE"),
            "{error}"
        );
        // A default size Fargate does not offer names the step and the valid values.
        let (result, _, _) = run(&with_settings(&[
            "--only-json",
            "--compute",
            "fargate",
            "--execution-role",
            EXEC_ROLE,
            "--memory",
            "1024",
        ]));
        let error = format!("{:#}", result.unwrap_err());
        assert!(
            error.contains("step `start` has `1024 MiB by default (--memory)`")
                && error.contains("2048, 3072"),
            "{error}"
        );
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/states";

    #[test]
    fn print_policy_prints_the_deployers_policy_in_the_roles_account() {
        let (result, out, _) = run(&with_settings(&[
            "--print-policy",
            "--role-arn",
            ROLE,
            "--job-role-arn",
            "arn:aws:iam::123456789012:role/jobs",
            "--region",
            "eu-west-1",
        ]));
        result.unwrap();
        let policy: serde_json::Value = serde_json::from_str(&out).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        let sids: Vec<&str> = statements
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        // No stack given: no DescribeStacks; no schedule, foreach, Fargate or KMS key either.
        let expected: Vec<&str> = crate::infra::policy::permissions_of(Principal::Deployer)
            .filter(|p| {
                p.needed == crate::infra::policy::Needed::Always && p.sid != "ReadStackOutputs"
            })
            .map(|p| p.sid)
            .collect();
        assert_eq!(sids, expected);
        assert!(out.contains("arn:aws:states:eu-west-1:123456789012:stateMachine:CliFlow"));
        assert!(out.contains("arn:aws:s3:::bucket/p/CliFlow/*"), "{out}");
        assert!(!out.contains("${"), "{out}");
    }

    #[test]
    fn print_policy_needs_the_role_and_region_and_a_role_arn_with_an_account() {
        let (result, _, _) = run(&with_settings(&["--print-policy", "--region", "eu-west-1"]));
        let error = result.unwrap_err().to_string();
        assert!(error.contains("--role-arn"), "{error}");
        let (result, _, _) = run(&with_settings(&[
            "--print-policy",
            "--region",
            "eu-west-1",
            "--role-arn",
            "arn:aws:iam::acct:role/states",
        ]));
        let error = result.unwrap_err().to_string();
        assert!(error.contains("12-digit account id"), "{error}");
        let both = Command::new("flow")
            .subcommand(step_functions_command())
            .try_get_matches_from(with_settings(&["--print-policy", "--only-json"]));
        assert!(
            both.is_err(),
            "--print-policy and --only-json are exclusive"
        );
    }

    #[test]
    fn a_stack_is_not_read_without_aws() {
        let (result, out, _) = run(&with_settings(&["--only-json", "--stack", "flow-stack"]));
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("--stack reads the stack from AWS"),
            "{error}"
        );
        assert!(out.is_empty());
    }
}
