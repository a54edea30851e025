//! `step-functions infra`: print the CloudFormation template of everything the flow needs
//! on AWS besides its image. Needs neither AWS nor credentials.

use crate::config::{ProjectBranch, DEFAULT_CPU, DEFAULT_MEMORY_MB};
use crate::infra::{template, Compute, InfraSettings, TemplateFormat};
use clap::{ArgMatches, Args, Command, FromArgMatches};
use flow_core::graph::FlowGraph;
use std::io::Write;
use std::process::ExitCode;

/// The `infra` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct InfraArgs {
    /// The kind of AWS Batch compute environment.
    #[arg(long, value_enum, default_value_t = Compute::Ec2)]
    pub compute: Compute,
    /// The template's format.
    #[arg(long, value_enum, default_value_t = TemplateFormat::Json)]
    pub format: TemplateFormat,
    /// State machine name the roles are scoped to [default: the flow's name].
    #[arg(long, env = "FLOW_SFN_STATE_MACHINE", value_name = "NAME")]
    pub state_machine: Option<String>,
    /// A KMS key (ARN) to encrypt the datastore with, instead of S3-managed keys.
    #[arg(long, value_name = "ARN")]
    pub kms_key: Option<String>,
    /// vCPUs of steps that set no `resources(cpu = ..)` (checked against Fargate's sizes).
    #[arg(long, env = "FLOW_SFN_CPU", default_value_t = DEFAULT_CPU, value_name = "VCPUS")]
    pub cpu: u32,
    /// Memory (MiB) of steps that set no `resources(memory = ..)`.
    #[arg(long = "memory", env = "FLOW_SFN_MEMORY_MB", default_value_t = DEFAULT_MEMORY_MB, value_name = "MIB")]
    pub memory_mb: u64,
    /// `--branch` / `--production`: the branch of the flow's project the stack serves (its
    /// roles are scoped to the branch's state machine and datastore folder).
    #[command(flatten)]
    pub project_branch: ProjectBranch,
}

/// The `infra` command.
pub(super) fn command() -> Command {
    let command = Command::new("infra").about(
        "Print a CloudFormation template of what the flow needs besides its image: datastore \
         bucket, image repository, Batch compute environment and queue, log group, \
         least-privilege IAM roles",
    );
    // augment_args would replace the command's about text with the struct's doc.
    let about = command.get_about().cloned();
    let command = InfraArgs::augment_args(command);
    match about {
        Some(about) => command.about(about),
        None => command,
    }
}

