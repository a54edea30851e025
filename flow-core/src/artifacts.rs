//! Artifacts: a flow's state, stored one field at a time.
//!
//! Each top-level field of the flow struct is encoded on its own with bincode (compact and
//! close to memory speed for large buffers) and addressed by the BLAKE3 hash of its bytes, so
//! a field that did not change between tasks is stored once. Encoding goes through serde
//! with a serializer that only accepts the top-level struct and hands each field to bincode,
//! so no derive beyond `Serialize`/`Deserialize` is needed.

use bincode::Options;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::ser::{self, Impossible, Serialize};
use std::fmt;

/// Why a state could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The flow type is not a struct with named fields.
    #[error("a flow's state must be a struct with named fields (its artifacts); {0}")]
    NotAStruct(String),
    /// One field is not there, or not what was asked for.
    #[error("artifact `{field}`: {message}")]
    Field {
        /// The field's name.
        field: String,
        /// What went wrong.
        message: String,
    },
    /// One field's value failed to encode or decode.
    #[error("artifact `{field}` {what}")]
    Codec {
        /// The field's name.
        field: String,
        /// What failed, and what to check.
        what: String,
        /// The encoder's or decoder's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value encoded on its own failed to encode or decode.
    #[error("cannot {action} the value")]
    Value {
        /// `encode` or `decode`.
        action: &'static str,
        /// The codec's error.
        source: bincode::Error,
    },
    /// Anything else serde reported.
    #[error("{0}")]
    Other(String),
}

impl ser::Error for ArtifactError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ArtifactError::Other(msg.to_string())
    }
}

impl de::Error for ArtifactError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ArtifactError::Other(msg.to_string())
    }
}

fn codec() -> impl Options + Copy {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
}

/// Encodes one value the way artifact fields are encoded.
pub fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ArtifactError> {
    codec()
        .serialize(value)
        .map_err(|source| ArtifactError::Value {
            action: "encode",
            source,
        })
}

/// Decodes one value encoded by [`encode_value`].
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ArtifactError> {
    codec()
        .deserialize(bytes)
        .map_err(|source| ArtifactError::Value {
            action: "decode",
            source,
        })
}

/// The content address of some bytes: BLAKE3, lowercase hex.
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Encodes each top-level field of `state`, in declaration order.
pub fn encode_fields<T: Serialize>(state: &T) -> Result<Vec<(String, Vec<u8>)>, ArtifactError> {
    state.serialize(FieldSplitter(Bincode(Vec::new())))
}

/// Where a value lies in memory: its address and size. `#[flow]` records the spans of the
/// fields a step names (see `Flow::step_field_spans`).
pub fn field_span<T: ?Sized>(value: &T) -> (usize, usize) {
    (
        value as *const T as *const u8 as usize,
        std::mem::size_of_val(value),
    )
}

/// Encodes each top-level field of `state`, in declaration order, except the fields known
/// not to have changed, given as `None`. A field is known unchanged when `reusable(name)`
/// (the parent stored it) and the value serde hands over lies inside `state` itself, clear
/// of every span in `changed` (the fields the step names). Anything else is encoded: a
/// value serde builds on the fly (`serialize_with`, a custom `Serialize` computing it), one
/// behind a pointer, or one overlapping a named field. Decided by addresses, so a
/// `#[serde(rename)]` changes nothing.
pub fn encode_changed_fields<T: Serialize>(
    state: &T,
    changed: &[(usize, usize)],
    reusable: &dyn Fn(&str) -> bool,
) -> Result<Vec<ChangedField>, ArtifactError> {
    let (start, size) = field_span(state);
    state.serialize(FieldSplitter(Changed {
        state: (start, start + size),
        changed,
        reusable,
        out: Vec::new(),
    }))
}

/// A field's name and its encoded bytes, `None` when it is known unchanged.
pub type ChangedField = (String, Option<Vec<u8>>);

/// Every field that may have changed, bincode-encoded; the others `None`.
struct Changed<'a> {
    state: (usize, usize),
    changed: &'a [(usize, usize)],
    reusable: &'a dyn Fn(&str) -> bool,
    out: Vec<ChangedField>,
}

