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
        let python = std::env::var("FLOW_MOTO_PYTHON").unwrap_or_else(|_| {
            panic!(
                "FLOW_MOTO_PYTHON is not set: run `scripts/install-test-tools.sh` and \
                 `source ~/.cache/flowrs-tools/env.sh` (or run the suite with `scripts/test.sh`)"
            )
        });
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
        cmd.envs(job_env.iter().copied());
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
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
