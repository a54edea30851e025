//! What a join receives: the states of the branches it closes.
//!
//! An input is held either decoded (the state itself) or stored: its encoded fields, whose
//! bytes are shared with every other input that has the same content (a field that a
//! foreach body did not change is one buffer for all the items). A stored input is decoded
//! when it is read and dropped after, so a join over many large states holds one of them
//! at a time, not all of them.
//!
//! The input of a foreach item whose body left fields it inherited unchanged holds them
//! not at all: they are the [`Inherited`] fields, held once for every item and lent to the
//! input while the join reads it.

use crate::artifacts::{
    decode_fields, decode_value, encode_field, encode_fields, field_json, ArtifactError,
};
use crate::datastore::error_chain;
use crate::ids::TaskId;
use crate::inherited::{Inherited, Lent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;
use std::sync::Arc;

/// The states that arrive at a join, in branch order (static split) or item order (foreach).
///
/// Reading an input gives an [`InputState`], which dereferences to the flow's state, so a
/// join reads a field of every input with `inputs.iter().map(|i| i.value)`.
#[derive(Debug, Clone)]
pub struct Inputs<F> {
    inputs: Vec<Input<F>>,
}

/// One arriving branch: the task that produced it and its final state.
#[derive(Debug, Clone)]
pub struct Input<F> {
    task: TaskId,
    state: Held<F>,
    /// The fields it inherited unchanged, when its state does not hold them.
    inherited: Option<Arc<Inherited<F>>>,
}

#[derive(Debug, Clone)]
enum Held<F> {
    State(F),
    Stored(StoredState),
}

/// A state's encoded fields (as stored), decoded on demand. Cloning it shares the bytes.
#[derive(Debug, Clone, Default)]
pub struct StoredState {
    fields: Vec<(String, Arc<[u8]>)>,
}

impl StoredState {
    /// From encoded fields.
    pub fn new(fields: Vec<(String, Arc<[u8]>)>) -> Self {
        StoredState { fields }
    }

    /// The encoded bytes of one field.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| &b[..])
    }

    /// Decodes the state.
    pub fn decode<F: DeserializeOwned>(&self) -> Result<F, ArtifactError> {
        decode_fields(&self.fields)
    }
}

/// Blobs already read, by content hash, so that inputs with equal fields share one buffer.
pub type BlobCache = HashMap<String, Arc<[u8]>>;

impl<F> Input<F> {
    /// An input held as a state.
    pub fn new(task: TaskId, state: F) -> Self {
        Input {
            task,
            state: Held::State(state),
            inherited: None,
        }
    }

    /// An input held encoded, decoded each time it is read.
    pub fn stored(task: TaskId, state: StoredState) -> Self {
        Input {
            task,
            state: Held::Stored(state),
            inherited: None,
        }
    }

    /// An input whose state (held as a state, or encoded) holds the `inherited` fields at
    /// their default: their values are `inherited`'s, lent when the input is read.
    pub fn inheriting(self, inherited: Arc<Inherited<F>>) -> Self {
        Input {
            inherited: Some(inherited),
            ..self
        }
    }

    /// The task whose final state this is (the last step of the branch).
    pub fn task(&self) -> &TaskId {
        &self.task
    }

    /// True when the input is held encoded rather than as a state.
    pub fn is_stored(&self) -> bool {
        matches!(self.state, Held::Stored(_))
    }
}

/// The panic of an input whose stored state does not decode as the flow's state (see
/// [`Input::state`]): it names the task and, through the error, the field.
#[cold]
fn cannot_read(task: &TaskId, error: ArtifactError) -> ! {
    panic!("cannot read join input {task}: {}", error_chain(&error))
}

