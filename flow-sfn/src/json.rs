//! Deterministic JSON text: keys sorted at every level, whatever map type `serde_json`
//! was built with (a dependency enabling its `preserve_order` feature must not change the
//! bytes we print or snapshot).

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// Pretty JSON with sorted keys: the same value always gives the same bytes.
pub fn to_canonical_pretty(value: &Value) -> String {
    serde_json::to_string_pretty(&Sorted(value)).expect("a JSON value always serializes")
}

/// Compact JSON with sorted keys, for hashing and size checks.
pub fn to_canonical_compact(value: &Value) -> String {
    serde_json::to_string(&Sorted(value)).expect("a JSON value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let mut inner = serde_json::Map::new();
        inner.insert("b".into(), Value::from(1));
        inner.insert("a".into(), Value::from(2));
        let mut outer = serde_json::Map::new();
        outer.insert("z".into(), Value::Array(vec![Value::Object(inner)]));
        outer.insert("y".into(), Value::Null);
        let text = to_canonical_compact(&Value::Object(outer));
        assert_eq!(text, r#"{"y":null,"z":[{"a":2,"b":1}]}"#);
    }
}
