//! A private AWS emulator (moto 5.2.5 with the project's fixes and local Batch runner) for
//! one test: started on a free 127.0.0.1 port by `tests/support/aws-emulator/launch.py`,
//! stopped when dropped (closing the launcher's stdin stops the server and its jobs).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// A running emulator.
pub struct Emulator {
    child: Child,
    stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The Batch job queue the launcher created.
    pub queue: String,
    /// Its ARN.
    pub queue_arn: String,
    /// An IAM role ARN usable as the state machine and job role.
    pub role_arn: String,
    /// The region.
    pub region: String,
    /// Where the server log and each Batch job attempt's log go.
    pub log_dir: PathBuf,
    _dir: tempfile::TempDir,
}

fn repo_root() -> PathBuf {
    // Both the root package and member crates include this file; find the workspace root.
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("tests/support/aws-emulator/launch.py").exists() {
        assert!(
            dir.pop(),
            "cannot find tests/support/aws-emulator/launch.py above the crate"
        );
    }
    dir
}

impl Emulator {
    /// Starts an emulator whose Batch jobs find binaries in `path_prefix` first.
    pub fn start(path_prefix: &[&Path]) -> Emulator {
        Self::start_with_env(path_prefix, &[])
    }

    /// Starts an emulator whose Batch jobs also get `job_env` (they inherit the server's).
    pub fn start_with_env(path_prefix: &[&Path], job_env: &[(&str, &str)]) -> Emulator {
        Self::start_with_faults(path_prefix, job_env, &[])
    }

    /// Starts an emulator with some of its faults or strictness switches on (`launch.py
    /// --fault NAME=VALUE`, e.g. `("MOTO_SFN_DESCRIBE_LAG", "1")`; see the emulator's README).
    pub fn start_with_faults(
        path_prefix: &[&Path],
        job_env: &[(&str, &str)],
        faults: &[(&str, &str)],
    ) -> Emulator {
        let python = flow_test_support::tool("FLOW_MOTO_PYTHON");
        let dir = tempfile::tempdir().expect("temp dir");
        let log_dir = dir.path().join("logs");
        std::fs::create_dir_all(&log_dir).unwrap();
        let mut cmd = Command::new(&python);
        cmd.arg(repo_root().join("tests/support/aws-emulator/launch.py"))
            .arg("--log-dir")
            .arg(&log_dir)
            .arg("--max-parallel")
            .arg("4");
        for p in path_prefix {
            cmd.arg("--path-prefix").arg(p);
        }
        for (name, value) in faults {
            cmd.arg("--fault").arg(format!("{name}={value}"));
        }
        cmd.envs(job_env.iter().copied());
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("launcher output");
        let info: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("the emulator did not start ({e}); launcher said: {line:?}")
        });
        let s = |k: &str| info[k].as_str().unwrap_or_default().to_string();
        Emulator {
            stdin: child.stdin.take(),
            child,
            endpoint: s("endpoint"),
            queue: s("queue"),
            queue_arn: s("queue_arn"),
            role_arn: s("role_arn"),
            region: s("region"),
            log_dir,
            _dir: dir,
        }
    }

    /// The environment a client process needs to talk to this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Sets this emulator's environment on the current process (for in-process clients).
    pub fn apply_env(&self) {
        for (k, v) in self.env() {
            std::env::set_var(k, v);
        }
    }

    /// The server log and every job log, for a failing test's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.log_dir) {
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                out.push_str(&format!("--- {}\n", p.display()));
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // EOF on the launcher's stdin stops the server (and any job processes) cleanly.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Where `cargo test` puts the example binaries (`target/<profile>/examples`).
pub fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> -> target/debug/examples
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
}

/// A multi-threaded runtime for in-process AWS clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("tokio runtime")
}