impl<F: DeserializeOwned> Input<F> {
    /// The state, decoded if it is held encoded.
    ///
    /// # Panics
    ///
    /// When a stored state does not decode as `F` (the flow struct changed since the task
    /// ran); the message names the task and the field. A panic in a step fails its task.
    pub fn state(&self) -> InputState<'_, F>
    where
        F: Clone + Default + Serialize,
    {
        let state = match (&self.state, &self.inherited) {
            (Held::State(s), None) => StateRef::Borrowed(s),
            (Held::Stored(stored), None) => StateRef::Owned(
                stored
                    .decode()
                    .unwrap_or_else(|e| cannot_read(&self.task, e)),
            ),
            (held, Some(inherited)) => {
                let hollow = match held {
                    Held::State(s) => inherited.clone_state(s),
                    Held::Stored(stored) => stored
                        .decode()
                        .unwrap_or_else(|e| cannot_read(&self.task, e)),
                };
                match inherited.lend(hollow) {
                    Ok(lent) => StateRef::Lent(lent),
                    // Another reader holds the inherited fields: decode them for this one.
                    Err(hollow) => StateRef::Owned(
                        inherited
                            .fill(&hollow)
                            .unwrap_or_else(|e| cannot_read(&self.task, e)),
                    ),
                }
            }
        };
        InputState {
            task: &self.task,
            state,
        }
    }

    /// Each field's encoded bytes: borrowed from a stored input, encoded from a held one.
    fn encoded(&self) -> Vec<(String, Cow<'_, [u8]>)>
    where
        F: Serialize,
    {
        let mut fields: Vec<(String, Cow<'_, [u8]>)> = match &self.state {
            Held::State(state) => encode_fields(state)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, bytes)| (name, Cow::Owned(bytes)))
                .collect(),
            Held::Stored(stored) => stored
                .fields
                .iter()
                .map(|(name, bytes)| (name.clone(), Cow::Borrowed(&bytes[..])))
                .collect(),
        };
        if let Some(inherited) = &self.inherited {
            for (name, bytes) in &mut fields {
                if let Some(parent) = inherited.encoded_field(name) {
                    *bytes = Cow::Borrowed(&parent[..]);
                }
            }
        }
        fields
    }

    /// The encoded bytes of one field: the inherited value's, stored ones borrowed.
    fn field_bytes(&self, name: &str) -> Result<Option<Cow<'_, [u8]>>, ArtifactError>
    where
        F: Serialize,
    {
        if let Some(parent) = self.inherited.as_ref().and_then(|i| i.encoded_field(name)) {
            return Ok(Some(Cow::Borrowed(&parent[..])));
        }
        Ok(match &self.state {
            Held::State(state) => encode_field(state, name)?.map(Cow::Owned),
            Held::Stored(stored) => stored.field(name).map(Cow::Borrowed),
        })
    }

    fn into_state(self) -> F
    where
        F: Clone + Default + Serialize,
    {
        let state = match self.state {
            Held::State(s) => s,
            Held::Stored(stored) => stored
                .decode()
                .unwrap_or_else(|e| cannot_read(&self.task, e)),
        };
        match &self.inherited {
            None => state,
            Some(inherited) => inherited
                .fill(&state)
                .unwrap_or_else(|e| cannot_read(&self.task, e)),
        }
    }
}

/// One input's state, as read: dereferences to the flow's state. A stored input is decoded
/// for the lifetime of this value only.
#[derive(Debug)]
pub struct InputState<'a, F> {
    task: &'a TaskId,
    state: StateRef<'a, F>,
}

#[derive(Debug)]
enum StateRef<'a, F> {
    Borrowed(&'a F),
    Owned(F),
    /// A state holding the inherited fields until it drops.
    Lent(Lent<'a, F>),
}

impl<'a, F> InputState<'a, F> {
    /// The task that produced this state. An associated function (`InputState::task(&i)`),
    /// so that it never hides a method of the flow's own.
    pub fn task(this: &Self) -> &'a TaskId {
        this.task
    }

    /// The state itself, owned (cloned if the input was held as a state).
    pub fn into_owned(this: Self) -> F
    where
        F: Clone,
    {
        match this.state {
            StateRef::Borrowed(s) => s.clone(),
            StateRef::Owned(s) => s,
            StateRef::Lent(lent) => lent.state().clone(),
        }
    }
}

