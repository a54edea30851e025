//! Names the compiler invents: Step Functions state names, Batch job names and job
//! definition names. Each AWS name has its own length and character rules; a name that
//! would break them is shortened deterministically (a prefix plus a hash of the full
//! name), so the same flow always compiles to the same names.

/// The longest state name Step Functions accepts.
pub const MAX_STATE_NAME_LEN: usize = 80;
/// The longest Distributed Map `Label` Step Functions accepts.
pub const MAX_MAP_LABEL_LEN: usize = 40;
/// The longest Batch job name or job definition name.
pub const MAX_BATCH_NAME_LEN: usize = 128;

/// A stable 64-bit FNV-1a hash: unlike std's hasher it never changes between Rust
/// releases, which deterministic names need.
pub fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Eight hex digits of [`stable_hash`], the suffix of shortened names.
pub fn short_hash(text: &str) -> String {
    format!("{:08x}", stable_hash(text) >> 32)
}

/// Replaces every character outside `[A-Za-z0-9_-]`, which all of the AWS names we emit
/// accept, by `_`.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `base` followed by `suffix`, at most `max` characters: when too long, `base` is cut
/// and followed by `-` and a hash of the whole uncut name, so distinct long names stay
/// distinct and the same name always shortens the same way.
fn fit(base: &str, suffix: &str, max: usize) -> String {
    let full = format!("{base}{suffix}");
    if full.len() <= max {
        return full;
    }
    let hash = short_hash(&full);
    let keep = max.saturating_sub(suffix.len() + hash.len() + 1);
    // `base` is ASCII after sanitizing, so any byte index is a char boundary.
    format!("{}-{hash}{suffix}", &base[..keep.min(base.len())])
}

/// What a state does for its step; each role has its own suffix so the names of one
/// step's states never collide with each other or with a step (step names are Rust
/// identifiers and never contain `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateRole {
    /// The Batch task that runs the step.
    Task,
    /// The Choice a step is entered through: in a resumed run, look for its task first.
    IfResumed,
    /// The look-up of the task's record in a resumed run, which skips a cloned task's job.
    IfCommitted,
    /// The Parallel state of a static split.
    Split,
    /// The Distributed Map state of a foreach.
    Foreach,
    /// The task that reads a switch step's decision from the datastore.
    ReadDecision,
    /// The Choice state of a switch.
    Choose,
    /// The Fail state a switch reaches on a decision naming no declared target.
    UnknownDecision,
    /// The Pass state that ends a branch when a switch picks the join closing it.
    BranchEnd,
}

impl StateRole {
    fn suffix(self) -> &'static str {
        match self {
            StateRole::Task => "",
            StateRole::IfResumed => "-if-resumed",
            StateRole::IfCommitted => "-if-committed",
            StateRole::Split => "-split",
            StateRole::Foreach => "-foreach",
            StateRole::ReadDecision => "-read-decision",
            StateRole::Choose => "-choose",
            StateRole::UnknownDecision => "-unknown-decision",
            StateRole::BranchEnd => "-branch-end",
        }
    }
}

/// The name of the state that plays `role` for `step`: legal and at most 80 characters.
pub fn state_name(step: &str, role: StateRole) -> String {
    fit(&sanitize(step), role.suffix(), MAX_STATE_NAME_LEN)
}

/// The `Label` of a foreach's Distributed Map (it names the map run and its child
/// executions): at most 40 characters.
pub fn map_label(step: &str) -> String {
    fit(&sanitize(step), "", MAX_MAP_LABEL_LEN)
}

/// The Batch job name of a step's tasks: `<flow>-<step>`, letters, digits, `-` and `_`,
/// at most 128 characters, starting with a letter or digit.
pub fn job_name(flow: &str, step: &str) -> String {
    batch_name(&format!("{flow}-{step}"), "")
}

/// A Batch job definition name: `<state machine>-<hash of the definition's content>`, so
/// identical settings share one definition and changed settings get a new one.
pub fn job_definition_name(state_machine: &str, content_key: &str) -> String {
    batch_name(state_machine, &format!("-{}", short_hash(content_key)))
}

fn batch_name(base: &str, suffix: &str) -> String {
    fit(&batch_base(base), suffix, MAX_BATCH_NAME_LEN)
}

fn batch_base(base: &str) -> String {
    let mut base = sanitize(base);
    if !base.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        base.insert(0, 'f');
    }
    base
}

/// What the job definitions of `state_machine` are named before their `-<hash>`: its name
/// made a legal Batch name (`recs.prod.Flow` gives `recs_prod_Flow`). A state machine name
/// has at most 80 characters, so its job definition names are never cut.
pub fn job_definition_prefix(state_machine: &str) -> String {
    batch_base(state_machine)
}

