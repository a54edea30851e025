//! The runtime validator on the same cases as the macro's compile-fail tests, plus a
//! property test over random well-formed graphs and single mutations of them.

use super::*;
use crate::{FlowGraph, StepSpec, Transition};
use proptest::prelude::*;

fn graph(steps: Vec<StepSpec>) -> FlowGraph {
    FlowGraph::new("TestFlow", steps)
}
fn errors(steps: Vec<StepSpec>) -> Vec<String> {
    validate(&graph(steps))
        .expect_err("graph should be rejected")
        .into_iter()
        .map(|e| e.message)
        .collect()
}
fn one_error(steps: Vec<StepSpec>) -> String {
    let e = errors(steps);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    e.into_iter().next().unwrap()
}

#[test]
fn linear_split_foreach_switch_and_nesting_validate() {
    let shapes = vec![
        vec![
            StepSpec::next("start", "a"),
            StepSpec::next("a", "end"),
            StepSpec::end(),
        ],
        vec![
            StepSpec::split("start", &["a", "b"]),
            StepSpec::next("a", "join"),
            StepSpec::next("b", "join"),
            StepSpec::next("join", "end").join(),
            StepSpec::end(),
        ],
        vec![
            StepSpec::foreach("start", "items", "body"),
            StepSpec::next("body", "join"),
            StepSpec::next("join", "end").join(),
            StepSpec::end(),
        ],
        // nested foreach
        vec![
            StepSpec::foreach("start", "outer", "mid"),
            StepSpec::foreach("mid", "inner", "leaf"),
            StepSpec::next("leaf", "inner_join"),
            StepSpec::next("inner_join", "outer_join").join(),
            StepSpec::next("outer_join", "end").join(),
            StepSpec::end(),
        ],
        // split inside foreach, foreach inside a split branch
        vec![
            StepSpec::foreach("start", "items", "fan"),
            StepSpec::split("fan", &["a", "b"]),
            StepSpec::next("a", "ab"),
            StepSpec::foreach("b", "xs", "x"),
            StepSpec::next("x", "xj"),
            StepSpec::next("xj", "ab").join(),
            StepSpec::next("ab", "items_join").join(),
            StepSpec::next("items_join", "end").join(),
            StepSpec::end(),
        ],
        // switch converging, including a branch that goes straight to the convergence
        vec![
            StepSpec::switch("start", &["high", "low", "after"]),
            StepSpec::next("high", "after"),
            StepSpec::next("low", "after"),
            StepSpec::next("after", "end"),
            StepSpec::end(),
        ],
        // switch inside a split branch, converging at the join
        vec![
            StepSpec::split("start", &["a", "b"]),
            StepSpec::switch("a", &["x", "y"]),
            StepSpec::next("x", "join"),
            StepSpec::next("y", "join"),
            StepSpec::next("b", "join"),
            StepSpec::next("join", "end").join(),
            StepSpec::end(),
        ],
        // a join that is also `end`
        vec![
            StepSpec::split("start", &["a", "b"]),
            StepSpec::next("a", "end"),
            StepSpec::next("b", "end"),
            StepSpec::new("end", Transition::End).join(),
        ],
    ];
    for steps in shapes {
        let g = graph(steps);
        if let Err(e) = validate(&g) {
            panic!("{} should validate: {e:#?}", render_text(&g));
        }
    }
}

use crate::render_text;

#[test]
fn analysis_reports_frames_and_joins() {
    let g = graph(vec![
        StepSpec::foreach("start", "outer", "mid"),
        StepSpec::split("mid", &["a", "b"]),
        StepSpec::next("a", "ab"),
        StepSpec::next("b", "ab"),
        StepSpec::next("ab", "outer_join").join(),
        StepSpec::next("outer_join", "end").join(),
        StepSpec::end(),
    ]);
    let a = validate(&g).unwrap();
    let idx = |n: &str| g.index_of(n).unwrap();
    assert_eq!(a.join_of[&idx("start")], idx("outer_join"));
    assert_eq!(a.split_of[&idx("ab")], idx("mid"));
    assert_eq!(
        a.frames[idx("b")],
        vec![
            Frame {
                step: idx("start"),
                kind: FrameKind::Foreach
            },
            Frame {
                step: idx("mid"),
                kind: FrameKind::Branch(1)
            }
        ]
    );
    assert_eq!(a.foreach_depth(idx("a")), 1);
    assert!(a.frames[idx("end")].is_empty());
    let pos = |n: &str| {
        a.topological_order
            .iter()
            .position(|&i| i == idx(n))
            .unwrap()
    };
    assert!(pos("start") < pos("mid") && pos("a") < pos("ab") && pos("outer_join") < pos("end"));
}