impl<F> Deref for InputState<'_, F> {
    type Target = F;
    fn deref(&self) -> &F {
        match &self.state {
            StateRef::Borrowed(s) => s,
            StateRef::Owned(s) => s,
            StateRef::Lent(lent) => lent.state(),
        }
    }
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

    /// From states alone (each held as a state), with the tasks that produced them.
    pub fn from_states(states: impl IntoIterator<Item = (TaskId, F)>) -> Self {
        Inputs::new(states.into_iter().map(|(t, s)| Input::new(t, s)).collect())
    }

    /// The number of inputs.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// True when there are none (a foreach over no items).
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The tasks whose states these are, in order.
    pub fn tasks(&self) -> impl ExactSizeIterator<Item = &TaskId> + '_ {
        self.inputs.iter().map(|i| &i.task)
    }

    /// The inputs themselves, in order.
    pub fn entries(&self) -> &[Input<F>] {
        &self.inputs
    }

    /// How many inputs are held as states; the others are held encoded and decoded when read.
    pub fn held_as_states(&self) -> usize {
        self.inputs.iter().filter(|i| !i.is_stored()).count()
    }
}

impl<F: Clone + Default + Serialize + DeserializeOwned> Inputs<F> {
    /// The branch states, in order. A stored input is decoded as the iterator reaches it and
    /// dropped with the item.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = InputState<'_, F>> + '_ {
        self.inputs.iter().map(Input::state)
    }

    /// The `i`th input's state.
    pub fn get(&self, i: usize) -> Option<InputState<'_, F>> {
        self.inputs.get(i).map(Input::state)
    }

    /// The state that came from the step named `step` (static splits).
    pub fn from_step(&self, step: &str) -> Option<InputState<'_, F>> {
        self.inputs
            .iter()
            .find(|i| i.task.step == step)
            .map(Input::state)
    }

    /// Consumes the inputs, yielding the states in order (every one decoded at once).
    pub fn into_states(self) -> Vec<F> {
        self.inputs.into_iter().map(Input::into_state).collect()
    }
}

impl<F: Clone + Default + Serialize + DeserializeOwned> Inputs<F> {
    /// One artifact (a field of the flow struct, by name) of every input, in order, decoded
    /// on its own: an input held encoded decodes only that field's bytes. For a join that
    /// needs a small field of inputs that also carry a large one:
    /// `inputs.artifact::<u64>("value")?` instead of `inputs.iter().map(|i| i.value)`, which
    /// decodes each input whole. Fails naming the field when an input has no such field or
    /// its value is not a `T`.
    pub fn artifact<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<T>, ArtifactError> {
        let field_error = |input: &Input<F>, message: String| ArtifactError::Field {
            field: name.to_string(),
            message: format!("join input {}: {message}", input.task),
        };
        self.inputs
            .iter()
            .map(|input| {
                let bytes = input
                    .field_bytes(name)?
                    .ok_or_else(|| field_error(input, "the state has no such field".into()))?;
                decode_value(&bytes).map_err(|source| ArtifactError::Codec {
                    field: name.to_string(),
                    what: format!(
                        "of join input {} is not a `{}`",
                        input.task,
                        std::any::type_name::<T>()
                    ),
                    source: Box::new(source),
                })
            })
            .collect()
    }

