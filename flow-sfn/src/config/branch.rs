//! Projects and branches on Step Functions: a flow with `#[flow(project = "recs")]` is
//! deployed as `recs.prod.<Flow>` (`--production`), `recs.test.NAME.<Flow>` (`--branch
//! NAME`) or `recs.user.<user>.<Flow>` (neither). The namespace prefixes the state machine's
//! name, hence its job definitions' and EventBridge rules' names, and is the datastore
//! folder the deployment's runs are stored under (`<root>/recs.test.NAME/<Flow>/...`), so
//! two branches never share a resource or a run. Schedules and trigger rules are deployed
//! for production only, unless `--enable-triggers`.

use super::{ConfigError, DeployConfig, S3Root, SfnArgs};
use crate::compile::names::namespaced_state_machine_name;
use flow_graph::namespace::Namespace;
use flow_graph::FlowGraph;

/// The `--branch` and `--production` flags: which branch of the flow's project a command
/// deploys, operates or (`infra`) makes a stack for. One definition, flattened into the
/// deployment settings ([`SfnArgs`]) and the `infra` flags, so both read the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ProjectBranch {
    /// The test branch NAME of the flow's project: the state machine
    /// `<project>.test.NAME.<Flow>` and the datastore's `<project>.test.NAME/` folder (needs
    /// `#[flow(project = "...")]`).
    #[arg(
        long,
        env = "FLOW_SFN_BRANCH",
        value_name = "NAME",
        conflicts_with = "production"
    )]
    pub branch: Option<String>,
    /// The production branch of the flow's project: the state machine
    /// `<project>.prod.<Flow>` and the datastore's `<project>.prod/` folder; without it or
    /// --branch, a project's flow is the user's own, `<project>.user.<$FLOW_USER or
    /// $USER>.<Flow>`.
    #[arg(long)]
    pub production: bool,
}

impl ProjectBranch {
    /// The namespace these flags pick for `graph` (`None` for a flow without a project),
    /// the user's read from `FLOW_USER` / `USER`; an empty `--branch` is none.
    pub fn namespace(&self, graph: &FlowGraph) -> Result<Option<Namespace>, ConfigError> {
        let branch = self.branch.as_deref().filter(|b| !b.is_empty());
        Namespace::choose(
            &graph.name,
            graph.project.as_deref(),
            branch,
            self.production,
            Namespace::env_user,
        )
        .map_err(ConfigError::Namespace)
    }
}

impl SfnArgs {
    /// The namespace `--branch` / `--production` pick for `graph` (`None` for a flow
    /// without a project), the user's read from `FLOW_USER` / `USER`.
    pub fn namespace(&self, graph: &FlowGraph) -> Result<Option<Namespace>, ConfigError> {
        let namespace = self.project_branch.namespace(graph)?;
        if self.enable_triggers && namespace.is_none() {
            return Err(ConfigError::Namespace(format!(
                "--enable-triggers turns on a branch's schedule and triggers, and flow `{}` has \
                 no project (its triggers are always on): drop --enable-triggers",
                graph.name
            )));
        }
        Ok(namespace)
    }

    /// The state machine `graph` is deployed as with these settings: `--state-machine`,
    /// else the flow's name in its namespace, else the flow's name.
    pub fn state_machine_name_for(&self, graph: &FlowGraph) -> Result<String, ConfigError> {
        let namespace = self.namespace(graph)?;
        Ok(match (&self.state_machine, namespace) {
            (Some(name), _) => name.clone(),
            (None, Some(ns)) => namespaced_state_machine_name(&ns.qualify(&graph.name)),
            (None, None) => graph.name.clone(),
        })
    }

    /// Validates the settings for `graph` ([`SfnArgs::resolve`]) and places the deployment
    /// in its project's namespace: the state machine's name (unless `--state-machine`
    /// names it), the datastore folder and whether schedules and triggers are deployed.
    pub fn resolve_flow(&self, graph: &FlowGraph) -> Result<DeployConfig, ConfigError> {
        let mut config = self.resolve(&graph.name)?;
        let namespace = self.namespace(graph)?;
        if let Some(ns) = &namespace {
            config.state_machine_name = self.state_machine_name_for(graph)?;
            config.datastore = namespaced_datastore(&config.datastore, ns);
            config.triggers_enabled = ns.is_production() || self.enable_triggers;
        }
        config.namespace = namespace;
        Ok(config)
    }
}