/// The AWS SDK reads its endpoint from the environment when a client is made, and tests
/// run in parallel threads of one process, each with its own emulator: making a client
/// holds this lock while the environment points at the right emulator.
static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` with `env` set on this process, under [`ENV_LOCK`].
pub fn with_env<T>(env: &[(String, String)], f: impl FnOnce() -> T) -> T {
    let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (k, v) in env {
        std::env::set_var(k, v);
    }
    f()
}

/// An emulator with a datastore bucket, and the example binaries' `step-functions`
/// settings pointing at both.
pub struct Aws {
    /// The emulator.
    pub emulator: Emulator,
    /// `s3://BUCKET/runs`.
    pub datastore: String,
    /// The datastore's bucket.
    pub bucket: String,
    /// The working directory of the commands.
    pub dir: tempfile::TempDir,
}

impl Aws {
    /// The datastore bucket every test creates.
    pub const BUCKET: &'static str = "flowrs-e2e";

    /// An emulator whose Batch jobs find the example binaries (and get `job_env`), with
    /// `faults` on, and a datastore bucket.
    pub fn start(job_env: &[(&str, &str)], faults: &[(&str, &str)]) -> Aws {
        let examples = examples_dir();
        let emulator = Emulator::start_with_faults(&[&examples], job_env, faults);
        let aws = Aws {
            datastore: format!("s3://{}/runs", Self::BUCKET),
            bucket: Self::BUCKET.to_string(),
            emulator,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let clients = aws.clients();
        let created = runtime()
            .block_on(async { clients.s3.create_bucket().bucket(Self::BUCKET).send().await });
        assert!(
            created.is_ok(),
            "cannot create the bucket: {created:?}\n{}",
            aws.emulator.logs()
        );
        aws
    }

    /// The environment of a command against this emulator: AWS endpoint and test
    /// credentials, and the `step-functions` settings.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .emulator
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        env.extend([
            ("FLOW_SFN_IMAGE".to_string(), "local".to_string()),
            (
                "FLOW_SFN_JOB_QUEUE".to_string(),
                self.emulator.queue.clone(),
            ),
            (
                "FLOW_SFN_ROLE_ARN".to_string(),
                self.emulator.role_arn.clone(),
            ),
            ("FLOW_SFN_DATASTORE".to_string(), self.datastore.clone()),
            // Scheduled flows need the schedule's own role; the emulator trusts any role.
            (
                "FLOW_SFN_SCHEDULE_ROLE".to_string(),
                self.emulator.role_arn.clone(),
            ),
        ]);
        env
    }

    /// AWS clients for this emulator, in this process.
    pub fn clients(&self) -> flow_sfn::aws::AwsClients {
        with_env(&self.env(), || {
            runtime().block_on(async { flow_sfn::aws::load(None).await.expect("clients") })
        })
    }

    /// The S3 datastore, in this process.
    pub fn store(&self) -> std::sync::Arc<dyn flow_core::datastore::ObjectStore> {
        with_env(&self.env(), || {
            runtime().block_on(async {
                flow_sfn::open_s3_store(&self.datastore)
                    .await
                    .expect("datastore")
            })
        })
    }

    /// Runs an example binary with this emulator's environment plus `extra_env`.
    pub fn cli_with_env(
        &self,
        example: &str,
        args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> std::process::Output {
        let bin = examples_dir().join(example);
        assert!(
            bin.exists(),
            "example binary {} is missing: `cargo test` builds the examples first",
            bin.display()
        );
        Command::new(bin)
            .args(args)
            .envs(self.env())
            .envs(extra_env.iter().copied())
            .env_remove("FLOW_DATASTORE")
            .env_remove("FLOW_SFN_STATE_MACHINE")
            .current_dir(self.dir.path())
            .output()
            .expect("example runs")
    }

    /// Runs an example binary with this emulator's environment.
    pub fn cli(&self, example: &str, args: &[&str]) -> std::process::Output {
        self.cli_with_env(example, args, &[])
    }

    /// Runs an example binary that must succeed; returns its stdout.
    pub fn ok(&self, example: &str, args: &[&str]) -> String {
        let out = self.cli(example, args);
        assert!(
            out.status.success(),
            "{example} {args:?} failed:\n{}\n{}\nemulator logs:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.emulator.logs()
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Runs an example binary that must fail; returns its stderr.
    pub fn fails(&self, example: &str, args: &[&str]) -> String {
        let out = self.cli(example, args);
        assert!(
            !out.status.success(),
            "{example} {args:?} should have failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}