/// The state machine name of a deployment in a project's namespace,
/// `<project>.<branch>.<flow>` (`qualified`, see `flow_graph::namespace`): verbatim when
/// it has at most 80 characters, else cut and followed by `-` and a hash of the whole name,
/// so long branch or flow names stay distinct. `.` is legal in state machine names (Step
/// Functions API reference, "CreateStateMachine": `name` excludes whitespace, brackets,
/// wildcards and special characters, not `.`) and in EventBridge rule names; job definition
/// names replace it by `_`.
pub fn namespaced_state_machine_name(qualified: &str) -> String {
    let legal: String = qualified
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    fit(&legal, "", MAX_STATE_NAME_LEN)
}

/// Whether `name` is a legal Step Functions state machine name: 1 to 80 characters from
/// `[A-Za-z0-9_.-]` (the console's and CLI's safe set; `.` separates a project's namespace,
/// `recs.prod.Flow`).
pub fn is_valid_state_machine_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STATE_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_verbatim() {
        assert_eq!(state_name("measure", StateRole::Task), "measure");
        assert_eq!(state_name("fan", StateRole::Split), "fan-split");
        assert_eq!(state_name("pick", StateRole::Choose), "pick-choose");
        assert_eq!(job_name("MovieFlow", "measure"), "MovieFlow-measure");
    }

    #[test]
    fn long_names_are_shortened_deterministically_and_stay_distinct() {
        let a = "a".repeat(100);
        let b = format!("{}b", "a".repeat(99));
        for role in [StateRole::Task, StateRole::ReadDecision, StateRole::Foreach] {
            let na = state_name(&a, role);
            let nb = state_name(&b, role);
            assert!(na.len() <= MAX_STATE_NAME_LEN, "{na}");
            assert_eq!(na, state_name(&a, role), "not deterministic");
            assert_ne!(na, nb, "distinct long names collided");
            assert!(na.ends_with(role.suffix()));
        }
        assert_eq!(state_name(&a, StateRole::Task).len(), MAX_STATE_NAME_LEN);
        assert!(map_label(&a).len() <= MAX_MAP_LABEL_LEN);
    }

    #[test]
    fn a_name_of_exactly_the_limit_is_not_shortened() {
        let exact = "s".repeat(MAX_STATE_NAME_LEN);
        assert_eq!(state_name(&exact, StateRole::Task), exact);
        let over = "s".repeat(MAX_STATE_NAME_LEN + 1);
        assert_ne!(state_name(&over, StateRole::Task), over[..80]);
    }

    #[test]
    fn batch_names_are_legal() {
        let name = job_name("Flow", &"x".repeat(300));
        assert!(name.len() <= MAX_BATCH_NAME_LEN);
        let odd = job_definition_name("_my machine!", "content");
        assert!(odd.starts_with("f_my_machine_-"), "{odd}");
        assert!(odd
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        assert_ne!(
            job_definition_name("m", "one"),
            job_definition_name("m", "two")
        );
    }

    #[test]
    fn the_hash_is_stable_across_releases() {
        // FNV-1a test vectors: if these change, every deployed name changes.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn namespaced_state_machine_names_fit_and_stay_distinct() {
        assert_eq!(
            namespaced_state_machine_name("recs.test.fix-1.TeamFlow"),
            "recs.test.fix-1.TeamFlow"
        );
        let flow = "F".repeat(60);
        let a = namespaced_state_machine_name(&format!("recs.test.{}a.{flow}", "b".repeat(20)));
        let b = namespaced_state_machine_name(&format!("recs.test.{}c.{flow}", "b".repeat(20)));
        assert_eq!(a.len(), MAX_STATE_NAME_LEN, "{a}");
        assert_ne!(a, b, "long names of two branches collided");
        assert!(a.starts_with("recs.test.bbb"), "{a}");
        assert_eq!(
            a,
            namespaced_state_machine_name(&format!("recs.test.{}a.{flow}", "b".repeat(20)))
        );
        // Job definitions of a namespaced state machine are legal Batch names, found by
        // their prefix.
        let def = job_definition_name(&a, "content");
        assert_eq!(
            def,
            format!("{}-{}", job_definition_prefix(&a), short_hash("content"))
        );
        assert!(
            def.len() <= MAX_BATCH_NAME_LEN && !def.contains('.'),
            "{def}"
        );
    }

    #[test]
    fn state_machine_names() {
        assert!(is_valid_state_machine_name("MovieFlow-prod_1"));
        assert!(is_valid_state_machine_name("recs.test.b-1.MovieFlow"));
        for bad in ["", "has space", "a/b", &"x".repeat(81)] {
            assert!(!is_valid_state_machine_name(bad), "{bad:?}");
        }
    }
}
