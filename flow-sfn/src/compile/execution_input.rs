//! The execution input of a run: `{"params": {...}, "origin_run_id": null | "<run>"}`.
//!
//! The state machine reads `params` only to hand them to the `start` task's command
//! (`--params-json`), and `origin_run_id` to make every task of a resumed run clone what
//! succeeded in the origin run. Both keys are always present.

use flow_core::params::{params_from_json, ParamError, Params};
use flow_core::RunId;
use serde_json::{json, Value};

/// Why an execution input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecutionInputError {
    /// A param is unknown or has the wrong type.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The params would not fit in the `start` task's container overrides.
    #[error(
        "the params take {bytes} bytes as JSON, but the `start` task's command can carry at most \
         {limit}: put large inputs in S3 and pass their location as a param"
    )]
    ParamsTooLarge {
        /// Their size, JSON-escaped as they travel.
        bytes: usize,
        /// The most that fits (`CompileReport::max_params_json_bytes`).
        limit: usize,
    },
}

/// Validates `params` against the flow's params type `P` (filling defaults) and builds the
/// execution input; `max_params_json_bytes` comes from the compile report.
pub fn execution_input<P: Params>(
    params: &Value,
    origin_run_id: Option<&RunId>,
    max_params_json_bytes: usize,
) -> Result<Value, ExecutionInputError> {
    let typed: P = params_from_json(params)?;
    let params = serde_json::to_value(&typed).expect("params serialize to JSON");
    let as_argument = serde_json::to_string(&params.to_string()).expect("a string serializes");
    if as_argument.len() > max_params_json_bytes {
        return Err(ExecutionInputError::ParamsTooLarge {
            bytes: as_argument.len(),
            limit: max_params_json_bytes,
        });
    }
    Ok(json!({
        "params": params,
        "origin_run_id": origin_run_id.map(RunId::as_str),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_core::NoParams;

    #[test]
    fn both_keys_are_always_present() {
        let input = execution_input::<NoParams>(&json!({}), None, 1000).unwrap();
        assert_eq!(input, json!({"params": {}, "origin_run_id": null}));
        let origin = RunId::new("20260101T000000-abc").unwrap();
        let input = execution_input::<NoParams>(&Value::Null, Some(&origin), 1000).unwrap();
        assert_eq!(
            input,
            json!({"params": {}, "origin_run_id": "20260101T000000-abc"})
        );
    }

    #[test]
    fn unknown_params_are_refused() {
        let err = execution_input::<NoParams>(&json!({"count": 3}), None, 1000).unwrap_err();
        assert!(err.to_string().contains("--count"), "{err}");
    }

    #[test]
    fn params_too_large_for_the_command_are_refused() {
        let err = execution_input::<NoParams>(&json!({}), None, 3).unwrap_err();
        assert_eq!(
            err,
            ExecutionInputError::ParamsTooLarge { bytes: 4, limit: 3 }
        );
    }
}
