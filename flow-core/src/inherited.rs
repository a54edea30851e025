//! The fields a foreach's items inherit from the task that fanned out and leave unchanged,
//! held once for all of them.
//!
//! A foreach body that names only some fields of `self` (`Flow::step_field_spans`) cannot
//! read or change the others. So its items do not start from copies of the whole parent
//! state: each starts from a state whose other fields, the *inherited* ones, are at their
//! default, and the parent's values of those fields are held here once (the state itself,
//! for lending, and its encoded bytes, as the parent stored them). Three things read them:
//!
//! * a later step of the item's chain that may reach them gets a state with them filled in
//!   ([`Inherited::fill`], a decode of their bytes);
//! * a task's record refers to the parent's artifacts for them (they are not encoded again,
//!   see `RunStore::save_state_from`);
//! * the join reads an input through [`Inherited::lend`]: the parent's values are moved
//!   into the input's state while the join reads it and moved back after, so reading
//!   100,000 inputs whose parent holds a 50 MB field copies none of it. Only one input can
//!   hold them at a time; an input read while another holds them is filled by decoding.
//!
//! Moving a field between two states is a swap of its bytes at the place where `Serialize`
//! hands that field over ([`field_slots`]); it is done only when both states give the same
//! offset, size and type for it, and no two moved fields overlap.

use crate::artifacts::{
    decode_fields, encode_fields, field_slots, field_span, slots_match, ArtifactError, FieldSlot,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The fields a foreach's items inherit unchanged, and the parent's values of them.
pub struct Inherited<F> {
    /// Where each inherited field lies in a state.
    slots: Vec<FieldSlot>,
    /// Each inherited field's encoded bytes, as the parent stored them.
    encoded: Vec<(String, Arc<[u8]>)>,
    /// Each inherited field's default, encoded (what a stored input holds for it).
    defaults: Vec<(String, Arc<[u8]>)>,
    /// An item's starting state: the parent's fields, the inherited ones at their default.
    /// Each item starts from a clone of it (a copy of the fields its body names).
    template: F,
    /// The parent's state: its inherited fields are lent to one reader at a time.
    base: UnsafeCell<F>,
    /// Whether a reader holds the base's fields.
    lent: AtomicBool,
    /// Clones a state (the flow's `Clone`, which the readers' bounds do not name).
    clone: fn(&F) -> F,
}

// SAFETY: the base is reached only by the holder of `lent` (one at a time, acquired with
// a compare-exchange, released after its last access), like a `Mutex<F>`'s value.
unsafe impl<F: Send> Send for Inherited<F> {}
// SAFETY: shared references reach the base only through `lend`, which gives it to one
// thread at a time (hence `Send`, as for a `Mutex<F>`); the template is read through shared
// references from any thread (hence `Sync`).
unsafe impl<F: Send + Sync> Sync for Inherited<F> {}

impl<F> std::fmt::Debug for Inherited<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.slots.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("Inherited").field("fields", &names).finish()
    }
}

fn is_named(slot: &FieldSlot, parent: usize, named: &[(usize, usize)]) -> bool {
    let Some(offset) = slot.offset else {
        return true;
    };
    // A zero-sized value still counts as one byte, as `encode_changed_fields` counts it.
    let (at, end) = (parent + offset, parent + offset + slot.size.max(1));
    named.iter().any(|&(c, n)| end > c && at < c + n.max(1))
}

impl<F: Clone + Default + Serialize + DeserializeOwned> Inherited<F> {
    /// What the items of a foreach over `parent` inherit, when its body names only the
    /// fields at `named` (spans in `parent`, from `Flow::step_field_spans`): every field
    /// that lies inside the state clear of those spans. `None` when there is no such field
    /// or the state's fields cannot be moved (its `Serialize` hands a field over from
    /// outside the state, two fields overlap, or the default state lays them out otherwise).
    pub fn new(parent: &F, named: &[(usize, usize)]) -> Option<Self> {
        let (start, _) = field_span(parent);
        let slots = field_slots(parent).ok()?;
        let inherited: Vec<FieldSlot> = slots
            .iter()
            .filter(|s| !is_named(s, start, named))
            .cloned()
            .collect();
        if inherited.is_empty() {
            return None;
        }
        // No two fields of the state overlap (a moved field must be a value of its own).
        let mut spans: Vec<(usize, usize)> = slots
            .iter()
            .filter_map(|s| s.offset.map(|o| (o, o + s.size)))
            .collect();
        spans.sort_unstable();
        if spans.windows(2).any(|w| w[1].0 < w[0].1) {
            return None;
        }
        let is_inherited = |name: &str| inherited.iter().any(|s| s.name == name);
        let parent_fields = encode_fields(parent).ok()?;
        let default_fields = encode_fields(&F::default()).ok()?;
        let mut encoded = Vec::new();
        let mut defaults = Vec::new();
        let mut item = Vec::new();
        for (name, bytes) in parent_fields {
            if is_inherited(&name) {
                let default = default_fields.iter().find(|(n, _)| *n == name)?;
                let default: Arc<[u8]> = default.1.clone().into();
                defaults.push((name.clone(), default.clone()));
                item.push((name.clone(), default));
                encoded.push((name, bytes.into()));
            } else {
                item.push((name, bytes.into()));
            }
        }
        if encoded.len() != inherited.len() {
            return None;
        }
        let template: F = decode_fields(&item).ok()?;
        let base = parent.clone();
        if !slots_match(&template, &inherited) || !slots_match(&base, &inherited) {
            return None;
        }
        Some(Inherited {
            slots: inherited,
            encoded,
            defaults,
            template,
            base: UnsafeCell::new(base),
            lent: AtomicBool::new(false),
            clone: F::clone,
        })
    }