impl FieldEncoder for Changed<'_> {
    type Out = Vec<ChangedField>;
    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), ArtifactError> {
        let (at, size) = field_span(value);
        // A zero-sized value still counts as one byte, so that it never slips between spans.
        let end = at + size.max(1);
        let inside = at >= self.state.0 && end <= self.state.1.max(self.state.0 + 1);
        let clear = self
            .changed
            .iter()
            .all(|&(c, n)| end <= c || at >= c + n.max(1));
        if inside && clear && (self.reusable)(key) {
            self.out.push((key.to_string(), None));
            return Ok(());
        }
        let bytes = codec()
            .serialize(value)
            .map_err(|e| cannot_encode(key, e))?;
        self.out.push((key.to_string(), Some(bytes)));
        Ok(())
    }
    fn finish(self) -> Self::Out {
        self.out
    }
}

/// One top-level field of `state` as JSON (`None` when it has no such field): for comparing
/// values whose encodings may differ though they are equal (a `HashMap`'s order), and for
/// showing them.
pub fn field_json<T: Serialize>(
    state: &T,
    field: &str,
) -> Result<Option<serde_json::Value>, ArtifactError> {
    state.serialize(FieldSplitter(Json { field, value: None }))
}

/// One top-level field of `state`, encoded as [`encode_fields`] encodes it (`None` when it
/// has no such field).
pub fn encode_field<T: Serialize>(
    state: &T,
    field: &str,
) -> Result<Option<Vec<u8>>, ArtifactError> {
    state.serialize(FieldSplitter(One { field, bytes: None }))
}

/// The Rust type of each top-level field of `state`, in declaration order
/// (`std::any::type_name`), for showing artifacts beside their encoded bytes.
pub fn field_type_names<T: Serialize>(
    state: &T,
) -> Result<Vec<(String, &'static str)>, ArtifactError> {
    struct TypeNames(Vec<(String, &'static str)>);
    impl FieldEncoder for TypeNames {
        type Out = Vec<(String, &'static str)>;
        fn field<V: ?Sized + Serialize>(&mut self, key: &str, _: &V) -> Result<(), ArtifactError> {
            self.0.push((key.to_string(), std::any::type_name::<V>()));
            Ok(())
        }
        fn finish(self) -> Self::Out {
            self.0
        }
    }
    state.serialize(FieldSplitter(TypeNames(Vec::new())))
}

/// Where one top-level field of a state lies: its name, its offset inside the state (`None`
/// when the value serde hands over is not inside the state: built on the fly, or behind a
/// pointer), its size and its Rust type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSlot {
    /// The field's name, as serialized.
    pub name: String,
    /// Its offset from the start of the state, when it lies inside it.
    pub offset: Option<usize>,
    /// `size_of_val` of the value.
    pub size: usize,
    /// `std::any::type_name` of the value.
    pub type_name: &'static str,
}

/// The place of each top-level field of `state`, in declaration order, as its `Serialize`
/// hands the fields over (nothing is encoded).
pub fn field_slots<T: Serialize>(state: &T) -> Result<Vec<FieldSlot>, ArtifactError> {
    struct Slots {
        state: (usize, usize),
        out: Vec<FieldSlot>,
    }
    impl FieldEncoder for Slots {
        type Out = Vec<FieldSlot>;
        fn field<V: ?Sized + Serialize>(
            &mut self,
            key: &str,
            value: &V,
        ) -> Result<(), ArtifactError> {
            let (at, size) = field_span(value);
            let inside = at >= self.state.0 && at + size <= self.state.1;
            self.out.push(FieldSlot {
                name: key.to_string(),
                offset: inside.then(|| at - self.state.0),
                size,
                type_name: std::any::type_name::<V>(),
            });
            Ok(())
        }
        fn finish(self) -> Self::Out {
            self.out
        }
    }
    let (start, size) = field_span(state);
    state.serialize(FieldSplitter(Slots {
        state: (start, start + size),
        out: Vec::new(),
    }))
}

/// Whether every slot in `expected` is where `state`'s `Serialize` hands that field over:
/// same offset, size and type (fields not in `expected` are not checked). Allocates nothing.
pub fn slots_match<T: Serialize>(state: &T, expected: &[FieldSlot]) -> bool {
    struct Check<'a> {
        state: usize,
        expected: &'a [FieldSlot],
        seen: usize,
        ok: bool,
    }
    impl FieldEncoder for Check<'_> {
        type Out = bool;
        fn field<V: ?Sized + Serialize>(
            &mut self,
            key: &str,
            value: &V,
        ) -> Result<(), ArtifactError> {
            if let Some(slot) = self.expected.iter().find(|s| s.name == key) {
                let (at, size) = field_span(value);
                let same = at.checked_sub(self.state) == slot.offset
                    && size == slot.size
                    && std::any::type_name::<V>() == slot.type_name;
                self.ok &= same;
                self.seen += 1;
            }
            Ok(())
        }
        fn finish(self) -> bool {
            self.ok && self.seen == self.expected.len()
        }
    }
    let (start, _) = field_span(state);
    state
        .serialize(FieldSplitter(Check {
            state: start,
            expected,
            seen: 0,
            ok: true,
        }))
        .unwrap_or(false)
}

