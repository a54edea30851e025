//! What can go wrong talking to AWS, said the way a user can act on it: the operation, the
//! service's own error code and message, and a hint for the codes users most often meet.
//! [`call_failed`] is the one place an SDK error becomes an [`AwsError`]; nothing prints an
//! SDK error's `Debug` form.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt;

/// A failure that the transport or the SDK reported, kept as an error's source.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why AWS could not be reached or used.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No region anywhere in the configuration chain.
    #[error(
        "no AWS region is configured: pass --region, or set AWS_REGION (or FLOW_SFN_REGION), \
         or set `region` in your AWS profile"
    )]
    NoRegion,
    /// No credentials anywhere in the chain.
    #[error(
        "no AWS credentials were found ({0}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         or AWS_PROFILE for a configured profile, or run where an instance/task role is available"
    )]
    NoCredentials(String),
    /// The service answered with an error.
    // The service's code and message are the whole of what it said: they are fields, not a
    // source, so that printing the chain does not repeat them.
    #[error("{operation}: {code}: {message}{hint}")]
    Service {
        /// The API operation, e.g. `StartExecution`.
        operation: &'static str,
        /// The service's error code (`ValidationException`), or the HTTP status without one.
        code: String,
        /// The service's message.
        message: String,
        /// What to do about it, for the codes users most often meet.
        hint: Hint,
    },
    /// S3 refused a read with 403: without `s3:ListBucket` that is also its answer for a key
    /// that does not exist, so the caller cannot even learn that the key is missing.
    #[error(transparent)]
    S3ReadDenied(Box<S3ReadDenied>),
    /// The endpoint did not answer in time or refused the connection.
    #[error(
        "cannot reach AWS at {endpoint} ({operation}); check AWS_ENDPOINT_URL, the network, \
         and the region"
    )]
    Unreachable {
        /// The endpoint or region tried.
        endpoint: String,
        /// The operation.
        operation: &'static str,
        /// The transport error.
        source: Cause,
    },
    /// The request could not be built or signed (credentials that cannot be loaded, a
    /// value the SDK refuses).
    #[error("cannot send {operation}")]
    Request {
        /// The operation.
        operation: &'static str,
        /// Why.
        source: Cause,
    },
    /// AWS answered with something the SDK could not read.
    #[error("{operation}: an unreadable response from AWS")]
    Response {
        /// The operation.
        operation: &'static str,
        /// Why it could not be read.
        source: Cause,
    },
    /// A batch call succeeded as a whole but failed for some of its entries.
    #[error("{operation}: {failed} of its entries failed: {entries}")]
    PartialFailure {
        /// The operation, e.g. `PutTargets`.
        operation: &'static str,
        /// How many entries failed.
        failed: i32,
        /// Each failed entry: its id, error code and message.
        entries: String,
    },
    /// A request the SDK would not build from our values.
    #[error("cannot build the {operation} request: {message}")]
    InvalidRequest {
        /// The operation.
        operation: &'static str,
        /// What the SDK said.
        message: String,
    },
    /// The flow's state machine does not exist.
    #[error(
        "the flow's state machine `{state_machine}` does not exist in this account and region: \
         deploy it first with `step-functions create`"
    )]
    NotDeployed {
        /// The state machine name looked for.
        state_machine: String,
    },
    /// No run with this id.
    #[error("no run `{run_id}` of state machine `{state_machine}`: `step-functions list-runs` lists them")]
    UnknownRun {
        /// The run id asked for.
        run_id: String,
        /// The state machine.
        state_machine: String,
    },
    /// An EventBridge rule has the name a deployment's schedule needs, but is not the
    /// deployment's: it is never replaced.
    #[error(
        "an EventBridge rule `{rule}` already exists and is not this deployment's (it has no tag \
         `{tag}` = `{state_machine_arn}`): rename or delete that rule, or deploy under another \
         --state-machine name"
    )]
    RuleNotOwned {
        /// The rule's name.
        rule: String,
        /// The ownership tag looked for.
        tag: &'static str,
        /// The state machine that wanted the rule.
        state_machine_arn: String,
    },
}

/// A read S3 refused with 403, and the permissions it takes.
#[derive(Debug, thiserror::Error)]
#[error(
    "{operation} s3://{bucket}/{key}: {code}: {message} (HTTP 403); the caller needs \
     s3:ListBucket on arn:aws:s3:::{bucket} (without it S3 answers 403, not 404, for a key \
     that does not exist) and s3:GetObject on arn:aws:s3:::{bucket}/{prefix}*"
)]
pub struct S3ReadDenied {
    /// `GetObject` or `HeadObject`.
    pub operation: &'static str,
    /// The bucket.
    pub bucket: String,
    /// The S3 key read.
    pub key: String,
    /// The datastore's key prefix, with a trailing `/` (empty at the bucket's root).
    pub prefix: String,
    /// The service's error code, or `Forbidden` for a HEAD (which has no body).
    pub code: String,
    /// The service's message.
    pub message: String,
}

/// What to do about a service error; displayed as `; <hint>`, or nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hint(Option<String>);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(hint) => write!(f, "; {hint}"),
            None => Ok(()),
        }
    }
}

