//! The graph rules. Three passes, each run only when the one before found nothing, so that
//! one mistake is reported once instead of cascading:
//!
//! 1. local rules: `start` and `end` exist, every step has a transition, every target names
//!    a step, option values make sense;
//! 2. shape: no cycles, every step reachable from `start`;
//! 3. structure: walking the steps in topological order with a stack of open splits, every
//!    join closes exactly one split or foreach with all of its branches, splits close
//!    innermost first, and switch branches converge.
//!
//! Longer than most modules because it is one cohesive thing: the graph rules; they must live in one place (see ARCHITECTURE.md), and the three passes share the structural walk.

use crate::{closest, FlowGraph, Transition, END, START};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where in the user's code a [`GraphError`] belongs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorSite {
    /// The flow as a whole (e.g. a missing `start`).
    Flow,
    /// A step's declaration.
    Step(String),
    /// A target named in a step's transition.
    Target {
        /// The step whose transition names the target.
        step: String,
        /// The target as written.
        target: String,
    },
}

/// A broken graph rule, with a message that names the step and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// Where the mistake is.
    pub site: ErrorSite,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl GraphError {
    fn at_step(step: &str, message: String) -> Self {
        GraphError {
            site: ErrorSite::Step(step.to_string()),
            message,
        }
    }

    /// The step the error is about, if any.
    pub fn step(&self) -> Option<&str> {
        match &self.site {
            ErrorSite::Flow => None,
            ErrorSite::Step(s) | ErrorSite::Target { step: s, .. } => Some(s),
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GraphError {}

/// One open split or foreach around a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// Index of the split or foreach step.
    pub step: usize,
    /// Which branch, or the foreach body.
    pub kind: FrameKind,
}

/// Whether a frame is a branch of a static split or the body of a foreach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameKind {
    /// Branch number `n` (0-based, in declaration order) of a static split.
    Branch(usize),
    /// The body of a foreach (one task per item).
    Foreach,
}

/// What validation learns about a valid graph, for schedulers and compilers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// Step indices such that every step comes after its predecessors.
    pub topological_order: Vec<usize>,
    /// Predecessors of each step, by index.
    pub predecessors: Vec<Vec<usize>>,
    /// The open splits and foreaches around each step, outermost first.
    pub frames: Vec<Vec<Frame>>,
    /// The join that closes each split or foreach step.
    pub join_of: BTreeMap<usize, usize>,
    /// The split or foreach step that each join closes.
    pub split_of: BTreeMap<usize, usize>,
}

impl Analysis {
    /// How many foreaches enclose the step (the length of its foreach index path).
    pub fn foreach_depth(&self, step: usize) -> usize {
        self.frames[step]
            .iter()
            .filter(|f| f.kind == FrameKind::Foreach)
            .count()
    }
}

/// Checks every graph rule; returns what was learned, or every broken rule of the first
/// pass that found any.
pub fn validate(graph: &FlowGraph) -> Result<Analysis, Vec<GraphError>> {
    let errors = local_rules(graph);
    if !errors.is_empty() {
        return Err(errors);
    }
    let index: BTreeMap<&str, usize> = graph
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let successors: Vec<Vec<usize>> = graph
        .steps
        .iter()
        .map(|s| s.successors().iter().map(|t| index[t]).collect())
        .collect();
    let order = shape_rules(graph, &index, &successors)?;
    structure_rules(graph, &successors, order)
}

