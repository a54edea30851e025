//! Generated infrastructure: the CloudFormation template of everything a flow needs on AWS
//! besides its image ([`template`](mod@template)), the least-privilege IAM policies of each principal
//! ([`policy`], one table of every call), the kinds of Batch compute ([`compute`]) and
//! Fargate's sizes and job definition fields ([`fargate`]), and the YAML they can be
//! printed as ([`yaml`]).
//!
//! Like the compiler, this is pure: no AWS call, the same output for the same flow and
//! settings, so templates and policies can be printed, linted and reviewed offline.
//!
//! ```
//! use flow_graph::{FlowGraph, StepSpec, Transition};
//! use flow_sfn::infra::{template, Compute, InfraSettings};
//!
//! let graph = FlowGraph::new("HelloFlow", vec![
//!     StepSpec::new("start", Transition::Next("end".into())),
//!     StepSpec::new("end", Transition::End),
//! ]);
//! let template = template(&graph, &InfraSettings::new("HelloFlow", Compute::Fargate)).unwrap();
//! assert_eq!(
//!     template["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]["Type"],
//!     "FARGATE"
//! );
//! assert!(template["Outputs"]["ExecutionRoleArn"].is_object());
//! ```

pub mod compute;
pub mod fargate;
pub mod policy;
pub mod template;
pub mod yaml;

pub use compute::Compute;
pub use policy::{policy_document, Bindings, Permission, PolicyScope, Principal, PERMISSIONS};
pub use template::{template, InfraError, InfraSettings, TemplateFormat};
