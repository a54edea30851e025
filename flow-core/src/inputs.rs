//! What a join receives: the states of the branches it closes.

use crate::ids::TaskId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The states that arrive at a join, in branch order (static split) or item order (foreach).
#[derive(Debug, Clone)]
pub struct Inputs<F> {
    inputs: Vec<Input<F>>,
}

/// One arriving branch: the task that produced it and its final state.
#[derive(Debug, Clone)]
pub struct Input<F> {
    /// The task whose state this is (the last step of the branch).
    pub task: TaskId,
    /// The branch's state.
    pub state: F,
}

/// A field on which the inputs of a join disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot merge artifact `{field}`: the inputs disagree ({first_task} has {first}, {other_task} has {other}); \
     set `{field}` yourself in the join or pass it in `exclude`"
)]
pub struct MergeError {
    /// The conflicting field.
    pub field: String,
    /// The first input's task and value (JSON, shortened).
    pub first_task: String,
    /// The first input's value.
    pub first: String,
    /// A disagreeing input's task.
    pub other_task: String,
    /// Its value.
    pub other: String,
}

impl<F> Inputs<F> {
    /// Inputs in branch or item order.
    pub fn new(inputs: Vec<Input<F>>) -> Self {
        Inputs { inputs }
    }

    /// The branch states, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &F> + '_ {
        self.inputs.iter().map(|i| &i.state)
    }

    /// The branches with their task ids, in order.
    pub fn entries(&self) -> &[Input<F>] {
        &self.inputs
    }

    /// The number of inputs.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// True when there are none (a foreach over no items).
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The state that came from the step named `step` (static splits).
    pub fn from_step(&self, step: &str) -> Option<&F> {
        self.inputs
            .iter()
            .find(|i| i.task.step == step)
            .map(|i| &i.state)
    }

    /// Consumes the inputs, yielding the states in order.
    pub fn into_states(self) -> Vec<F> {
        self.inputs.into_iter().map(|i| i.state).collect()
    }
}

impl<F: Serialize + DeserializeOwned> Inputs<F> {
    /// Copies onto `target` every field on which all inputs agree; fails naming the first
    /// field on which they disagree, unless that field is listed in `exclude`.
    pub fn merge_artifacts(&self, target: &mut F, exclude: &[&str]) -> Result<(), MergeError> {
        let to_object = |f: &F| match serde_json::to_value(f) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let objects: Vec<_> = self.inputs.iter().map(|i| to_object(&i.state)).collect();
        let Some(first) = objects.first() else {
            return Ok(());
        };
        let mut merged = to_object(target);
        for (field, value) in first {
            if exclude.contains(&field.as_str()) {
                continue;
            }
            if let Some((k, other)) = objects
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, o)| o.get(field) != Some(value))
            {
                let short = |v: Option<&Value>| {
                    let s = v.map(Value::to_string).unwrap_or_else(|| "nothing".into());
                    if s.len() > 60 {
                        format!("{}...", &s[..s.floor_char_boundary_compat(57)])
                    } else {
                        s
                    }
                };
                return Err(MergeError {
                    field: field.clone(),
                    first_task: self.inputs[0].task.to_string(),
                    first: short(Some(value)),
                    other_task: self.inputs[k].task.to_string(),
                    other: short(other.get(field)),
                });
            }
            merged.insert(field.clone(), value.clone());
        }
        if let Ok(state) = serde_json::from_value(Value::Object(merged)) {
            *target = state;
        }
        Ok(())
    }
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for String {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

impl<'a, F> IntoIterator for &'a Inputs<F> {
    type Item = &'a F;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Input<F>>, fn(&'a Input<F>) -> &'a F>;
    fn into_iter(self) -> Self::IntoIter {
        self.inputs.iter().map(|i| &i.state)
    }
}

impl<F> std::ops::Index<usize> for Inputs<F> {
    type Output = F;
    fn index(&self, i: usize) -> &F {
        &self.inputs[i].state
    }
}
