//! A small IAM policy evaluator, for tests that check logged AWS calls against generated
//! policies: identity policies of `Allow` statements, `Action` and `Resource` with `*` and
//! `?` wildcards, and the string condition operators (`StringEquals`, `StringLike`, their
//! `IfExists` forms). Anything else (a `Deny`, `NotAction`, another operator) is an error, so
//! a policy this evaluator cannot judge never passes by accident.
//!
//! Semantics follow the IAM User Guide ("Policy evaluation logic", "IAM JSON policy
//! elements"): actions match case-insensitively, resources and condition values
//! case-sensitively; a request naming several resources is allowed only if each one is; a
//! condition whose key the request lacks is false, unless the operator ends in `IfExists`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// One request as IAM authorizes it: an action on resources, with the request's condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `service:Operation`, e.g. `s3:GetObject`.
    pub action: String,
    /// The ARNs the action is authorized against (`*` for actions without resource-level
    /// permissions).
    pub resources: Vec<String>,
    /// Condition keys of the request, e.g. `s3:prefix`, `iam:PassedToService`.
    pub conditions: BTreeMap<String, String>,
}

/// One `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Its `Sid` (empty without one).
    pub sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<(String, String, Vec<String>)>,
}

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

/// The condition operators this evaluator knows.
const OPERATORS: [&str; 4] = [
    "StringEquals",
    "StringLike",
    "StringEqualsIfExists",
    "StringLikeIfExists",
];

/// A string or a list of strings, as IAM accepts both.
fn strings(value: &Value, what: &str, sid: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_string).ok_or_else(|| {
                    PolicyError(format!(
                        "statement `{sid}`: {what} holds {i}, expected strings only"
                    ))
                })
            })
            .collect(),
        other => Err(PolicyError(format!(
            "statement `{sid}`: {what} is {other}, expected a string or a list of strings"
        ))),
    }
}

/// The statements of a policy document (`{"Version", "Statement": [...]}`).
pub fn statements(document: &Value) -> Result<Vec<Statement>, PolicyError> {
    let list =
        match &document["Statement"] {
            Value::Array(list) => list.clone(),
            Value::Object(_) => vec![document["Statement"].clone()],
            _ => return Err(PolicyError(
                "the policy has no `Statement`: expected {\"Version\": .., \"Statement\": [..]}"
                    .into(),
            )),
        };
    list.iter().map(statement).collect()
}

fn statement(value: &Value) -> Result<Statement, PolicyError> {
    let sid = value["Sid"].as_str().unwrap_or_default().to_string();
    if value["Effect"] != "Allow" {
        return Err(PolicyError(format!(
            "statement `{sid}`: Effect {}: only Allow statements can be evaluated here",
            value["Effect"]
        )));
    }
    for unsupported in ["NotAction", "NotResource", "Principal", "NotPrincipal"] {
        if value.get(unsupported).is_some() {
            return Err(PolicyError(format!(
                "statement `{sid}`: {unsupported} is not supported by this evaluator; write \
                 Action and Resource"
            )));
        }
    }
    let actions = strings(&value["Action"], "Action", &sid)?;
    let resources = strings(&value["Resource"], "Resource", &sid)?;
    let mut conditions = Vec::new();
    if let Some(condition) = value.get("Condition") {
        let Value::Object(operators) = condition else {
            return Err(PolicyError(format!(
                "statement `{sid}`: Condition is {condition}, expected {{operator: {{key: values}}}}"
            )));
        };
        for (operator, keys) in operators {
            if !OPERATORS.contains(&operator.as_str()) {
                return Err(PolicyError(format!(
                    "statement `{sid}`: condition operator `{operator}` is not supported; \
                     supported: {}",
                    OPERATORS.join(", ")
                )));
            }
            let Value::Object(keys) = keys else {
                return Err(PolicyError(format!(
                    "statement `{sid}`: `{operator}` holds {keys}, expected {{key: values}}"
                )));
            };
            for (key, values) in keys {
                conditions.push((
                    operator.clone(),
                    key.to_ascii_lowercase(),
                    strings(values, key, &sid)?,
                ));
            }
        }
    }
    Ok(Statement {
        sid,
        actions,
        resources,
        conditions,
    })
}

/// Whether `value` matches `pattern`, where `*` is any run of characters and `?` any one.
pub fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

impl Statement {
    /// Whether this statement allows `action` on `resource` with the request's condition keys.
    pub fn allows(
        &self,
        action: &str,
        resource: &str,
        conditions: &BTreeMap<String, String>,
    ) -> bool {
        let action = action.to_ascii_lowercase();
        self.actions
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), &action))
            && self.resources.iter().any(|r| glob(r, resource))
            && self.conditions.iter().all(|(operator, key, values)| {
                let present = conditions
                    .iter()
                    .find(|(k, _)| k.to_ascii_lowercase() == *key)
                    .map(|(_, v)| v);
                match present {
                    None => operator.ends_with("IfExists"),
                    Some(v) if operator.starts_with("StringLike") => {
                        values.iter().any(|pattern| glob(pattern, v))
                    }
                    Some(v) => values.iter().any(|value| value == v),
                }
            })
    }
}

/// The resources of `request` no statement allows (empty: the request is allowed).
pub fn denied_resources<'a>(policy: &[Statement], request: &'a Request) -> Vec<&'a str> {
    request
        .resources
        .iter()
        .filter(|r| {
            !policy
                .iter()
                .any(|s| s.allows(&request.action, r, &request.conditions))
        })
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests;