    /// Copies onto `target` every field on which all inputs agree; fails naming the first
    /// field (in the state's order) on which they disagree, unless that field is listed in
    /// `exclude`.
    ///
    /// Fields are compared by their encoded bytes (for inputs held encoded, the stored bytes
    /// themselves, shared when equal); only fields whose bytes differ are compared as values,
    /// since equal maps may encode in different orders. At most two inputs are decoded at a
    /// time.
    pub fn merge_artifacts(&self, target: &mut F, exclude: &[&str]) -> Result<(), MergeError> {
        let Some(first) = self.inputs.first() else {
            return Ok(());
        };
        let first_fields = first.encoded();
        let mut first_state: Option<InputState<'_, F>> = None;
        // The first input that disagrees on each field.
        let mut disagree: BTreeMap<&str, usize> = BTreeMap::new();
        for (k, other) in self.inputs.iter().enumerate().skip(1) {
            let other_fields = other.encoded();
            let mut other_state: Option<InputState<'_, F>> = None;
            for (name, bytes) in &first_fields {
                if exclude.contains(&name.as_str()) || disagree.contains_key(name.as_str()) {
                    continue;
                }
                let same_bytes = other_fields.iter().any(|(n, b)| {
                    n == name
                        && (std::ptr::eq(b.as_ptr(), bytes.as_ptr()) && b.len() == bytes.len()
                            || b == bytes)
                });
                if same_bytes {
                    continue;
                }
                let a = field_json(&**first_state.get_or_insert_with(|| first.state()), name);
                let b = field_json(&**other_state.get_or_insert_with(|| other.state()), name);
                match (a, b) {
                    (Ok(Some(a)), Ok(Some(b))) if a == b => {}
                    _ => {
                        disagree.insert(name, k);
                    }
                }
            }
        }
        for (name, _) in &first_fields {
            if let Some(&k) = disagree.get(name.as_str()) {
                let first_state = first_state.get_or_insert_with(|| first.state());
                let other = self.inputs[k].state();
                return Err(MergeError {
                    field: name.clone(),
                    first_task: first.task.to_string(),
                    first: short(field_json(&**first_state, name).ok().flatten()),
                    other_task: self.inputs[k].task.to_string(),
                    other: short(field_json(&*other, name).ok().flatten()),
                });
            }
        }
        let Ok(mut merged) = encode_fields(&*target) else {
            return Ok(());
        };
        for (name, bytes) in &mut merged {
            if exclude.contains(&name.as_str()) {
                continue;
            }
            if let Some((_, agreed)) = first_fields.iter().find(|(n, _)| n == name) {
                *bytes = agreed.to_vec();
            }
        }
        if let Ok(state) = decode_fields(&merged) {
            *target = state;
        }
        Ok(())
    }
}

/// A value for an error message: JSON, at most 60 characters.
fn short(value: Option<Value>) -> String {
    let s = value
        .map(|v| v.to_string())
        .unwrap_or_else(|| "nothing".into());
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

impl<'a, F: Clone + Default + Serialize + DeserializeOwned> IntoIterator for &'a Inputs<F> {
    type Item = InputState<'a, F>;
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, Input<F>>, fn(&'a Input<F>) -> InputState<'a, F>>;
    fn into_iter(self) -> Self::IntoIter {
        self.inputs.iter().map(Input::state)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod cannot_read_tests {
    use super::*;
    use crate::ids::IndexPath;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
    struct S {
        item: u32,
    }

    /// The message of the panic `read` raises.
    fn panic_message(read: impl FnOnce()) -> String {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_err();
        panic.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn an_input_read_by_value_or_by_reference_that_does_not_decode_names_its_task() {
        let task = TaskId::new("work", IndexPath(vec![7]));
        let bad = || StoredState::new(vec![("item".into(), Arc::from(&[1u8][..]))]);
        let by_value = panic_message(|| {
            Inputs::<S>::new(vec![Input::stored(task.clone(), bad())]).into_states();
        });
        let by_reference = panic_message(|| {
            let inputs = Inputs::<S>::new(vec![Input::stored(task.clone(), bad())]);
            inputs.iter().for_each(|i| assert_eq!(i.item, 0));
        });
        for message in [by_value, by_reference] {
            assert!(
                message.starts_with(&format!("cannot read join input {task}: ")),
                "{message}"
            );
            assert!(message.contains("item"), "{message}");
        }
    }
}
