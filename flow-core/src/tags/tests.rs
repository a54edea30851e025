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

#[test]
fn the_start_task_tags_say_what_started_the_run_and_on_which_batch_job() {
    let batch = |var: &str| match var {
        "AWS_BATCH_CE_NAME" => Some("ce-spot".to_string()),
        "AWS_BATCH_JOB_ID" => Some("job-1".to_string()),
        _ => None,
    };
    let trigger = crate::Trigger::parse("UpstreamFlow/r-1").unwrap();
    let tags = start_task_tags_in(Some(&trigger), None, batch);
    assert_eq!(tags[STARTED_BY_TAG], "trigger_on_finish:UpstreamFlow/r-1");
    assert_eq!(tags[HOST_TAG], "aws-batch:ce-spot/job-1");
    assert_eq!(tags[FLOWRS_VERSION_TAG], env!("CARGO_PKG_VERSION"));
    assert!(!tags.contains_key(USER_TAG), "{tags:?}");

    let event = serde_json::json!({"source": "aws.s3", "detail-type": "Object Created"});
    let tags = start_task_tags_in(None, Some(&event), batch);
    assert_eq!(tags[STARTED_BY_TAG], "event:aws.s3");
    let sourceless = serde_json::json!({"detail": {}});
    assert_eq!(
        start_task_tags_in(None, Some(&sourceless), batch)[STARTED_BY_TAG],
        "event"
    );

    let only_job = |var: &str| (var == "AWS_BATCH_JOB_ID").then(|| "job-2".to_string());
    let tags = start_task_tags_in(None, None, only_job);
    assert_eq!(tags[STARTED_BY_TAG], STARTED_BY_EXECUTION);
    assert_eq!(tags[HOST_TAG], "aws-batch:job-2");
    // Every key is a system tag's, so none can be given by hand.
    assert!(tags.keys().all(|k| SYSTEM_TAG_KEYS.contains(&k.as_str())));
    assert_eq!(
        user_tags(["started_by=me"]).unwrap_err(),
        TagError::Reserved("started_by".into())
    );
}