#[test]
fn missing_start_and_end() {
    let e = errors(vec![
        StepSpec::next("begin", "finish"),
        StepSpec::new("finish", Transition::End),
    ]);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e.iter().any(|m| m.contains("has no `start` step")));
    assert!(e.iter().any(|m| m.contains("has no `end` step")));
    assert!(e
        .iter()
        .any(|m| m.contains("step `finish` has no transition")));
}

#[test]
fn end_with_successor() {
    let m = one_error(vec![
        StepSpec::next("start", "end"),
        StepSpec::next("end", "start"),
    ]);
    assert!(
        m.contains("`end` is the last step and cannot have successors"),
        "{m}"
    );
}

#[test]
fn step_without_transition() {
    let m = one_error(vec![
        StepSpec::next("start", "a"),
        StepSpec::new("a", Transition::End),
        StepSpec::end(),
    ]);
    assert!(m.contains("step `a` has no transition"), "{m}");
}

#[test]
fn unknown_target_suggests_closest() {
    let m = one_error(vec![
        StepSpec::next("start", "measur"),
        StepSpec::next("measure", "end"),
        StepSpec::end(),
    ]);
    assert!(m.contains("names `measur` as a successor"), "{m}");
    assert!(m.contains("did you mean `measure`?"), "{m}");
}

#[test]
fn unreachable_step_is_named() {
    let m = one_error(vec![
        StepSpec::next("start", "end"),
        StepSpec::next("orphan", "end"),
        StepSpec::end(),
    ]);
    assert!(
        m.contains("step `orphan` is unreachable from `start`"),
        "{m}"
    );
}

#[test]
fn cycle_is_shown() {
    let m = one_error(vec![
        StepSpec::next("start", "a"),
        StepSpec::next("a", "b"),
        StepSpec::switch("b", &["a", "end"]),
        StepSpec::end(),
    ]);
    assert!(
        m.contains("step `b` loops back to `a` (a -> b -> a)"),
        "{m}"
    );
}

#[test]
fn join_without_split_names_the_missing_split() {
    let m = one_error(vec![
        StepSpec::next("start", "a"),
        StepSpec::next("a", "end").join(),
        StepSpec::end(),
    ]);
    assert!(
        m.contains("`start` leads to it from outside any split or foreach"),
        "{m}"
    );
    assert!(m.contains("the split it would close is missing"), "{m}");
}

#[test]
fn merge_without_join() {
    let m = one_error(vec![
        StepSpec::split("start", &["a", "b"]),
        StepSpec::next("a", "merge"),
        StepSpec::next("b", "merge"),
        StepSpec::next("merge", "end"),
        StepSpec::end(),
    ]);
    assert!(
        m.contains("make `merge` a join by adding a parameter `inputs: Inputs<Self>`"),
        "{m}"
    );
}

#[test]
fn join_missing_a_branch() {
    let m = errors(vec![
        StepSpec::split("start", &["a", "b"]),
        StepSpec::next("a", "join"),
        StepSpec::next("b", "end"),
        StepSpec::next("join", "end").join(),
        StepSpec::end(),
    ]);
    assert!(
        m.iter().any(|m| m
            .contains("join `join` closes split `start`, but its branch `b` never reaches `join`")),
        "{m:#?}"
    );
}

#[test]
fn outer_split_closed_before_inner() {
    let m = errors(vec![
        StepSpec::split("start", &["a", "b"]),
        StepSpec::foreach("a", "xs", "x"),
        StepSpec::next("x", "outer"),
        StepSpec::next("b", "outer"),
        StepSpec::next("outer", "end").join(),
        StepSpec::end(),
    ]);
    assert!(
        m.iter()
            .any(|m| m.contains("each split or foreach needs its own join, innermost first")),
        "{m:#?}"
    );
}

