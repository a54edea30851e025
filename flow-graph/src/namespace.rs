//! Where a deployment of a flow with a `project` lives (`#[flow(project = "recs")]`): its
//! production (`--production`), a test branch (`--branch NAME`) or the deploying user's own
//! (neither flag), after Metaflow's `@project`. The namespace prefixes the names of what a
//! deployment owns (`recs.prod.TeamFlow`, `recs.test.NAME.TeamFlow`,
//! `recs.user.alice.TeamFlow`) and the datastore folder its runs are stored under, so the
//! deployments of one flow never see each other's runs.

use std::fmt;

/// The longest branch name: with a 32-character project, the namespace still leaves room in
/// an 80-character state machine name for most flow names before they are hashed.
pub const MAX_BRANCH_LEN: usize = 40;

/// The variable naming the user of a user namespace, before `USER`.
pub const USER_VAR: &str = "FLOW_USER";

/// Which deployment of a project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Branch {
    /// `--production`: `<project>.prod`.
    Production,
    /// `--branch NAME`: `<project>.test.NAME`.
    Test(String),
    /// Neither: `<project>.user.<user>`.
    User(String),
}

/// A project and one of its branches: `recs.prod`, `recs.test.NAME`, `recs.user.alice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace {
    /// The flow's project.
    pub project: String,
    /// The branch.
    pub branch: Branch,
}

impl Namespace {
    /// The namespace of a flow with `project` (`None` for a flow without one) chosen by
    /// `--branch` / `--production`: `user` is the deploying user (`FLOW_USER`, else `USER`),
    /// read only when neither flag is given. A flow without a project has no namespace, and
    /// either flag is then an error naming `#[flow(project = "...")]`.
    pub fn choose(
        flow: &str,
        project: Option<&str>,
        branch: Option<&str>,
        production: bool,
        user: impl FnOnce() -> Option<String>,
    ) -> Result<Option<Namespace>, String> {
        let Some(project) = project else {
            if production || branch.is_some() {
                let flag = if production {
                    "--production"
                } else {
                    "--branch"
                };
                return Err(format!(
                    "{flag} picks a branch of the flow's project, and flow `{flow}` has none: \
                     give it one with #[flow(project = \"...\")], or drop {flag}"
                ));
            }
            return Ok(None);
        };
        let branch = match (branch, production) {
            (Some(_), true) => {
                return Err(
                    "--branch and --production exclude each other: production is the \
                            project's one shared branch"
                        .to_string(),
                )
            }
            (Some(name), false) => {
                validate_branch(name).map_err(|why| format!("branch `{name}`: {why}"))?;
                Branch::Test(name.to_string())
            }
            (None, true) => Branch::Production,
            (None, false) => {
                let name = user().filter(|u| !u.is_empty()).ok_or_else(|| {
                    format!(
                        "flow `{flow}` belongs to project `{project}`, and without --branch or \
                         --production it is deployed under the user's namespace: set \
                         {USER_VAR} (or USER), or pass --branch NAME or --production"
                    )
                })?;
                validate_branch(&name).map_err(|why| {
                    format!("user `{name}` (from {USER_VAR} or USER): {why}; or set {USER_VAR}")
                })?;
                Branch::User(name)
            }
        };
        Ok(Some(Namespace {
            project: project.to_string(),
            branch,
        }))
    }

    /// The user of a user namespace from the environment: `FLOW_USER`, else `USER`.
    pub fn env_user() -> Option<String> {
        [USER_VAR, "USER"]
            .into_iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|v| !v.is_empty())
    }

    /// Whether this is the project's production.
    pub fn is_production(&self) -> bool {
        self.branch == Branch::Production
    }

    /// The namespaced name of flow `flow`: `<namespace>.<flow>` (uncut: the backends fit it
    /// to their limits).
    pub fn qualify(&self, flow: &str) -> String {
        format!("{self}.{flow}")
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.branch {
            Branch::Production => write!(f, "{}.prod", self.project),
            Branch::Test(name) => write!(f, "{}.test.{name}", self.project),
            Branch::User(name) => write!(f, "{}.user.{name}", self.project),
        }
    }
}

/// Checks a branch (or user) name: 1 to [`MAX_BRANCH_LEN`] letters, digits, `-` and `_`,
/// the characters every name it enters accepts (state machines, job definitions, rules, S3
/// keys, directories); `.` separates the namespace's parts, so it is not one of them.
pub fn validate_branch(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_BRANCH_LEN {
        return Err(format!(
            "a branch name has 1 to {MAX_BRANCH_LEN} characters, this one {}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "{bad:?} is not allowed: use letters, digits, `-` and `_` (e.g. `--branch fix-42`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(
        project: Option<&str>,
        branch: Option<&str>,
        production: bool,
        user: Option<&str>,
    ) -> Result<Option<Namespace>, String> {
        Namespace::choose("TeamFlow", project, branch, production, || {
            user.map(str::to_string)
        })
    }

    #[test]
    fn the_three_kinds_of_namespace() {
        let ns = |b, p| choose(Some("recs"), b, p, Some("alice")).unwrap().unwrap();
        assert_eq!(ns(None, true).qualify("TeamFlow"), "recs.prod.TeamFlow");
        assert_eq!(
            ns(Some("fix-1"), false).qualify("TeamFlow"),
            "recs.test.fix-1.TeamFlow"
        );
        assert_eq!(
            ns(None, false).qualify("TeamFlow"),
            "recs.user.alice.TeamFlow"
        );
        assert!(ns(None, true).is_production());
        assert!(!ns(Some("x"), false).is_production());
    }

    #[test]
    fn a_flow_without_a_project_has_no_namespace_and_refuses_the_flags() {
        assert_eq!(choose(None, None, false, None), Ok(None));
        for (branch, production, flag) in
            [(Some("b"), false, "--branch"), (None, true, "--production")]
        {
            let err = choose(None, branch, production, None).unwrap_err();
            assert!(err.contains(flag), "{err}");
            assert!(err.contains("#[flow(project = \"...\")]"), "{err}");
        }
    }

    #[test]
    fn bad_branches_and_users_are_named() {
        let err = choose(Some("recs"), Some("a.b"), false, None).unwrap_err();
        assert!(err.contains("branch `a.b`") && err.contains("'.'"), "{err}");
        let err = choose(Some("recs"), Some(""), false, None).unwrap_err();
        assert!(err.contains("1 to 40"), "{err}");
        let long = "b".repeat(MAX_BRANCH_LEN + 1);
        assert!(choose(Some("recs"), Some(&long), false, None).is_err());
        let err = choose(Some("recs"), None, false, Some("a b")).unwrap_err();
        assert!(err.contains("FLOW_USER"), "{err}");
        let err = choose(Some("recs"), None, false, None).unwrap_err();
        assert!(
            err.contains("FLOW_USER") && err.contains("--branch"),
            "{err}"
        );
        let err = choose(Some("recs"), Some("x"), true, None).unwrap_err();
        assert!(err.contains("exclude"), "{err}");
    }
}
