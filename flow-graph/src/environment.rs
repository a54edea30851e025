//! What a deployment is named after and what a step's process is given: a flow's `project`
//! (`#[flow(project = "recs")]`), and a step's environment variables and secrets
//! (`#[step(env(KEY = "value"), secrets("arn:aws:secretsmanager:..."))]`). The macro checks
//! them with these functions at compile time; the backends rely on them being valid.

/// The longest project name: it prefixes state machine, job definition and rule names,
/// which AWS limits to 64 to 128 characters.
pub const MAX_PROJECT_LEN: usize = 32;

/// Checks a project name: 1 to [`MAX_PROJECT_LEN`] lowercase letters, digits and `-`,
/// starting with a letter.
pub fn validate_project(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_PROJECT_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "project `{name}` must be 1 to {MAX_PROJECT_LEN} lowercase letters, digits and `-`, \
             starting with a letter, e.g. `project = \"recs\"`"
        ))
    }
}

/// Checks the name of an environment variable a step is given: a letter or `_`, then
/// letters, digits and `_`, and not `AWS_BATCH…` (AWS Batch reserves those).
pub fn validate_env_key(key: &str) -> Result<(), String> {
    let ok = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!(
            "`{key}` is not an environment variable name: use letters, digits and `_`, not \
             starting with a digit, e.g. `DB_HOST`"
        ));
    }
    if key.to_ascii_uppercase().starts_with("AWS_BATCH") {
        return Err(format!(
            "`{key}` starts with AWS_BATCH, which AWS Batch reserves for its own variables: \
             pick another name"
        ));
    }
    Ok(())
}

/// Checks a Secrets Manager secret ARN,
/// `arn:<partition>:secretsmanager:<region>:<12-digit account>:secret:<name>`.
pub fn validate_secret_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let ok = match parts.as_slice() {
        ["arn", partition, "secretsmanager", region, account, "secret", name] => {
            !partition.is_empty()
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{arn}` is not a Secrets Manager secret ARN: write \
             arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, e.g. \
             \"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-AbCdEf\""
        ))
    }
}

/// The environment variable a secret given without a name is read from: the secret's name
/// upper-cased, every character that a variable name cannot hold turned into `_`
/// (`...:secret:db-xyz` is `DB_XYZ`). Name it yourself with `secrets(DB = "arn:...")`.
pub fn secret_env_name(arn: &str) -> String {
    let name = arn.rsplit(":secret:").next().unwrap_or(arn);
    let mut key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        key.insert(0, '_');
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names() {
        validate_project("recs").unwrap();
        validate_project("recs-2").unwrap();
        for bad in ["", "Recs", "2recs", "re cs", "re.cs", &"a".repeat(33)] {
            assert!(validate_project(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn env_keys() {
        validate_env_key("DB_HOST").unwrap();
        validate_env_key("_x1").unwrap();
        let err = validate_env_key("1X").unwrap_err();
        assert!(err.contains("not an environment variable name"), "{err}");
        assert!(validate_env_key("A-B").is_err());
        assert!(validate_env_key("").is_err());
        let err = validate_env_key("AWS_BATCH_X").unwrap_err();
        assert!(err.contains("reserves"), "{err}");
    }

    #[test]
    fn secret_arns() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-xyz";
        validate_secret_arn(arn).unwrap();
        assert_eq!(secret_env_name(arn), "DB_XYZ");
        assert_eq!(
            secret_env_name("arn:aws:secretsmanager:r:123456789012:secret:prod/9db"),
            "PROD_9DB"
        );
        for bad in [
            "db-xyz",
            "arn:aws:s3:::bucket",
            "arn:aws:secretsmanager:us-east-1:1234:secret:db",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            "arn:aws:secretsmanager:us-east-1:123456789012:parameter:db",
        ] {
            let err = validate_secret_arn(bad).unwrap_err();
            assert!(err.contains("not a Secrets Manager secret ARN"), "{err}");
        }
    }
}