#[test]
fn split_never_joined() {
    let m = one_error(vec![
        StepSpec::foreach("start", "xs", "x"),
        StepSpec::next("x", "end"),
        StepSpec::end(),
    ]);
    assert!(m.contains("foreach `start` is never closed"), "{m}");
}

#[test]
fn fan_out_straight_into_join() {
    let m = one_error(vec![
        StepSpec::foreach("start", "xs", "join"),
        StepSpec::next("join", "end").join(),
        StepSpec::end(),
    ]);
    assert!(m.contains("fans out straight into join `join`"), "{m}");
}

#[test]
fn switch_branch_escaping_a_split() {
    let m = errors(vec![
        StepSpec::split("start", &["a", "b"]),
        StepSpec::switch("a", &["x", "y"]),
        StepSpec::next("x", "join"),
        StepSpec::next("y", "end"),
        StepSpec::next("b", "join"),
        StepSpec::next("join", "end").join(),
        StepSpec::end(),
    ]);
    assert!(!m.is_empty());
    assert!(
        m.iter().any(|m| m.contains("`end`") || m.contains("never")),
        "{m:#?}"
    );
}

#[test]
fn small_split_and_switch_and_duplicates() {
    assert!(one_error(vec![
        StepSpec::split("start", &["a"]),
        StepSpec::next("a", "end"),
        StepSpec::end()
    ])
    .contains("a split needs two or more"));
    assert!(one_error(vec![
        StepSpec::switch("start", &["a"]),
        StepSpec::next("a", "end"),
        StepSpec::end()
    ])
    .contains("a switch needs two or more"));
    assert!(one_error(vec![
        StepSpec::split("start", &["a", "a"]),
        StepSpec::next("a", "end"),
        StepSpec::end()
    ])
    .contains("names `a` twice"));
    assert!(one_error(vec![
        StepSpec::next("start", "end"),
        StepSpec::next("start", "end"),
        StepSpec::end()
    ])
    .contains("defined twice"));
}

#[test]
fn two_mistakes_are_both_reported() {
    let e = errors(vec![
        StepSpec::next("start", "a"),
        StepSpec::next("a", "nope"),
        StepSpec::new("b", Transition::End),
        StepSpec::end(),
    ]);
    assert_eq!(e.len(), 2, "{e:#?}");
}

// ---- property test: random well-formed graphs validate; single mutations are caught ----

#[derive(Debug, Clone)]
enum Block {
    Linear,
    Split(Vec<Vec<Block>>),
    Foreach(Vec<Block>),
    Switch(Vec<Vec<Block>>),
}

fn blocks() -> impl Strategy<Value = Vec<Block>> {
    let leaf = Just(Block::Linear);
    let block = leaf.prop_recursive(4, 48, 4, |inner| {
        let seq = prop::collection::vec(inner, 1..3);
        prop_oneof![
            3 => Just(Block::Linear),
            1 => prop::collection::vec(seq.clone(), 2..4).prop_map(Block::Split),
            1 => seq.clone().prop_map(Block::Foreach),
            1 => prop::collection::vec(seq, 2..4).prop_map(Block::Switch),
        ]
    });
    prop::collection::vec(block, 0..4)
}

struct Builder {
    steps: Vec<StepSpec>,
}

impl Builder {
    fn add(&mut self, join: bool) -> usize {
        let name = format!("s{}", self.steps.len());
        let mut step = StepSpec::new(name, Transition::End);
        step.join = join;
        self.steps.push(step);
        self.steps.len() - 1
    }
    fn name(&self, i: usize) -> String {
        self.steps[i].name.clone()
    }
    /// Emits `seq` after the steps in `tails` (whose transitions point at the first new step);
    /// returns the new tails.
    fn seq(&mut self, tails: Vec<usize>, seq: &[Block], join_first: bool) -> Vec<usize> {
        let mut tails = tails;
        let mut join_next = join_first;
        for block in seq {
            let head = self.add(join_next);
            join_next = false;
            self.link(&tails, head);
            tails = match block {
                Block::Linear => vec![head],
                Block::Split(branches) | Block::Switch(branches) => {
                    let mut heads = Vec::new();
                    let mut ends = Vec::new();
                    for b in branches {
                        let first = self.steps.len();
                        heads.push(first);
                        let h = self.add(false);
                        let t = self.seq(vec![h], b, false);
                        ends.extend(t);
                    }
                    let names = heads.iter().map(|&h| self.name(h)).collect();
                    self.steps[head].transition = if matches!(block, Block::Split(_)) {
                        Transition::Split(names)
                    } else {
                        Transition::Switch(names)
                    };
                    if matches!(block, Block::Split(_)) {
                        let join = self.add(true);
                        self.link(&ends, join);
                        vec![join]
                    } else {
                        ends
                    }
                }
                Block::Foreach(body) => {
                    let first = self.add(false);
                    self.steps[head].transition = Transition::Foreach {
                        over: "items".into(),
                        body: self.name(first),
                    };
                    let ends = self.seq(vec![first], body, false);
                    let join = self.add(true);
                    self.link(&ends, join);
                    vec![join]
                }
            };
        }
        tails
    }
    fn link(&mut self, tails: &[usize], to: usize) {
        let to = self.name(to);
        for &t in tails {
            if self.steps[t].transition == Transition::End {
                self.steps[t].transition = Transition::Next(to.clone());
            }
        }
    }
}

