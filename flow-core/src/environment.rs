//! What a step reads with `ctx.env("KEY")`: the variables of its `env(...)` option and the
//! values of its `secrets(...)`, by variable name. Nothing else of the process's environment
//! is visible through it, so a step reads the same keys on every backend.
//!
//! On AWS Batch the job definition sets both (a secret through its `valueFrom` ARN, which
//! Batch resolves when the job starts), so [`RunEnvironment::from_process`] reads them from
//! the process. A local run passes the secrets' values in ([`RunEnvironment::local`]),
//! since its steps share one process. A secret's value is never printed: this type's
//! `Debug` shows names only, and no error names a value.

use flow_graph::FlowGraph;
use std::collections::BTreeMap;
use std::fmt;

/// The variables of every step of a run, by step and name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RunEnvironment {
    steps: BTreeMap<String, BTreeMap<String, String>>,
}

/// A secret a local run was not given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "step `{step}` reads secret `{name}` ({arn}), which this run was not given: pass \
     --secret {name}=VALUE or a --secrets-file holding `{name}` (or the ARN), or \
     Runner::secret(\"{name}\", value)"
)]
pub struct MissingSecret {
    /// The step.
    pub step: String,
    /// The variable it reads the secret from.
    pub name: String,
    /// The secret's ARN.
    pub arn: String,
}

impl RunEnvironment {
    /// The environment of a local run: each step's `env`, and each secret's value from
    /// `secrets`, looked up by its variable name, else by its ARN.
    pub fn local(
        graph: &FlowGraph,
        secrets: &BTreeMap<String, String>,
    ) -> Result<RunEnvironment, MissingSecret> {
        let mut steps = BTreeMap::new();
        for step in &graph.steps {
            let mut vars = step.options.env.clone();
            for (name, arn) in &step.options.secrets {
                let value = secrets
                    .get(name)
                    .or_else(|| secrets.get(arn))
                    .ok_or_else(|| MissingSecret {
                        step: step.name.clone(),
                        name: name.clone(),
                        arn: arn.clone(),
                    })?;
                vars.insert(name.clone(), value.clone());
            }
            if !vars.is_empty() {
                steps.insert(step.name.clone(), vars);
            }
        }
        Ok(RunEnvironment { steps })
    }

    /// The environment of a process that runs one task (an AWS Batch job): each declared
    /// variable of each step, as the process has it (Batch sets `env` and resolves
    /// `secrets` into the job's environment).
    pub fn from_process(graph: &FlowGraph) -> RunEnvironment {
        let mut steps = BTreeMap::new();
        for step in &graph.steps {
            let vars: BTreeMap<String, String> = step
                .options
                .env
                .keys()
                .chain(step.options.secrets.keys())
                .filter_map(|key| std::env::var(key).ok().map(|value| (key.clone(), value)))
                .collect();
            if !vars.is_empty() {
                steps.insert(step.name.clone(), vars);
            }
        }
        RunEnvironment { steps }
    }

    /// The value of `key` for `step`, if the step declares it.
    pub fn get(&self, step: &str, key: &str) -> Option<&str> {
        self.steps.get(step)?.get(key).map(String::as_str)
    }
}

impl fmt::Debug for RunEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: values may be secrets.
        let names: BTreeMap<&str, Vec<&str>> = self
            .steps
            .iter()
            .map(|(step, vars)| (step.as_str(), vars.keys().map(String::as_str).collect()))
            .collect();
        f.debug_struct("RunEnvironment")
            .field("steps", &names)
            .finish()
    }
}

#[cfg(test)]
mod tests;