fn local_rules(graph: &FlowGraph) -> Vec<GraphError> {
    let mut errors = Vec::new();
    let names: Vec<&str> = graph.steps.iter().map(|s| s.name.as_str()).collect();
    // For lookups: a target is checked against every name, so a list would make large graphs
    // quadratic.
    let known: BTreeSet<&str> = names.iter().copied().collect();
    let mut seen = BTreeSet::new();
    for step in &graph.steps {
        if !seen.insert(step.name.as_str()) {
            errors.push(GraphError::at_step(
                &step.name,
                format!("step `{}` is defined twice; rename one of them", step.name),
            ));
        }
    }
    for required in [START, END] {
        if !known.contains(required) {
            let hint = if required == START {
                "every flow begins at a step named `start`: add `#[step(next = ...)] fn start(&mut self) {}`"
            } else {
                "every flow finishes at a step named `end`: add `#[step] fn end(&mut self) {}`"
            };
            errors.push(GraphError {
                site: ErrorSite::Flow,
                message: format!("flow `{}` has no `{required}` step; {hint}", graph.name),
            });
        }
    }
    let joins: BTreeSet<&str> = graph
        .steps
        .iter()
        .filter(|s| s.join)
        .map(|s| s.name.as_str())
        .collect();
    for step in &graph.steps {
        let name = step.name.as_str();
        match (&step.transition, name == END) {
            (Transition::End, true) => {}
            (Transition::End, false) => errors.push(GraphError::at_step(
                name,
                format!(
                    "step `{name}` has no transition: add `next = <step>`, a split `next = [a, b]`, \
                     `foreach = <field>, next = <step>`, or `switch = [a, b]`"
                ),
            )),
            (transition, true) => {
                errors.push(GraphError::at_step(
                    name,
                    format!(
                        "`end` is the last step and cannot have successors: remove `{}` from it",
                        transition.keyword()
                    ),
                ));
                continue;
            }
            _ => {}
        }
        if name == START && step.join {
            errors.push(GraphError::at_step(
                name,
                "`start` cannot be a join: remove its `Inputs<Self>` parameter".to_string(),
            ));
        }
        let targets = step.successors();
        let mut distinct = BTreeSet::new();
        for target in &targets {
            let site = ErrorSite::Target {
                step: name.to_string(),
                target: target.to_string(),
            };
            if !known.contains(target) {
                let hint = match closest(target, names.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("the steps are {}", list(&names)),
                };
                errors.push(GraphError {
                    site,
                    message: format!(
                        "step `{name}` names `{target}` as a successor, but flow `{}` has no step `{target}`; {hint}",
                        graph.name
                    ),
                });
            } else if *target == START {
                errors.push(GraphError {
                    site,
                    message: format!(
                        "step `{name}` names `start` as a successor, but `start` only begins the flow; \
                         point `{name}` at another step"
                    ),
                });
            } else if !distinct.insert(*target) {
                errors.push(GraphError {
                    site,
                    message: format!(
                        "step `{name}` names `{target}` twice; list each successor once"
                    ),
                });
            } else if joins.contains(target)
                && matches!(
                    step.transition,
                    Transition::Split(_) | Transition::Foreach { .. }
                )
            {
                errors.push(GraphError {
                    site,
                    message: format!(
                        "`{name}` fans out straight into join `{target}`; add a step between them \
                         that does the per-branch work, or use `next = {target}` without a split"
                    ),
                });
            }
        }
        match &step.transition {
            Transition::Split(t) if t.len() < 2 => errors.push(GraphError::at_step(
                name,
                format!(
                    "the split of `{name}` has {} branch; a split needs two or more, \
                     or write `next = <step>` for one successor",
                    t.len()
                ),
            )),
            Transition::Switch(t) if t.len() < 2 => errors.push(GraphError::at_step(
                name,
                format!(
                    "the switch of `{name}` has {} choice; a switch needs two or more, \
                     or write `next = <step>` for one successor",
                    t.len()
                ),
            )),
            Transition::Foreach { over, .. } if over.is_empty() => {
                errors.push(GraphError::at_step(
                    name,
                    format!("the foreach of `{name}` names no field: write `foreach = <field>`"),
                ))
            }
            _ => {}
        }
    }
    errors
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// No cycles, everything reachable from `start`; returns a topological order.
fn shape_rules(
    graph: &FlowGraph,
    index: &BTreeMap<&str, usize>,
    successors: &[Vec<usize>],
) -> Result<Vec<usize>, Vec<GraphError>> {
    let n = graph.steps.len();
    let mut errors = Vec::new();
    // Iterative DFS with colours; a grey successor closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let mut colour = vec![Colour::White; n];
    let mut post_order = Vec::with_capacity(n);
    let mut reported_cycles = BTreeSet::new();
    let start = index[START];
    let roots = std::iter::once(start).chain(0..n);
    for root in roots {
        if colour[root] != Colour::White {
            continue;
        }
        let mut path = vec![root];
        let mut cursor = vec![0usize];
        colour[root] = Colour::Grey;
        while let Some(&node) = path.last() {
            let i = *cursor.last().expect("cursor tracks path");
            if let Some(&next) = successors[node].get(i) {
                *cursor.last_mut().expect("cursor tracks path") += 1;
                match colour[next] {
                    Colour::White => {
                        colour[next] = Colour::Grey;
                        path.push(next);
                        cursor.push(0);
                    }
                    Colour::Grey => {
                        let from = path
                            .iter()
                            .position(|&p| p == next)
                            .expect("grey is on path");
                        let cycle: Vec<&str> = path[from..]
                            .iter()
                            .chain(std::iter::once(&next))
                            .map(|&p| graph.steps[p].name.as_str())
                            .collect();
                        if reported_cycles.insert(next) {
                            let step = &graph.steps[node].name;
                            errors.push(GraphError {
                                site: ErrorSite::Target {
                                    step: step.clone(),
                                    target: graph.steps[next].name.clone(),
                                },
                                message: format!(
                                    "step `{step}` loops back to `{}` ({}); flows are acyclic: \
                                     point `{step}` at a later step",
                                    graph.steps[next].name,
                                    cycle.join(" -> ")
                                ),
                            });
                        }
                    }
                    Colour::Black => {}
                }
            } else {
                colour[node] = Colour::Black;
                post_order.push(node);
                path.pop();
                cursor.pop();
            }
        }
        if root == start {
            // Everything not yet black after the walk from start is unreachable.
            for (i, step) in graph.steps.iter().enumerate() {
                if colour[i] == Colour::White {
                    let preds: Vec<&str> = graph
                        .steps
                        .iter()
                        .filter(|s| s.successors().contains(&step.name.as_str()))
                        .map(|s| s.name.as_str())
                        .collect();
                    let why = if preds.is_empty() {
                        "no step names it as a successor".to_string()
                    } else {
                        format!(
                            "only {} lead to it, and they are unreachable too",
                            list(&preds)
                        )
                    };
                    errors.push(GraphError::at_step(
                        &step.name,
                        format!(
                            "step `{}` is unreachable from `start`: {why}; name it in a transition \
                             (e.g. `next = {}`) or remove it",
                            step.name, step.name
                        ),
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        let reachable_order: Vec<usize> = post_order.into_iter().rev().collect();
        Ok(reachable_order)
    } else {
        Err(errors)
    }
}

/// A frame on the stack during the structure walk: splits, foreaches and switch choices.
/// A choice frame records which branches of its switch have merged so far; once all have,
/// the switch has converged and the frame is popped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Open {
    Split(Frame),
    Choice {
        switch: usize,
        branches: BTreeSet<usize>,
    },
}

type Stack = Vec<Open>;

fn structure_rules(
    graph: &FlowGraph,
    successors: &[Vec<usize>],
    order: Vec<usize>,
) -> Result<Analysis, Vec<GraphError>> {
    let n = graph.steps.len();
    let name = |i: usize| graph.steps[i].name.as_str();
    let mut predecessors = vec![Vec::new(); n];
    // What each predecessor hands to each successor: (predecessor, stack).
    let mut arriving: Vec<Vec<(usize, Stack)>> = vec![Vec::new(); n];
    let mut stacks: Vec<Stack> = vec![Vec::new(); n];
    let mut join_of = BTreeMap::new();
    let mut split_of = BTreeMap::new();
    let mut errors = Vec::new();

    for &v in &order {
        let step = &graph.steps[v];
        let mut arrived = std::mem::take(&mut arriving[v]);
        arrived.sort_by_key(|(pred, _)| *pred);
        let mut contributions = collapse_choices(graph, arrived);
        let stack = if step.join {
            for (_, stack) in &mut contributions {
                while matches!(stack.last(), Some(Open::Choice { .. })) {
                    stack.pop();
                }
            }
            let (closed, error) = close_split(graph, v, &contributions);
            if let Some(error) = error {
                errors.push(error);
            }
            match closed {
                Some((split, below)) => {
                    if let Some(previous) = join_of.insert(split, v) {
                        errors.push(GraphError::at_step(
                            name(v),
                            format!(
                                "`{}` is closed by two joins, `{}` and `{}`; route all of its branches \
                                 to one join",
                                name(split),
                                name(previous),
                                name(v)
                            ),
                        ));
                    }
                    split_of.insert(v, split);
                    below
                }
                None => Vec::new(),
            }
        } else if contributions.len() > 1 {
            errors.push(merge_without_join(graph, v, &contributions));
            // Carry on as if the step had been the join the message asks for, so that the
            // split is not reported again as never closed.
            let mut stack = contributions.swap_remove(0).1;
            if matches!(stack.last(), Some(Open::Split(_))) {
                stack.pop();
            }
            stack
        } else {
            contributions.pop().map(|(_, s)| s).unwrap_or_default()
        };
        if step.transition == Transition::End {
            if let Some(Open::Split(frame)) =
                stack.iter().rev().find(|o| matches!(o, Open::Split(_)))
            {
                errors.push(GraphError::at_step(
                    name(frame.step),
                    format!(
                        "{} `{}` is never closed: its branches reach `{}` without a join; add a step \
                         that takes `inputs: Inputs<Self>` after the branches",
                        kind_word(graph, frame.step),
                        name(frame.step),
                        name(v)
                    ),
                ));
            }
        }
        for (i, &succ) in successors[v].iter().enumerate() {
            let mut handed = stack.clone();
            match &step.transition {
                Transition::Split(_) => handed.push(Open::Split(Frame {
                    step: v,
                    kind: FrameKind::Branch(i),
                })),
                Transition::Foreach { .. } => handed.push(Open::Split(Frame {
                    step: v,
                    kind: FrameKind::Foreach,
                })),
                Transition::Switch(_) => handed.push(Open::Choice {
                    switch: v,
                    branches: BTreeSet::from([i]),
                }),
                Transition::Next(_) | Transition::End => {}
            }
            predecessors[succ].push(v);
            arriving[succ].push((v, handed));
        }
        stacks[v] = stack;
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    let frames = stacks
        .into_iter()
        .map(|stack| {
            stack
                .into_iter()
                .filter_map(|o| match o {
                    Open::Split(frame) => Some(frame),
                    Open::Choice { .. } => None,
                })
                .collect()
        })
        .collect();
    Ok(Analysis {
        topological_order: order,
        predecessors,
        frames,
        join_of,
        split_of,
    })
}

/// Merges contributions that differ only in which branches of one switch they came from;
/// when every branch of the switch has arrived, the switch has converged.
fn collapse_choices(
    graph: &FlowGraph,
    mut contributions: Vec<(usize, Stack)>,
) -> Vec<(usize, Stack)> {
    'again: loop {
        for a in 0..contributions.len() {
            for b in a + 1..contributions.len() {
                let (sa, sb) = (&contributions[a].1, &contributions[b].1);
                let (Some(Open::Choice { switch: wa, .. }), Some(Open::Choice { switch: wb, .. })) =
                    (sa.last(), sb.last())
                else {
                    continue;
                };
                if wa != wb || sa[..sa.len() - 1] != sb[..sb.len() - 1] {
                    continue;
                }
                let switch = *wa;
                let (_, removed) = contributions.remove(b);
                let stack = &mut contributions[a].1;
                if let (
                    Some(Open::Choice { branches, .. }),
                    Some(Open::Choice { branches: more, .. }),
                ) = (stack.last_mut(), removed.last())
                {
                    branches.extend(more.iter().copied());
                    let total = graph.steps[switch].successors().len();
                    if branches.len() == total {
                        stack.pop();
                    }
                }
                continue 'again;
            }
        }
        return contributions;
    }
}

fn kind_word(graph: &FlowGraph, step: usize) -> &'static str {
    match graph.steps[step].transition {
        Transition::Foreach { .. } => "foreach",
        _ => "split",
    }
}

/// The split a join closes and the stack below it, and why the join is malformed. A join
/// that misses branches still closes its split, so later steps are not blamed for it.
fn close_split(
    graph: &FlowGraph,
    join: usize,
    contributions: &[(usize, Stack)],
) -> (Option<(usize, Stack)>, Option<GraphError>) {
    match close_split_inner(graph, join, contributions) {
        Ok(closed) => (Some(closed), None),
        Err((closed, error)) => (closed, Some(error)),
    }
}

type Closed = (usize, Stack);

fn close_split_inner(
    graph: &FlowGraph,
    join: usize,
    contributions: &[(usize, Stack)],
) -> Result<Closed, (Option<Closed>, GraphError)> {
    let name = |i: usize| graph.steps[i].name.as_str();
    let j = name(join);
    let mut split: Option<(usize, usize)> = None; // (split step, contributing predecessor)
    let mut branches = BTreeSet::new();
    for (pred, stack) in contributions {
        let Some(Open::Split(frame)) = stack.last() else {
            return Err((None, GraphError::at_step(
                j,
                format!(
                    "step `{j}` takes `Inputs<Self>`, so it is a join, but `{}` leads to it from outside \
                     any split or foreach: the split it would close is missing. Add `next = [a, b]` or \
                     `foreach = <field>` before `{}`, or remove the `Inputs<Self>` parameter",
                    name(*pred),
                    name(*pred)
                ),
            )));
        };
        match split {
            Some((s, other)) if s != frame.step => {
                return Err((None, GraphError::at_step(
                    j,
                    format!(
                        "join `{j}` is reached from `{}` inside {} `{}` and from `{}` inside {} `{}`; \
                         each split or foreach needs its own join, innermost first",
                        name(other),
                        kind_word(graph, s),
                        name(s),
                        name(*pred),
                        kind_word(graph, frame.step),
                        name(frame.step)
                    ),
                )));
            }
            _ => split = Some((frame.step, *pred)),
        }
        branches.insert(frame.kind);
    }
    let (split, _) = split.expect("a reachable join has a predecessor");
    let below = contributions[0].1[..contributions[0].1.len() - 1].to_vec();
    if let Transition::Split(targets) = &graph.steps[split].transition {
        let missing: Vec<&str> = targets
            .iter()
            .enumerate()
            .filter(|(i, _)| !branches.contains(&FrameKind::Branch(*i)))
            .map(|(_, t)| t.as_str())
            .collect();
        if !missing.is_empty() {
            return Err((Some((split, below)), GraphError::at_step(
                j,
                format!(
                    "join `{j}` closes split `{}`, but its branch {} never reaches `{j}`; route {} to `{j}`",
                    name(split),
                    list(&missing),
                    if missing.len() == 1 { "it" } else { "them" }
                ),
            )));
        }
    }
    Ok((split, below))
}

fn merge_without_join(
    graph: &FlowGraph,
    step: usize,
    contributions: &[(usize, Stack)],
) -> GraphError {
    let name = |i: usize| graph.steps[i].name.as_str();
    let v = name(step);
    let preds: Vec<&str> = contributions.iter().map(|(p, _)| name(*p)).collect();
    let top_split = |s: &Stack| match s.last() {
        Some(Open::Split(f)) => Some(f.step),
        _ => None,
    };
    let first = top_split(&contributions[0].1);
    let same_split = first.is_some() && contributions.iter().all(|(_, s)| top_split(s) == first);
    let message = match first {
        Some(split) if same_split => format!(
            "step `{v}` is reached from {} of {} `{}`, so it would run once per branch: make `{v}` a \
             join by adding a parameter `inputs: Inputs<Self>`",
            list(&preds),
            kind_word(graph, split),
            name(split)
        ),
        _ => format!(
            "step `{v}` is reached from {} in different contexts (inside and outside a split or \
             foreach); only a join (a step taking `inputs: Inputs<Self>`) can merge branches, and only \
             the branches of one split",
            list(&preds)
        ),
    };
    GraphError::at_step(v, message)
}

#[cfg(test)]
mod tests;
