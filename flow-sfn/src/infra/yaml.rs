//! YAML text of a JSON value that reads back the same under YAML 1.1 and 1.2.
//!
//! YAML serializers (serde_yaml and its forks) write strings plainly when YAML 1.2 reads
//! them back as strings; YAML 1.1 readers, which CloudFormation tooling and PyYAML still
//! are, turn some of those into other types (`2012-10-17` a date, `yes` a boolean, `12:30`
//! a number). Here every string value is double-quoted with JSON's escapes, which both
//! versions read as the same string; keys are plain when they are identifiers either
//! version reads as strings. Keys are sorted, so a value always gives the same text.

use serde_json::Value;

/// Scalars YAML 1.1 reads as something else than a string, whatever their case.
const YAML_1_1_WORDS: [&str; 14] = [
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", "nan", "inf", ".nan", ".inf",
];

fn is_plain_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b) || b == b':')
        // `a: b` would end the key; `::` (as in `Fn::Sub`) and a trailing `:` do not occur
        // in a plain scalar's middle only when no space follows, which holds here.
        && !key.ends_with(':')
        && !YAML_1_1_WORDS.contains(&key.to_ascii_lowercase().as_str())
}

fn key(key: &str) -> String {
    if is_plain_key(key) {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

/// A scalar, or an empty container, on one line.
fn inline(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) if map.is_empty() => Some("{}".into()),
        Value::Array(items) if items.is_empty() => Some("[]".into()),
        Value::Object(_) | Value::Array(_) => None,
        // JSON's scalars are YAML scalars of the same type; strings are double-quoted.
        scalar => Some(scalar.to_string()),
    }
}

fn write_block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                match inline(v) {
                    Some(text) => out.push_str(&format!("{pad}{}: {text}\n", key(k))),
                    None => {
                        out.push_str(&format!("{pad}{}:\n", key(k)));
                        write_block(out, v, indent + 2);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match inline(item) {
                    Some(text) => out.push_str(&format!("{pad}- {text}\n")),
                    None => {
                        // The item's first line goes after the dash, the rest under it.
                        let mut nested = String::new();
                        write_block(&mut nested, item, indent + 2);
                        out.push_str(&format!("{pad}- {}", &nested[indent + 2..]));
                    }
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{}\n", scalar)),
    }
}

/// `value` as a YAML document, keys sorted, every string double-quoted.
pub fn to_yaml(value: &Value) -> String {
    match inline(value) {
        Some(text) => format!("{text}\n"),
        None => {
            let mut out = String::new();
            write_block(&mut out, value, 0);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_mappings_and_sequences() {
        let value = json!({
            "b": [1, {"y": "2012-10-17", "x": [true, null]}, [], {}],
            "a": {"Fn::Sub": "s3://${Bucket}", "aws:SecureTransport": "false"},
            "yes": "quoted key",
            "key with space": "line\nbreak \"q\"",
        });
        assert_eq!(
            to_yaml(&value),
            concat!(
                "a:\n",
                "  Fn::Sub: \"s3://${Bucket}\"\n",
                "  aws:SecureTransport: \"false\"\n",
                "b:\n",
                "  - 1\n",
                "  - x:\n",
                "      - true\n",
                "      - null\n",
                // `y` is a boolean in YAML 1.1, so the key is quoted.
                "    \"y\": \"2012-10-17\"\n",
                "  - []\n",
                "  - {}\n",
                "\"key with space\": \"line\\nbreak \\\"q\\\"\"\n",
                "\"yes\": \"quoted key\"\n",
            )
        );
    }

    #[test]
    fn scalars_and_empty_documents() {
        assert_eq!(to_yaml(&json!("text")), "\"text\"\n");
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(to_yaml(&json!([[1, 2]])), "- - 1\n  - 2\n");
    }
}
