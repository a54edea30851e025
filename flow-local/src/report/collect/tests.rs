use super::*;

#[test]
fn type_names_lose_their_module_paths() {
    assert_eq!(
        short_type_name("alloc::vec::Vec<alloc::string::String>"),
        "Vec<String>"
    );
    assert_eq!(
        short_type_name(
            "core::option::Option<std::collections::hash::map::HashMap<alloc::string::String, (u32, [f64; 3])>>"
        ),
        "Option<HashMap<String, (u32, [f64; 3])>>"
    );
    assert_eq!(short_type_name("u64"), "u64");
}

#[test]
fn previews_stop_at_the_limit_on_a_character_boundary() {
    let short = serde_json::json!({"a": [1, 2, 3]});
    assert_eq!(preview(&short), (r#"{"a":[1,2,3]}"#.to_string(), false));
    let long = serde_json::Value::String("é".repeat(1000));
    let (text, truncated) = preview(&long);
    assert!(truncated);
    assert_eq!(text.chars().count(), PREVIEW_CHARS);
    assert!(text.starts_with("\"éé"));
}

#[test]
fn log_tails_keep_the_last_lines() {
    let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let tail = log_tail(2, &text);
    assert_eq!(tail.attempt, 2);
    assert_eq!(tail.omitted_lines, 60);
    assert!(tail.text.starts_with("line 60\n") && tail.text.ends_with("line 99"));
    let long = "x".repeat(3 * LOG_TAIL_BYTES);
    assert!(log_tail(0, &long).text.len() <= LOG_TAIL_BYTES + '…'.len_utf8());
}
