use super::*;
use serde_json::json;

fn request(action: &str, resource: &str, conditions: &[(&str, &str)]) -> Request {
    Request {
        action: action.into(),
        resources: vec![resource.into()],
        conditions: conditions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn wildcards_match_any_run_or_one_character() {
    assert!(glob(
        "arn:aws:s3:::b/flow/*",
        "arn:aws:s3:::b/flow/runs/1/run.json"
    ));
    assert!(!glob("arn:aws:s3:::b/flow/*", "arn:aws:s3:::b/other/x"));
    assert!(glob("job-definition/SM-*", "job-definition/SM-start:3"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(glob("*", ""));
    assert!(glob("a*b*c", "a-b-x-c"));
    assert!(!glob("a*b*c", "a-b-x-d"));
    assert!(!glob("abc", "abcd"));
}

#[test]
fn actions_match_without_case_resources_with_case() {
    let policy = statements(&json!({"Statement": [{
        "Sid": "S", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"
    }]}))
    .unwrap();
    assert!(
        denied_resources(&policy, &request("S3:getobject", "arn:aws:s3:::b/k", &[])).is_empty()
    );
    assert_eq!(
        denied_resources(&policy, &request("s3:GetObject", "arn:aws:s3:::B/k", &[])),
        vec!["arn:aws:s3:::B/k"]
    );
    assert!(
        !denied_resources(&policy, &request("s3:PutObject", "arn:aws:s3:::b/k", &[])).is_empty()
    );
}

#[test]
fn every_resource_of_a_request_must_be_allowed() {
    let policy = statements(&json!({"Statement": {
        "Effect": "Allow", "Action": ["batch:SubmitJob"],
        "Resource": ["arn:def/*", "arn:queue/q"]
    }}))
    .unwrap();
    let mut submit = request("batch:SubmitJob", "arn:def/x", &[]);
    submit.resources.push("arn:queue/q".into());
    assert!(denied_resources(&policy, &submit).is_empty());
    submit.resources.push("arn:job/1".into());
    assert_eq!(denied_resources(&policy, &submit), vec!["arn:job/1"]);
}

#[test]
fn conditions_need_their_key_unless_if_exists() {
    let policy = statements(&json!({"Statement": [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:role/r",
         "Condition": {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
         "Condition": {"StringLikeIfExists": {"s3:prefix": ["flow/*"]}}}
    ]}))
    .unwrap();
    let pass = |service: Option<&str>| {
        let c: Vec<(&str, &str)> = service
            .map(|s| vec![("iam:PassedToService", s)])
            .unwrap_or_default();
        denied_resources(&policy, &request("iam:PassRole", "arn:role/r", &c)).is_empty()
    };
    assert!(pass(Some("states.amazonaws.com")));
    assert!(!pass(Some("events.amazonaws.com")));
    assert!(!pass(None), "StringEquals without its key is false");
    let list = |prefix: Option<&str>| {
        let c: Vec<(&str, &str)> = prefix.map(|p| vec![("s3:prefix", p)]).unwrap_or_default();
        denied_resources(&policy, &request("s3:ListBucket", "arn:aws:s3:::b", &c)).is_empty()
    };
    assert!(list(Some("flow/runs/1/")));
    assert!(!list(Some("other/")));
    assert!(list(None), "IfExists without its key is true");
}

#[test]
fn what_cannot_be_judged_is_an_error_naming_it() {
    for (document, expected) in [
        (json!({}), "no `Statement`"),
        (
            json!({"Statement": [{"Sid": "D", "Effect": "Deny", "Action": "*", "Resource": "*"}]}),
            "only Allow",
        ),
        (
            json!({"Statement": [{"Sid": "N", "Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}),
            "NotAction is not supported",
        ),
        (
            json!({"Statement": [{"Sid": "C", "Effect": "Allow", "Action": "s3:*", "Resource": "*",
                   "Condition": {"ArnLike": {"aws:SourceArn": "x"}}}]}),
            "operator `ArnLike` is not supported",
        ),
        (
            json!({"Statement": [{"Sid": "C", "Effect": "Allow", "Action": "s3:*", "Resource": "*",
                   "Condition": "x"}]}),
            "expected {operator: {key: values}}",
        ),
        (
            json!({"Statement": [{"Sid": "C", "Effect": "Allow", "Action": "s3:*", "Resource": "*",
                   "Condition": {"StringLike": "x"}}]}),
            "expected {key: values}",
        ),
        (
            json!({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": 3, "Resource": "*"}]}),
            "Action is 3",
        ),
        (
            json!({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": [1]}]}),
            "Resource holds 1",
        ),
    ] {
        let error = statements(&document).unwrap_err().to_string();
        assert!(error.contains(expected), "{error}");
    }
}