    /// The state an item starts from: the parent's, its inherited fields at their default.
    pub fn item_state(&self) -> F {
        (self.clone)(&self.template)
    }

    /// `state` (an item's, its inherited fields at default) with the parent's values of
    /// them: a state of its own, for a step that may reach them.
    pub fn fill(&self, state: &F) -> Result<F, ArtifactError> {
        let mut fields = encode_fields(state)?
            .into_iter()
            .map(|(name, bytes)| (name, Arc::<[u8]>::from(bytes)))
            .collect::<Vec<_>>();
        for (name, bytes) in &mut fields {
            if let Some(parent) = self.encoded_field(name) {
                *bytes = parent.clone();
            }
        }
        decode_fields(&fields)
    }

    /// Lends the parent's inherited fields to `state` (an item's, those fields at default)
    /// until the returned guard drops. `Err(state)` when another reader holds them, or when
    /// `state` does not lay those fields out as the parent does.
    pub fn lend(&self, mut state: F) -> Result<Lent<'_, F>, F> {
        if !slots_match(&state, &self.slots) {
            return Err(state);
        }
        if self
            .lent
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(state);
        }
        // SAFETY: this thread holds `lent`, so nothing else reaches the base.
        let base = unsafe { &mut *self.base.get() };
        swap_slots(&mut state, base, &self.slots);
        Ok(Lent { state, owner: self })
    }
}

impl<F> Inherited<F> {
    /// Whether the field named `name` is inherited.
    pub fn inherits(&self, name: &str) -> bool {
        self.slots.iter().any(|s| s.name == name)
    }

    /// The inherited fields' names, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.slots.iter().map(|s| s.name.as_str())
    }

    /// Whether a step whose body names the fields at `named` (spans in `state`, an item's
    /// state) may reach an inherited field.
    pub fn reached_by(&self, state: &F, named: &[(usize, usize)]) -> bool {
        let (start, _) = field_span(state);
        self.slots.iter().any(|s| is_named(s, start, named))
    }

    /// The parent's encoded bytes of an inherited field.
    pub fn encoded_field(&self, name: &str) -> Option<&Arc<[u8]>> {
        self.encoded.iter().find(|(n, _)| n == name).map(|(_, b)| b)
    }

    /// The encoded default of an inherited field.
    pub fn default_field(&self, name: &str) -> Option<&Arc<[u8]>> {
        self.defaults
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    /// A copy of `state` (the flow's `Clone`).
    pub fn clone_state(&self, state: &F) -> F {
        (self.clone)(state)
    }
}

/// Swaps the bytes of each slot between `a` and `b`.
fn swap_slots<F>(a: &mut F, b: &mut F, slots: &[FieldSlot]) {
    let (pa, pb) = (a as *mut F as *mut u8, b as *mut F as *mut u8);
    for slot in slots {
        let offset = slot.offset.expect("inherited fields lie inside the state");
        debug_assert!(offset + slot.size <= std::mem::size_of::<F>());
        // SAFETY: in both states a value of the slot's type lies at this offset with this
        // size (`slots_match` checked `a`, `Inherited::new` the layout `b` came from, and
        // `b` is the base, which only swaps move values in and out of); the slots do not
        // overlap each other, and `a` and `b` are distinct objects. Swapping two values of
        // one type bytewise is `std::mem::swap`.
        unsafe { std::ptr::swap_nonoverlapping(pa.add(offset), pb.add(offset), slot.size) };
    }
}

/// A state holding the parent's inherited fields, given back when dropped.
pub struct Lent<'a, F> {
    state: F,
    owner: &'a Inherited<F>,
}

impl<F> Lent<'_, F> {
    /// The state, inherited fields included.
    pub fn state(&self) -> &F {
        &self.state
    }
}

impl<F> Drop for Lent<'_, F> {
    fn drop(&mut self) {
        // SAFETY: this guard holds `lent` until the store below, so nothing else reaches
        // the base; the slots are the ones swapped in by `lend`.
        let base = unsafe { &mut *self.owner.base.get() };
        swap_slots(&mut self.state, base, &self.owner.slots);
        self.owner.lent.store(false, Ordering::Release);
    }
}

impl<F> std::fmt::Debug for Lent<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lent").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