/// Rebuilds a state from encoded fields (any order). Fields missing from `fields` fall back
/// to `#[serde(default)]` where declared; unknown ones are ignored.
pub fn decode_fields<T: DeserializeOwned>(
    fields: &[(String, impl AsRef<[u8]>)],
) -> Result<T, ArtifactError> {
    T::deserialize(FieldJoiner { fields })
}

/// What is done with each top-level field of a state.
trait FieldEncoder {
    type Out;
    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), ArtifactError>;
    fn finish(self) -> Self::Out;
}

/// Every field, bincode-encoded.
struct Bincode(Vec<(String, Vec<u8>)>);

impl FieldEncoder for Bincode {
    type Out = Vec<(String, Vec<u8>)>;
    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), ArtifactError> {
        let bytes = codec()
            .serialize(value)
            .map_err(|e| cannot_encode(key, e))?;
        self.0.push((key.to_string(), bytes));
        Ok(())
    }
    fn finish(self) -> Self::Out {
        self.0
    }
}

/// One field, bincode-encoded.
struct One<'a> {
    field: &'a str,
    bytes: Option<Vec<u8>>,
}

impl FieldEncoder for One<'_> {
    type Out = Option<Vec<u8>>;
    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), ArtifactError> {
        if key == self.field {
            let bytes = codec()
                .serialize(value)
                .map_err(|e| cannot_encode(key, e))?;
            self.bytes = Some(bytes);
        }
        Ok(())
    }
    fn finish(self) -> Self::Out {
        self.bytes
    }
}

/// One field, as JSON.
struct Json<'a> {
    field: &'a str,
    value: Option<serde_json::Value>,
}

impl FieldEncoder for Json<'_> {
    type Out = Option<serde_json::Value>;
    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), ArtifactError> {
        if key == self.field {
            self.value = Some(serde_json::to_value(value).map_err(|e| cannot_encode(key, e))?);
        }
        Ok(())
    }
    fn finish(self) -> Self::Out {
        self.value
    }
}

struct FieldSplitter<E>(E);

struct FieldCollector<E>(E);

fn cannot_encode(
    field: &str,
    source: impl std::error::Error + Send + Sync + 'static,
) -> ArtifactError {
    ArtifactError::Codec {
        field: field.to_string(),
        what: "cannot be encoded".to_string(),
        source: Box::new(source),
    }
}

fn not_a_struct(what: &str) -> ArtifactError {
    ArtifactError::NotAStruct(format!("found {what}"))
}

macro_rules! reject {
    ($($name:ident($($arg:ty),*) $what:literal;)*) => {$(
        fn $name(self, $(_: $arg),*) -> Result<Self::Ok, ArtifactError> {
            Err(not_a_struct($what))
        }
    )*};
}