impl SfnArgs {
    /// The settings the commands that operate a deployment (`trigger`, `list-runs`,
    /// `status`, `resume`, `terminate`, `delete`) use for `graph`: `--state-machine` and
    /// `--datastore` set to the namespace's state machine and datastore folder, so they act
    /// on that branch's deployment and runs only.
    pub fn for_deployment(&self, graph: &FlowGraph) -> Result<SfnArgs, ConfigError> {
        let mut args = self.clone();
        if let Some(ns) = self.namespace(graph)? {
            args.state_machine = Some(self.state_machine_name_for(graph)?);
            if let Some(root) = self.datastore.as_deref().filter(|r| !r.is_empty()) {
                args.datastore = Some(namespaced_datastore(&S3Root::parse(root)?, &ns).to_string());
            }
            args.project_branch = ProjectBranch::default();
        }
        Ok(args)
    }
}

/// The datastore root of a namespace's deployments: the folder named after the namespace
/// under `root` (`s3://bucket/prefix/recs.test.NAME`).
pub fn namespaced_datastore(root: &S3Root, namespace: &Namespace) -> S3Root {
    S3Root {
        bucket: root.bucket.clone(),
        prefix: root.key(&namespace.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SfnArgs,
    }

    fn args(flags: &[&str]) -> SfnArgs {
        let mut argv = vec![
            "x",
            "--image",
            "img",
            "--job-queue",
            "q",
            "--datastore",
            "s3://bucket/root",
            "--binary-name",
            "flow",
        ];
        argv.extend_from_slice(flags);
        Cli::try_parse_from(argv).unwrap().args
    }

    fn graph(project: Option<&str>) -> FlowGraph {
        let mut graph = FlowGraph::new("TeamFlow", Vec::new());
        graph.project = project.map(str::to_string);
        graph
    }

    #[test]
    fn branches_name_the_state_machine_and_the_datastore_folder() {
        let g = graph(Some("recs"));
        let prod = args(&["--production"]).resolve_flow(&g).unwrap();
        assert_eq!(prod.state_machine_name, "recs.prod.TeamFlow");
        assert_eq!(prod.datastore.to_string(), "s3://bucket/root/recs.prod");
        assert!(prod.triggers_enabled);
        let test = args(&["--branch", "fix-1"]).resolve_flow(&g).unwrap();
        assert_eq!(test.state_machine_name, "recs.test.fix-1.TeamFlow");
        assert_eq!(
            test.datastore.to_string(),
            "s3://bucket/root/recs.test.fix-1"
        );
        assert!(
            !test.triggers_enabled,
            "a branch's triggers are off by default"
        );
        let on = args(&["--branch", "fix-1", "--enable-triggers"]);
        assert!(on.resolve_flow(&g).unwrap().triggers_enabled);
        let own = args(&["--state-machine", "Mine", "--branch", "b"]);
        assert_eq!(own.resolve_flow(&g).unwrap().state_machine_name, "Mine");
    }

    #[test]
    fn a_flow_without_a_project_is_unchanged_and_refuses_branch_flags() {
        let g = graph(None);
        let plain = args(&[]).resolve_flow(&g).unwrap();
        assert_eq!(plain.state_machine_name, "TeamFlow");
        assert_eq!(plain.datastore.to_string(), "s3://bucket/root");
        assert!(plain.triggers_enabled && plain.namespace.is_none());
        for flags in [
            &["--branch", "b"][..],
            &["--production"],
            &["--enable-triggers"],
        ] {
            let err = args(flags).resolve_flow(&g).unwrap_err().to_string();
            assert!(err.contains(flags[0]), "{err}");
        }
        let err = args(&["--branch", "b"]).resolve_flow(&g).unwrap_err();
        assert!(err.to_string().contains("#[flow(project = \"...\")]"));
    }

    #[test]
    fn operating_a_branch_targets_its_state_machine_and_folder() {
        let op = args(&["--branch", "b1"])
            .for_deployment(&graph(Some("recs")))
            .unwrap();
        assert_eq!(op.state_machine.as_deref(), Some("recs.test.b1.TeamFlow"));
        assert_eq!(
            op.datastore.as_deref(),
            Some("s3://bucket/root/recs.test.b1")
        );
        let plain = args(&[]).for_deployment(&graph(None)).unwrap();
        assert_eq!(plain.state_machine, None);
        assert_eq!(plain.datastore.as_deref(), Some("s3://bucket/root"));
    }

    #[test]
    fn a_bad_branch_is_named() {
        let err = args(&["--branch", "a/b"])
            .resolve_flow(&graph(Some("recs")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("branch `a/b`") && err.contains("'/'"), "{err}");
        let both = Cli::try_parse_from(["x", "--branch", "b", "--production"]);
        assert!(both.is_err(), "--branch and --production both accepted");
    }
}
