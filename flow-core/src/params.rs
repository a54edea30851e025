//! Typed flow parameters: CLI flags locally, execution input on Step Functions.
//!
//! A params type derives [`Params`] (with `Default`, `Clone`, `Serialize`,
//! `Deserialize`); its fields are the parameters, their doc comments the help text and
//! `Default` the defaults. Values are parsed one field at a time, so an error names the
//! parameter and the type it expects.

use crate::graph::ParamSpec;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A flow's parameters type. Derive it: `#[derive(Params)]`.
pub trait Params: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// One spec per field: name, type, help and default.
    fn specs() -> Vec<ParamSpec>;

    /// Parses one raw value (as given on the command line) of the field `name` to JSON.
    fn parse_field(name: &str, raw: &str) -> Result<Value, ParamError>;

    /// Checks one JSON value (as given in execution input) of the field `name`.
    fn check_field(name: &str, value: &Value) -> Result<(), ParamError>;
}

/// The params type of a flow that declares none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoParams {}

impl Params for NoParams {
    fn specs() -> Vec<ParamSpec> {
        Vec::new()
    }
    fn parse_field(name: &str, _raw: &str) -> Result<Value, ParamError> {
        Err(unknown::<Self>(name))
    }
    fn check_field(name: &str, _value: &Value) -> Result<(), ParamError> {
        Err(unknown::<Self>(name))
    }
}

/// A bad parameter: unknown, or a value of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// No such parameter.
    #[error("unknown parameter `--{name}`; {hint}")]
    Unknown {
        /// The flag as given (without dashes).
        name: String,
        /// The known params, or the closest one.
        hint: String,
    },
    /// The value does not parse as the field's type.
    #[error("invalid value `{value}` for parameter `--{name}`: expected {expected} ({reason})")]
    Invalid {
        /// The param's flag.
        name: String,
        /// The value as given.
        value: String,
        /// The Rust type expected.
        expected: String,
        /// What the parser said.
        reason: String,
    },
    /// The whole input is not an object of params.
    #[error("params must be a JSON object of parameter names to values, got {0}")]
    NotAnObject(String),
}

/// The error for an unknown parameter, with a suggestion.
pub fn unknown<P: Params>(name: &str) -> ParamError {
    let specs = P::specs();
    let flags: Vec<String> = specs.iter().map(ParamSpec::flag).collect();
    let hint = match flow_graph::closest(&name.replace('_', "-"), flags.iter().map(String::as_str))
    {
        Some(near) => format!("did you mean `--{near}`?"),
        None if flags.is_empty() => "this flow takes no parameters".to_string(),
        None => format!(
            "the parameters are {}",
            flags
                .iter()
                .map(|f| format!("`--{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    ParamError::Unknown {
        name: name.replace('_', "-"),
        hint,
    }
}

/// Parses a raw CLI value as `T`: first as JSON (numbers, booleans, lists), then as a
/// plain string, so `--name Alice` and `--sizes [1,2]` both work. Used by the derive.
#[doc(hidden)]
pub fn parse_value<T: Serialize + DeserializeOwned>(
    name: &str,
    type_name: &str,
    raw: &str,
) -> Result<Value, ParamError> {
    let parsed: Result<T, String> = match serde_json::from_str::<T>(raw) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let as_string = serde_json::from_value::<T>(Value::String(raw.to_string()));
            // Report the error of the reading that was meant: JSON if the text is JSON at all.
            let is_json = serde_json::from_str::<Value>(raw).is_ok();
            as_string.map_err(|string_err| {
                if is_json {
                    json_err.to_string()
                } else {
                    string_err.to_string()
                }
            })
        }
    };
    match parsed {
        Ok(v) => serde_json::to_value(v).map_err(|e| invalid(name, type_name, raw, e.to_string())),
        Err(reason) => Err(invalid(name, type_name, raw, reason)),
    }
}

/// Checks that a JSON value deserializes as `T`. Used by the derive.
#[doc(hidden)]
pub fn check_value<T: DeserializeOwned>(
    name: &str,
    type_name: &str,
    value: &Value,
) -> Result<(), ParamError> {
    serde_json::from_value::<T>(value.clone())
        .map(|_| ())
        .map_err(|e| invalid(name, type_name, &value.to_string(), e.to_string()))
}

fn invalid(name: &str, type_name: &str, raw: &str, reason: String) -> ParamError {
    // serde_json appends " at line 1 column 3"; that position means nothing to a CLI user.
    let reason = match reason.find(" at line ") {
        Some(i) => reason[..i].to_string(),
        None => reason,
    };
    ParamError::Invalid {
        name: name.replace('_', "-"),
        value: raw.to_string(),
        expected: type_name.to_string(),
        reason,
    }
}

/// Builds params from `(flag, raw value)` pairs over the defaults; the first bad one fails.
pub fn params_from_args<P: Params>(
    args: impl IntoIterator<Item = (String, String)>,
) -> Result<P, ParamError> {
    let mut object = defaults_object::<P>();
    for (flag, raw) in args {
        let field = flag.trim_start_matches('-').replace('-', "_");
        if !P::specs().iter().any(|s| s.name == field) {
            return Err(unknown::<P>(&field));
        }
        let value = P::parse_field(&field, &raw)?;
        object.insert(field, value);
    }
    finish(object)
}

/// Builds params from a JSON object over the defaults (Step Functions execution input).
pub fn params_from_json<P: Params>(input: &Value) -> Result<P, ParamError> {
    let given = match input {
        Value::Null => return Ok(P::default()),
        Value::Object(map) => map,
        other => return Err(ParamError::NotAnObject(other.to_string())),
    };
    let mut object = defaults_object::<P>();
    for (key, value) in given {
        let field = key.replace('-', "_");
        if !P::specs().iter().any(|s| s.name == field) {
            return Err(unknown::<P>(&field));
        }
        P::check_field(&field, value)?;
        object.insert(field, value.clone());
    }
    finish(object)
}

fn defaults_object<P: Params>() -> serde_json::Map<String, Value> {
    match serde_json::to_value(P::default()) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn finish<P: Params>(object: serde_json::Map<String, Value>) -> Result<P, ParamError> {
    serde_json::from_value(Value::Object(object)).map_err(|e| ParamError::Invalid {
        name: "(all)".into(),
        value: String::new(),
        expected: std::any::type_name::<P>().to_string(),
        reason: e.to_string(),
    })
}