impl<E: FieldEncoder> ser::Serializer for FieldSplitter<E> {
    type Ok = E::Out;
    type Error = ArtifactError;
    type SerializeSeq = Impossible<Self::Ok, ArtifactError>;
    type SerializeTuple = Impossible<Self::Ok, ArtifactError>;
    type SerializeTupleStruct = Impossible<Self::Ok, ArtifactError>;
    type SerializeTupleVariant = Impossible<Self::Ok, ArtifactError>;
    type SerializeMap = Impossible<Self::Ok, ArtifactError>;
    type SerializeStruct = FieldCollector<E>;
    type SerializeStructVariant = Impossible<Self::Ok, ArtifactError>;

    reject! {
        serialize_bool(bool) "a bool";
        serialize_i8(i8) "an integer";
        serialize_i16(i16) "an integer";
        serialize_i32(i32) "an integer";
        serialize_i64(i64) "an integer";
        serialize_u8(u8) "an integer";
        serialize_u16(u16) "an integer";
        serialize_u32(u32) "an integer";
        serialize_u64(u64) "an integer";
        serialize_f32(f32) "a float";
        serialize_f64(f64) "a float";
        serialize_char(char) "a char";
        serialize_str(&str) "a string";
        serialize_bytes(&[u8]) "bytes";
        serialize_none() "an Option";
        serialize_unit() "()";
        serialize_unit_struct(&'static str) "a unit struct";
        serialize_unit_variant(&'static str, u32, &'static str) "an enum";
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Self::Ok, ArtifactError> {
        Err(not_a_struct("an Option"))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, ArtifactError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, ArtifactError> {
        Err(not_a_struct("an enum"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ArtifactError> {
        Err(not_a_struct("a sequence"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ArtifactError> {
        Err(not_a_struct("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ArtifactError> {
        Err(not_a_struct("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ArtifactError> {
        Err(not_a_struct("an enum"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ArtifactError> {
        Err(not_a_struct(
            "a map (is `#[serde(flatten)]` on the flow struct? it is not supported there)",
        ))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, ArtifactError> {
        Ok(FieldCollector(self.0))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ArtifactError> {
        Err(not_a_struct("an enum"))
    }
}

impl<E: FieldEncoder> ser::SerializeStruct for FieldCollector<E> {
    type Ok = E::Out;
    type Error = ArtifactError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ArtifactError> {
        self.0.field(key, value)
    }

    fn skip_field(&mut self, _key: &'static str) -> Result<(), ArtifactError> {
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, ArtifactError> {
        Ok(self.0.finish())
    }
}

struct FieldJoiner<'a, B> {
    fields: &'a [(String, B)],
}

impl<'de, B: AsRef<[u8]>> de::Deserializer<'de> for FieldJoiner<'de, B> {
    type Error = ArtifactError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArtifactError> {
        visitor.visit_map(FieldMap {
            fields: self.fields.iter(),
            current: None,
        })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ArtifactError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct FieldMap<'a, B> {
    fields: std::slice::Iter<'a, (String, B)>,
    current: Option<&'a (String, B)>,
}

impl<'de, B: AsRef<[u8]>> MapAccess<'de> for FieldMap<'de, B> {
    type Error = ArtifactError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ArtifactError> {
        match self.fields.next() {
            Some(entry) => {
                self.current = Some(entry);
                let key: de::value::BorrowedStrDeserializer<'de, ArtifactError> =
                    de::value::BorrowedStrDeserializer::new(entry.0.as_str());
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ArtifactError> {
        let (name, bytes) = self
            .current
            .take()
            .ok_or_else(|| ArtifactError::Other("value before key".into()))?;
        let mut d = bincode::Deserializer::from_slice(bytes.as_ref(), codec());
        seed.deserialize(&mut d)
            .map_err(|source| ArtifactError::Codec {
                field: name.clone(),
                what: "does not decode as the field's type (did the flow struct change since the \
                       run?)"
                    .to_string(),
                source,
            })
    }
}

#[cfg(test)]
mod tests;
