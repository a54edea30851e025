use super::given_error;

#[test]
fn error_and_cause_are_one_text() {
    assert_eq!(
        given_error(Some("States.Timeout"), Some("ran too long")).as_deref(),
        Some("States.Timeout: ran too long")
    );
    assert_eq!(given_error(Some(" "), None), None);
    assert_eq!(given_error(None, Some("why")).as_deref(), Some("why"));
    let long = "x".repeat(super::MAX_CAUSE_CHARS + 10);
    let kept = given_error(None, Some(&long)).unwrap();
    assert_eq!(kept.len(), super::MAX_CAUSE_CHARS + 3);
}
