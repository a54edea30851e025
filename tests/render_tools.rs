//! `show --format mermaid|dot|json` of every example is accepted by Mermaid's own parser,
//! Graphviz's `dot` and a JSON parser.

mod common;

use common::{example_names, run_example};
use flow_test_support::tool;
use std::process::Command;

fn show(example: &str, format: &str, dir: &std::path::Path) -> String {
    let out = run_example(example, &["show", "--format", format], dir);
    assert!(
        out.status.success(),
        "{example} show --format {format} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn mermaid_output_of_every_example_parses_in_mermaid() {
    let dir = tempfile::tempdir().unwrap();
    let checker = tool("FLOW_MERMAID_CHECK");
    let mut files = Vec::new();
    for example in example_names() {
        let text = show(&example, "mermaid", dir.path());
        assert!(text.starts_with("flowchart TD"), "{example}: {text}");
        let file = dir.path().join(format!("{example}.mmd"));
        std::fs::write(&file, text).unwrap();
        files.push(file);
    }
    let out = Command::new(&checker)
        .arg("--expect-type")
        .arg("flowchart")
        .args(&files)
        .output()
        .expect("mermaid checker runs");
    assert!(
        out.status.success(),
        "Mermaid rejected a diagram:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let accepted = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("ok "))
        .count();
    assert_eq!(accepted, files.len());
}

#[test]
fn mermaid_checker_rejects_a_broken_diagram() {
    // The check above means something only if the checker can say no.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.mmd");
    std::fs::write(&file, "flowchart TD\n    a[\"x\"] -->|oops b\n").unwrap();
    let out = Command::new(tool("FLOW_MERMAID_CHECK"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn dot_output_of_every_example_renders_in_graphviz() {
    let dir = tempfile::tempdir().unwrap();
    let dot = tool("FLOW_DOT");
    for example in example_names() {
        let text = show(&example, "dot", dir.path());
        let file = dir.path().join(format!("{example}.dot"));
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(&dot)
            .arg("-Tsvg")
            .arg(&file)
            .output()
            .expect("dot runs");
        assert!(
            out.status.success(),
            "dot rejected {example}:\n{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = String::from_utf8_lossy(&out.stdout);
        // Every step is drawn.
        let json = show(&example, "json", dir.path());
        let graph: serde_json::Value =
            serde_json::from_str(&json).expect("show --format json is JSON");
        for step in graph["steps"].as_array().unwrap() {
            let name = step["name"].as_str().unwrap();
            assert!(
                svg.contains(&format!(">{name}<")),
                "{example}: step {name} not drawn"
            );
        }
    }
}

#[test]
fn text_output_and_check_of_every_example() {
    let dir = tempfile::tempdir().unwrap();
    for example in example_names() {
        let text = show(&example, "text", dir.path());
        assert!(
            text.contains("start") && text.contains("end"),
            "{example}: {text}"
        );
        let out = run_example(&example, &["check"], dir.path());
        assert!(
            out.status.success(),
            "{example} check: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
