//! Run tags: `key=value` pairs a run is started with (`run --tag team=recs`,
//! `step-functions trigger --tag ...`), stored in its `run.json`, readable in steps
//! (`ctx.tags()`), and used to filter listings (`runs --tag`, `Client::runs().tagged(..)`).
//!
//! Beside the tags given, a run records who and what started it: the system tags
//! [`SYSTEM_TAG_KEYS`]. A tag given by hand never overrides a system tag.

use std::collections::BTreeMap;

/// The tags of a run, by key.
pub type Tags = BTreeMap<String, String>;

/// The user who started the run (`$USER`, `$USERNAME` on Windows).
pub const USER_TAG: &str = "user";
/// The host the run was started from.
pub const HOST_TAG: &str = "host";
/// The flowrs version the flow binary was built with.
pub const FLOWRS_VERSION_TAG: &str = "flowrs_version";
/// The git commit the flowrs library was built from, when its build knew it
/// (`FLOW_GIT_COMMIT` set at build time).
pub const GIT_COMMIT_TAG: &str = "git_commit";
/// What started a run that Step Functions started without `step-functions trigger` (see
/// [`start_task_tags`]): `trigger_on_finish:FLOW/RUN_ID`, `event:SOURCE`,
/// `schedule:EXPRESSION` ([`STARTED_BY_SCHEDULE`]) or [`STARTED_BY_EXECUTION`].
pub const STARTED_BY_TAG: &str = "started_by";
/// The `started_by` of a run whose execution input named no upstream run, no event and no
/// schedule: a `StartExecution` call (the console, an SDK, the AWS CLI).
pub const STARTED_BY_EXECUTION: &str = "start_execution";
/// The `started_by` of a run the flow's schedule started, before its expression:
/// `schedule:cron(0 3 * * ? *)`.
pub const STARTED_BY_SCHEDULE: &str = "schedule";
/// The `started_by` that runs recorded before scheduled runs were told apart (flowrs 0.1.0
/// before `schedule:EXPRESSION`): the schedule or a `StartExecution` call. Old runs keep it
/// (`--tag started_by=schedule_or_start_execution` still finds them); no run records it now.
pub const STARTED_BY_SCHEDULE_OR_EXECUTION: &str = "schedule_or_start_execution";
/// The environment variable the `start` task of a run the flow's schedule started is given
/// (Step Functions sets it in the Batch job's container overrides): the schedule's
/// expression, recorded as `started_by=schedule:EXPRESSION`.
pub const STARTED_BY_SCHEDULE_VAR: &str = "FLOW_STARTED_BY_SCHEDULE";
/// Every system tag's key.
pub const SYSTEM_TAG_KEYS: [&str; 5] = [
    USER_TAG,
    HOST_TAG,
    FLOWRS_VERSION_TAG,
    GIT_COMMIT_TAG,
    STARTED_BY_TAG,
];

/// The longest tag key, in bytes.
pub const MAX_TAG_KEY_LEN: usize = 128;
/// The longest tag value, in bytes.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// Why a tag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// No `=` between key and value.
    #[error("tag `{0}` has no `=`: write it as KEY=VALUE, e.g. `--tag team=recs`")]
    NoEquals(String),
    /// The key is empty.
    #[error("tag `{0}` has an empty key: write it as KEY=VALUE, e.g. `--tag team=recs`")]
    EmptyKey(String),
    /// The key has a character keys may not have.
    #[error(
        "tag key `{0}` may only hold letters, digits, `_`, `-`, `.`, `:` and `/` (at most \
         {MAX_TAG_KEY_LEN} bytes): rename it, e.g. `--tag team=recs`"
    )]
    BadKey(String),
    /// The value is too long or holds a control character.
    #[error(
        "the value of tag `{0}` is longer than {MAX_TAG_VALUE_LEN} bytes or holds a control \
         character: shorten it, or store large values as a param or an artifact"
    )]
    BadValue(String),
    /// The key is a system tag's.
    #[error(
        "tag `{0}` is a system tag (set by flowrs to say who and what started the run): pick \
         another key"
    )]
    Reserved(String),
}

/// Checks a tag key.
pub fn validate_key(key: &str) -> Result<(), TagError> {
    if key.is_empty() {
        return Err(TagError::EmptyKey("=".into()));
    }
    let ok = key.len() <= MAX_TAG_KEY_LEN
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'));
    if ok {
        Ok(())
    } else {
        Err(TagError::BadKey(key.to_string()))
    }
}

/// Checks a tag value (any text up to [`MAX_TAG_VALUE_LEN`] bytes without control
/// characters; empty is allowed).
pub fn validate_value(key: &str, value: &str) -> Result<(), TagError> {
    if value.len() > MAX_TAG_VALUE_LEN || value.chars().any(char::is_control) {
        return Err(TagError::BadValue(key.to_string()));
    }
    Ok(())
}

/// Parses `KEY=VALUE` (the value may hold `=`; the key may not).
pub fn parse_tag(text: &str) -> Result<(String, String), TagError> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(TagError::NoEquals(text.to_string()));
    };
    if key.is_empty() {
        return Err(TagError::EmptyKey(text.to_string()));
    }
    validate_key(key)?;
    validate_value(key, value)?;
    Ok((key.to_string(), value.to_string()))
}

/// Parses the tags a run is started with: every `KEY=VALUE`, none a system tag's key. A key
/// given twice keeps its last value.
pub fn user_tags<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Tags, TagError> {
    let mut tags = Tags::new();
    for text in texts {
        let (key, value) = parse_tag(text)?;
        if SYSTEM_TAG_KEYS.contains(&key.as_str()) {
            return Err(TagError::Reserved(key));
        }
        tags.insert(key, value);
    }
    Ok(tags)
}

