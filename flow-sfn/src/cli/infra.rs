//! `step-functions infra`: print the CloudFormation template of everything the flow needs
//! on AWS besides its image. Needs neither AWS nor credentials.

use crate::config::{DEFAULT_CPU, DEFAULT_MEMORY_MB};
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
    let settings = InfraSettings {
        state_machine_name: args.state_machine.unwrap_or_else(|| graph.name.clone()),
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
        let argv = ["flow", "step-functions", "infra"].iter().chain(args);
        let matches = Command::new("flow")
            .subcommand(step_functions_command())
            .try_get_matches_from(argv)?;
        let (_, sfn) = matches.subcommand().expect("step-functions");
        let (_, infra) = sfn.subcommand().expect("infra");
        let mut out = Vec::new();
        run(&graph(), infra, &mut out)?;
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
