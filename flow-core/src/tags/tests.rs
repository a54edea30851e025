use super::*;

#[test]
fn a_tag_is_key_equals_value_and_the_value_may_hold_equals() {
    assert_eq!(
        parse_tag("team=recs").unwrap(),
        ("team".to_string(), "recs".to_string())
    );
    assert_eq!(
        parse_tag("expr=a=b").unwrap(),
        ("expr".to_string(), "a=b".to_string())
    );
    assert_eq!(parse_tag("empty=").unwrap().1, "");
}

#[test]
fn malformed_tags_are_refused_with_the_fix() {
    let err = parse_tag("team").unwrap_err();
    assert_eq!(err, TagError::NoEquals("team".into()));
    assert!(err.to_string().contains("KEY=VALUE"), "{err}");
    assert_eq!(
        parse_tag("=recs").unwrap_err(),
        TagError::EmptyKey("=recs".into())
    );
    let err = parse_tag("my team=recs").unwrap_err();
    assert_eq!(err, TagError::BadKey("my team".into()));
    assert!(err.to_string().contains("letters, digits"), "{err}");
    let long = format!("k={}", "v".repeat(MAX_TAG_VALUE_LEN + 1));
    assert_eq!(
        parse_tag(&long).unwrap_err(),
        TagError::BadValue("k".into())
    );
    assert_eq!(
        parse_tag("k=a\nb").unwrap_err(),
        TagError::BadValue("k".into())
    );
}

#[test]
fn system_tag_keys_cannot_be_given_by_hand() {
    let err = user_tags(["team=recs", "user=mallory"]).unwrap_err();
    assert_eq!(err, TagError::Reserved("user".into()));
    assert!(err.to_string().contains("pick another key"), "{err}");
}

#[test]
fn the_last_value_of_a_repeated_key_wins() {
    let tags = user_tags(["a=1", "b=2", "a=3"]).unwrap();
    assert_eq!(tags.get("a").map(String::as_str), Some("3"));
    assert_eq!(tags.len(), 2);
}

#[test]
fn run_tags_add_the_system_tags_to_the_given_ones() {
    let given = user_tags(["team=recs"]).unwrap();
    let tags = run_tags(&given);
    assert_eq!(tags.get("team").map(String::as_str), Some("recs"));
    assert_eq!(
        tags.get(FLOWRS_VERSION_TAG).map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
    for (key, value) in &tags {
        validate_key(key).unwrap();
        validate_value(key, value).unwrap();
    }
}

#[test]
fn a_filter_matches_only_runs_with_every_pair() {
    let tags = user_tags(["team=recs", "stage=dev"]).unwrap();
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert!(matches_all(&tags, &[]));
    assert!(matches_all(&tags, &[pair("team", "recs")]));
    assert!(matches_all(
        &tags,
        &[pair("team", "recs"), pair("stage", "dev")]
    ));
    assert!(!matches_all(
        &tags,
        &[pair("team", "recs"), pair("stage", "prod")]
    ));
    assert!(!matches_all(&tags, &[pair("owner", "recs")]));
}