/// The system tags of a run started by this process: the user and host (when the
/// environment tells them), the flowrs version, and the git commit when known at build time.
pub fn system_tags() -> Tags {
    let mut tags = Tags::new();
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()));
    if let Some(user) = user {
        tags.insert(USER_TAG.into(), clean(&user));
    }
    if let Some(host) = hostname() {
        tags.insert(HOST_TAG.into(), clean(&host));
    }
    insert_build_tags(&mut tags);
    tags
}

/// The system tags the `start` task records when it creates a run's record itself (a run
/// that EventBridge or a `StartExecution` call started; `step-functions trigger` and
/// `resume` write the record, with their own system tags, before the execution starts):
/// `started_by` (the upstream run, the event's `source`, the schedule's expression from
/// [`STARTED_BY_SCHEDULE_VAR`], or [`STARTED_BY_EXECUTION`]), the
/// host (`aws-batch:COMPUTE_ENVIRONMENT/JOB_ID` from the Batch job's environment, else the
/// host name), the flowrs version and the git commit when known. No `user`: no person's
/// name reaches the job.
pub fn start_task_tags(
    trigger: Option<&crate::Trigger>,
    event: Option<&serde_json::Value>,
) -> Tags {
    start_task_tags_in(trigger, event, |var| std::env::var(var).ok())
}

/// [`start_task_tags`] with the environment read through `env`.
fn start_task_tags_in(
    trigger: Option<&crate::Trigger>,
    event: Option<&serde_json::Value>,
    env: impl Fn(&str) -> Option<String>,
) -> Tags {
    let mut tags = Tags::new();
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let started_by = match (trigger, event) {
        (Some(trigger), _) => format!("trigger_on_finish:{}/{}", trigger.flow, trigger.run_id),
        (None, Some(event)) => match event.get("source").and_then(serde_json::Value::as_str) {
            Some(source) if !source.is_empty() => format!("event:{source}"),
            _ => "event".to_string(),
        },
        (None, None) => match var(STARTED_BY_SCHEDULE_VAR) {
            Some(expression) => format!("{STARTED_BY_SCHEDULE}:{expression}"),
            None => STARTED_BY_EXECUTION.to_string(),
        },
    };
    tags.insert(STARTED_BY_TAG.into(), clean(&started_by));
    let host = match (var("AWS_BATCH_CE_NAME"), var("AWS_BATCH_JOB_ID")) {
        (Some(ce), Some(job)) => Some(format!("aws-batch:{ce}/{job}")),
        (None, Some(job)) => Some(format!("aws-batch:{job}")),
        _ => hostname(),
    };
    if let Some(host) = host {
        tags.insert(HOST_TAG.into(), clean(&host));
    }
    insert_build_tags(&mut tags);
    tags
}

/// Adds the flowrs version, and the git commit when known at build time.
fn insert_build_tags(tags: &mut Tags) {
    tags.insert(
        FLOWRS_VERSION_TAG.into(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    if let Some(commit) = option_env!("FLOW_GIT_COMMIT").filter(|c| !c.is_empty()) {
        tags.insert(GIT_COMMIT_TAG.into(), clean(commit));
    }
}

/// The machine's host name, from the environment or the kernel, without a dependency.
fn hostname() -> Option<String> {
    ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// A system tag's value as a valid tag value.
fn clean(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TAG_VALUE_LEN)
        .collect()
}

/// The tags a run records: the system tags of this process, then the tags given.
pub fn run_tags(given: &Tags) -> Tags {
    let mut tags = system_tags();
    tags.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags
}

/// Whether `tags` has every `(key, value)` of `filter` (an empty filter matches all).
pub fn matches_all(tags: &Tags, filter: &[(String, String)]) -> bool {
    filter
        .iter()
        .all(|(key, value)| tags.get(key) == Some(value))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod schedule_tests {
    use super::*;

    #[test]
    fn a_scheduled_run_is_told_from_a_start_execution_call() {
        let scheduled = |var: &str| match var {
            STARTED_BY_SCHEDULE_VAR => Some("cron(0 3 * * ? *)".to_string()),
            "AWS_BATCH_JOB_ID" => Some("job-3".to_string()),
            _ => None,
        };
        let tags = start_task_tags_in(None, None, scheduled);
        assert_eq!(tags[STARTED_BY_TAG], "schedule:cron(0 3 * * ? *)");
        assert_eq!(tags[HOST_TAG], "aws-batch:job-3");
        // An upstream run or an event says more than the schedule variable.
        let trigger = crate::Trigger::parse("UpstreamFlow/r-1").unwrap();
        assert_eq!(
            start_task_tags_in(Some(&trigger), None, scheduled)[STARTED_BY_TAG],
            "trigger_on_finish:UpstreamFlow/r-1"
        );
        // Without the variable (or with it empty) it was a StartExecution call.
        let empty = |var: &str| (var == STARTED_BY_SCHEDULE_VAR).then(String::new);
        assert_eq!(
            start_task_tags_in(None, None, empty)[STARTED_BY_TAG],
            "start_execution"
        );
        // A control character in the expression does not reach the tag.
        let odd = |var: &str| (var == STARTED_BY_SCHEDULE_VAR).then(|| "rate(1\nday)".into());
        let odd = start_task_tags_in(None, None, odd);
        assert_eq!(odd[STARTED_BY_TAG], "schedule:rate(1day)");
        assert!(validate_value(STARTED_BY_TAG, &odd[STARTED_BY_TAG]).is_ok());
    }
}