fn build(seq: &[Block]) -> FlowGraph {
    let mut b = Builder { steps: Vec::new() };
    let start = b.add(false);
    let tails = b.seq(vec![start], seq, false);
    let end = b.add(false);
    b.link(&tails, end);
    b.steps[start].name = "start".into();
    b.steps[end].name = "end".into();
    // Rename references to the renamed steps.
    for step in &mut b.steps {
        let rename = |t: &mut String| {
            if *t == format!("s{start}") {
                *t = "start".into();
            } else if *t == format!("s{end}") {
                *t = "end".into();
            }
        };
        match &mut step.transition {
            Transition::Next(t) => rename(t),
            Transition::Split(ts) | Transition::Switch(ts) => ts.iter_mut().for_each(rename),
            Transition::Foreach { body, .. } => rename(body),
            Transition::End => {}
        }
    }
    FlowGraph::new("Random", b.steps)
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    DanglingTarget,
    UnjoinAJoin,
    SelfLoop,
    DropTransition,
    RemoveStep,
    BranchSkipsJoin,
}

fn mutate(g: &mut FlowGraph, m: Mutation, pick: usize) -> bool {
    let n = g.steps.len();
    let candidates: Vec<usize> = (0..n)
        .filter(|&i| match m {
            Mutation::DanglingTarget | Mutation::SelfLoop | Mutation::DropTransition => {
                matches!(g.steps[i].transition, Transition::Next(_))
            }
            Mutation::UnjoinAJoin => g.steps[i].join,
            Mutation::RemoveStep => g.steps[i].name != "start",
            Mutation::BranchSkipsJoin => {
                matches!(&g.steps[i].transition, Transition::Next(t) if g.step(t).is_some_and(|s| s.join) && t != "end")
            }
        })
        .collect();
    if candidates.is_empty() {
        return false;
    }
    let i = candidates[pick % candidates.len()];
    let own = g.steps[i].name.clone();
    match m {
        Mutation::DanglingTarget => g.steps[i].transition = Transition::Next("no_such_step".into()),
        Mutation::UnjoinAJoin => g.steps[i].join = false,
        Mutation::SelfLoop => g.steps[i].transition = Transition::Next(own),
        Mutation::DropTransition => g.steps[i].transition = Transition::End,
        Mutation::RemoveStep => {
            g.steps.remove(i);
        }
        Mutation::BranchSkipsJoin => g.steps[i].transition = Transition::Next("end".into()),
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn well_formed_graphs_validate(seq in blocks()) {
        let g = build(&seq);
        prop_assert!(validate(&g).is_ok(), "{}\n{:#?}", render_text(&g), validate(&g).err());
    }

    #[test]
    fn single_mutations_are_caught(
        seq in blocks(),
        m in prop_oneof![
            Just(Mutation::DanglingTarget), Just(Mutation::UnjoinAJoin), Just(Mutation::SelfLoop),
            Just(Mutation::DropTransition), Just(Mutation::RemoveStep), Just(Mutation::BranchSkipsJoin)
        ],
        pick in 0usize..1000,
    ) {
        let mut g = build(&seq);
        prop_assume!(mutate(&mut g, m, pick));
        prop_assert!(validate(&g).is_err(), "{m:?} not caught:\n{}", render_text(&g));
    }
}