/// Runs `infra` for `graph` with the matches of [`command`], writing the template to `out`.
pub fn run(
    graph: &FlowGraph,
    matches: &ArgMatches,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let args = InfraArgs::from_arg_matches(matches)?;
    // A project's stack serves one of its namespaces, as `create` deploys into it.
    let namespace = args.project_branch.namespace(graph)?;
    let state_machine_name = match (&args.state_machine, &namespace) {
        (Some(name), _) => name.clone(),
        (None, Some(ns)) => {
            crate::compile::names::namespaced_state_machine_name(&ns.qualify(&graph.name))
        }
        (None, None) => graph.name.clone(),
    };
    let settings = InfraSettings {
        state_machine_name,
        datastore_prefix: namespace.map(|ns| ns.to_string()).unwrap_or_default(),
        compute: args.compute,
        kms_key_arn: args.kms_key,
        default_cpu: args.cpu,
        default_memory_mb: args.memory_mb,
    };
    let template = template(graph, &settings)?;
    writeln!(out, "{}", args.format.render(&template).trim_end())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::step_functions_command;
    use flow_graph::{StepSpec, Transition};
    use serde_json::Value;

    fn graph() -> FlowGraph {
        FlowGraph::new(
            "CliFlow",
            vec![
                StepSpec::new("start", Transition::Next("end".into())),
                StepSpec::new("end", Transition::End),
            ],
        )
    }

    fn run_infra(args: &[&str]) -> anyhow::Result<String> {
        run_infra_for(&graph(), args)
    }

    fn run_infra_for(graph: &FlowGraph, args: &[&str]) -> anyhow::Result<String> {
        let argv = ["flow", "step-functions", "infra"].iter().chain(args);
        let matches = Command::new("flow")
            .subcommand(step_functions_command())
            .try_get_matches_from(argv)?;
        let (_, sfn) = matches.subcommand().expect("step-functions");
        let (_, infra) = sfn.subcommand().expect("infra");
        let mut out = Vec::new();
        run(graph, infra, &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    #[test]
    fn json_and_yaml_hold_the_same_template() {
        let json: Value =
            serde_json::from_str(&run_infra(&["--compute", "spot"]).unwrap()).unwrap();
        let yaml = run_infra(&["--compute", "spot", "--format", "yaml"]).unwrap();
        assert!(
            yaml.contains("AWSTemplateFormatVersion: \"2010-09-09\"\n"),
            "{yaml}"
        );
        assert_eq!(
            json["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]["Type"],
            "SPOT"
        );
        assert!(json["Description"]
            .as_str()
            .unwrap()
            .contains("state machine CliFlow"));
    }

    #[test]
    fn every_command_has_the_same_branch_flags() {
        let sfn = step_functions_command();
        // The flags as each command shows and reads them: help, variable, conflicts.
        let flags = |command: &str| {
            let command = sfn.find_subcommand(command).expect(command);
            ["branch", "production"].map(|id| {
                let arg = command
                    .get_arguments()
                    .find(|a| a.get_id() == id)
                    .unwrap_or_else(|| panic!("no --{id}"));
                format!(
                    "--{:?} {:?} {:?} {:?} {:?}",
                    arg.get_long(),
                    arg.get_help().map(ToString::to_string),
                    arg.get_env(),
                    arg.get_value_names(),
                    command.get_arg_conflicts_with(arg).len()
                )
            })
        };
        let infra = flags("infra");
        assert!(infra[0].contains("FLOW_SFN_BRANCH"), "{infra:?}");
        for command in [
            "create",
            "trigger",
            "list-runs",
            "status",
            "terminate",
            "delete",
            "resume",
        ] {
            assert_eq!(flags(command), infra, "step-functions {command}");
        }
        let both = run_infra(&["--branch", "b1", "--production"]).unwrap_err();
        assert!(both.to_string().contains("cannot be used with"), "{both}");
    }

    #[test]
    fn a_branch_stack_is_scoped_to_the_branch() {
        let mut project = graph();
        project.project = Some("recs".into());
        let json = run_infra_for(&project, &["--branch", "b1"]).unwrap();
        assert!(
            json.contains(":stateMachine:recs.test.b1.CliFlow"),
            "{json}"
        );
        assert!(json.contains("recs.test.b1/CliFlow/"), "{json}");
        assert!(!json.contains(":stateMachine:CliFlow"), "{json}");
        let json = run_infra_for(&project, &["--production"]).unwrap();
        assert!(json.contains(":stateMachine:recs.prod.CliFlow"), "{json}");
        let error = run_infra(&["--branch", "b1"]).unwrap_err().to_string();
        assert!(error.contains("#[flow(project = \"...\")]"), "{error}");
        let error = run_infra_for(&project, &["--branch", "b.1"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("branch `b.1`"), "{error}");
    }

    #[test]
    fn the_state_machine_name_scopes_the_roles() {
        let json = run_infra(&["--state-machine", "Other"]).unwrap();
        assert!(json.contains(":stateMachine:Other"), "{json}");
        assert!(!json.contains(":stateMachine:CliFlow"), "{json}");
        let error = run_infra(&["--state-machine", "bad name"]).unwrap_err();
        assert!(
            error.to_string().contains("invalid state machine name"),
            "{error}"
        );
        assert!(run_infra(&["--compute", "mainframe"]).is_err());
    }
}
