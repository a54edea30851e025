//! The deployment options of a flow and its steps, checked: `#[flow(project = "...")]`, and
//! a step's `env(...)` and `secrets(...)`. The rules themselves are flow-graph's
//! (`flow_graph::environment`), shared with the backends.

use crate::ast::Step;
use crate::attr::FlowArgs;
use crate::ctxt::Ctxt;
use flow_graph::environment::{
    secret_env_name, validate_env_key, validate_project, validate_secret_arn,
};
use std::collections::BTreeMap;

/// The flow's project, when given and valid.
pub fn project(args: &FlowArgs, ctxt: &Ctxt) -> Option<String> {
    let lit = args.project.as_ref()?;
    match validate_project(&lit.value()) {
        Ok(()) => Some(lit.value()),
        Err(why) => {
            ctxt.error_spanned_by(lit, why);
            None
        }
    }
}

/// A step's environment variables and its secrets (by variable name), each checked: a
/// variable name that is not one, an ARN that is not a secret's, and a variable given
/// twice (by `env` and `secrets` alike) are errors.
pub fn step_environment(
    step: &Step,
    ctxt: &Ctxt,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let name = step.name();
    let mut env = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (key, value) in &step.args.env {
        let key_text = key.to_string();
        if !taken(&env, &secrets, &name, &key_text, key, ctxt) {
            env.insert(key_text, value.value());
        }
    }
    for (key, arn) in &step.args.secrets {
        if let Err(why) = validate_secret_arn(&arn.value()) {
            ctxt.error_spanned_by(arn, format!("step `{name}`: {why}"));
            continue;
        }
        let key_text = match key {
            Some(key) => key.to_string(),
            None => secret_env_name(&arn.value()),
        };
        let at: &dyn quote::ToTokens = match key {
            Some(key) => key,
            None => arn,
        };
        if !taken(&env, &secrets, &name, &key_text, at, ctxt) {
            secrets.insert(key_text, arn.value());
        }
    }
    (env, secrets)
}

/// Whether `key` cannot be a variable of step `name` (reported): not a variable name, or
/// already given.
fn taken(
    env: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    name: &str,
    key: &str,
    at: &dyn quote::ToTokens,
    ctxt: &Ctxt,
) -> bool {
    if let Err(why) = validate_env_key(key) {
        ctxt.error_spanned_by(at, format!("step `{name}`: {why}"));
        return true;
    }
    if env.contains_key(key) || secrets.contains_key(key) {
        ctxt.error_spanned_by(
            at,
            format!(
                "step `{name}` sets variable `{key}` twice (in `env` or `secrets`): give each \
                 variable once"
            ),
        );
        return true;
    }
    false
}
