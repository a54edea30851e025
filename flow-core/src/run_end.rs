//! How a run ended, as the flow's `on_failure` / `on_success` hook receives it, and what a
//! hook may return.

use crate::datastore::{RunStatus, Trigger};
use crate::flow::{StepError, StepErrorKind};
use crate::ids::RunId;
use std::fmt;
use std::time::Duration;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    /// Every task succeeded.
    Succeeded,
    /// A task failed.
    Failed,
    /// The run ran past its flow's `timeout` and was cancelled.
    TimedOut,
}

impl RunOutcome {
    /// The status a run record stores for it.
    pub fn status(self) -> RunStatus {
        match self {
            RunOutcome::Succeeded => RunStatus::Succeeded,
            RunOutcome::Failed => RunStatus::Failed,
            RunOutcome::TimedOut => RunStatus::TimedOut,
        }
    }

    /// As the `hook` command takes it: `succeeded`, `failed`, `timed-out`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::TimedOut => "timed-out",
        }
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The summary of a finished run that a hook method receives:
/// `#[flow(on_failure = alert)]` calls `fn alert(run: &RunEnd) -> Result<(), E>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// The flow's name.
    pub flow: String,
    /// The run.
    pub run_id: RunId,
    /// How it ended.
    pub outcome: RunOutcome,
    /// The step whose task failed, when known.
    pub failed_step: Option<String>,
    /// Why the run failed or timed out, when known.
    pub error: Option<String>,
    /// From the run's start to its end.
    pub duration: Duration,
    /// The upstream run that started this one, if one did.
    pub trigger: Option<Trigger>,
}

impl RunEnd {
    /// True when the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome == RunOutcome::Succeeded
    }
}

impl fmt::Display for RunEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "run {} of {} {} after {:.1} s",
            self.run_id,
            self.flow,
            self.outcome,
            self.duration.as_secs_f64()
        )?;
        if let Some(step) = &self.failed_step {
            write!(f, " in step `{step}`")?;
        }
        if let Some(error) = &self.error {
            write!(f, ": {error}")?;
        }
        Ok(())
    }
}

/// What a hook method may return: `()` or `Result<(), E: Display>`.
#[diagnostic::on_unimplemented(
    message = "a hook must return `()` or `Result<(), E>` with `E: Display`, not `{Self}`",
    label = "this hook's return type"
)]
pub trait HookReturn {
    /// Converts the return value into the runner's result.
    fn into_result(self) -> Result<(), StepError>;
}

impl HookReturn for () {
    fn into_result(self) -> Result<(), StepError> {
        Ok(())
    }
}

impl<E: fmt::Display> HookReturn for Result<(), E> {
    fn into_result(self) -> Result<(), StepError> {
        self.map_err(|e| StepError::new(StepErrorKind::Error, format!("{e:#}")))
    }
}