impl Hint {
    /// A hint of this text.
    pub fn new(text: impl Into<String>) -> Hint {
        Hint(Some(text.into()))
    }

    /// The hint for a service error `code` (HTTP `status`) of `operation` in `region`.
    pub fn for_code(code: &str, status: u16, operation: &str, region: &str) -> Hint {
        let any = |names: &[&str]| names.iter().any(|n| code.starts_with(n));
        let hint = if any(&[
            "UnrecognizedClient",
            "InvalidClientTokenId",
            "ExpiredToken",
            "InvalidSignature",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
            "AuthFailure",
            "MissingAuthenticationToken",
            "IncompleteSignature",
        ]) {
            "the AWS credentials are not valid here (expired, revoked or for another account): \
             refresh them (`aws sso login`, a new session token) or check AWS_PROFILE and \
             AWS_ACCESS_KEY_ID"
                .to_string()
        } else if any(&[
            "AccessDenied",
            "UnauthorizedOperation",
            "AuthorizationError",
            "Forbidden",
        ]) || status == 403
        {
            format!(
                "the IAM identity in use may not call {operation} on this resource: grant it \
                 (docs/step-functions.md lists what the deploying user and each role need)"
            )
        } else if any(&[
            "Throttl",
            "TooManyRequests",
            "RequestLimitExceeded",
            "SlowDown",
        ]) || status == 429
        {
            "AWS throttled the request past the SDK's retries: try again in a minute, or ask for \
             a higher service quota"
                .to_string()
        } else if code.contains("NotFound")
            || code.contains("DoesNotExist")
            || code.starts_with("NoSuch")
        {
            format!(
                "something the request names does not exist in {region}: check the name, the \
                 account and the region"
            )
        } else if any(&[
            "ValidationException",
            "InvalidParameter",
            "InvalidArn",
            "InvalidDefinition",
            "InvalidName",
            "InvalidRequest",
            "ClientException",
            "SerializationException",
        ]) {
            "AWS refused a value of the request: the message says which".to_string()
        } else if status >= 500 || any(&["InternalError", "InternalFailure", "ServiceUnavailable"])
        {
            "AWS failed on its side: try again".to_string()
        } else {
            return Hint(None);
        };
        Hint(Some(hint))
    }
}

/// Turns a failed call of `operation` into an [`AwsError`]: the service's code and message
/// with a hint, or an unreachable endpoint, or an SDK-side failure with its cause.
pub fn call_failed<E>(
    operation: &'static str,
    endpoint: &str,
    region: &str,
    error: SdkError<E, HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => AwsError::Unreachable {
            endpoint: endpoint.to_string(),
            operation,
            source: Box::new(error),
        },
        SdkError::ConstructionFailure(_) => AwsError::Request {
            operation,
            source: Box::new(error),
        },
        SdkError::ResponseError(_) => AwsError::Response {
            operation,
            source: Box::new(error),
        },
        _ => {
            let (code, message, status) = service_error(&error);
            AwsError::Service {
                operation,
                hint: Hint::for_code(&code, status, operation, region),
                code,
                message,
            }
        }
    }
}

/// The code, message and HTTP status of a service error. A response without a code (a HEAD
/// request's has no body) is named by its status.
pub fn service_error<E>(error: &SdkError<E, HttpResponse>) -> (String, String, u16)
where
    E: ProvideErrorMetadata,
{
    let status = error.raw_response().map_or(0, |r| r.status().as_u16());
    let code = error
        .code()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = error
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| "(no message)".to_string());
    (code, message, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(code: &str, status: u16) -> String {
        Hint::for_code(code, status, "StartExecution", "eu-west-1").to_string()
    }

    #[test]
    fn common_codes_get_a_hint() {
        assert!(hint("AccessDeniedException", 400).contains("may not call StartExecution"));
        assert!(hint("HTTP 403", 403).contains("docs/step-functions.md"));
        assert!(hint("ThrottlingException", 400).contains("throttled"));
        assert!(hint("StateMachineDoesNotExist", 400).contains("eu-west-1"));
        assert!(hint("ResourceNotFoundException", 400).contains("does not exist"));
        assert!(hint("ValidationException", 400).contains("refused a value"));
        assert!(hint("ExpiredTokenException", 400).contains("credentials"));
        assert!(hint("UnrecognizedClientException", 400).contains("aws sso login"));
        assert!(hint("InternalFailure", 500).contains("try again"));
        assert_eq!(hint("ExecutionLimitExceeded", 400), "");
    }

    #[test]
    fn a_service_error_reads_operation_code_message_hint() {
        let error = AwsError::Service {
            operation: "PutRule",
            code: "ValidationException".into(),
            message: "Parameter ScheduleExpression is not valid.".into(),
            hint: Hint::for_code("ValidationException", 400, "PutRule", "us-east-1"),
        };
        assert_eq!(
            error.to_string(),
            "PutRule: ValidationException: Parameter ScheduleExpression is not valid.; AWS \
             refused a value of the request: the message says which"
        );
    }
}
