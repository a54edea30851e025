//! Fargate sizes and job definition fields.
//!
//! A Fargate job runs in a task of one of a fixed set of vCPU/memory sizes, so a step's
//! `resources(cpu, memory)` must name one of them exactly; there are no GPUs. The table is
//! AWS Batch's `ResourceRequirement` documentation for Fargate (checked against the AWS
//! API model's text by `flow-sfn/tests/infra.rs`).

use flow_graph::StepSpec;
use serde_json::{json, Value};
use std::fmt;

/// A Fargate vCPU value, in quarters of a vCPU (Fargate's smallest size is 0.25 vCPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FargateVcpu(u32);

impl FargateVcpu {
    /// `quarters / 4` vCPUs.
    pub const fn from_quarters(quarters: u32) -> Self {
        FargateVcpu(quarters)
    }

    /// Whole vCPUs.
    pub const fn whole(vcpus: u32) -> Self {
        FargateVcpu(vcpus * 4)
    }

    /// The value in quarters of a vCPU.
    pub fn quarters(self) -> u32 {
        self.0
    }
}

impl fmt::Display for FargateVcpu {
    /// As Batch's `VCPU` resource requirement writes it: `0.25`, `0.5`, `1`, `16`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 % 4 {
            0 => write!(f, "{}", self.0 / 4),
            1 => write!(f, "{}.25", self.0 / 4),
            2 => write!(f, "{}.5", self.0 / 4),
            _ => write!(f, "{}.75", self.0 / 4),
        }
    }
}

/// The memory sizes (MiB) Fargate offers with one vCPU value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemoryChoices {
    /// Exactly these.
    List(&'static [u64]),
    /// From `from` to `to` inclusive, every `step`.
    Steps { from: u64, to: u64, step: u64 },
}

/// One row of the Fargate size table: a vCPU value and its memory sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FargateSize {
    vcpu: FargateVcpu,
    memory: MemoryChoices,
}

impl FargateSize {
    /// The vCPU value.
    pub fn vcpu(&self) -> FargateVcpu {
        self.vcpu
    }

    /// Every memory size (MiB) valid with this vCPU value, ascending.
    pub fn memory_mib(&self) -> Vec<u64> {
        match self.memory {
            MemoryChoices::List(values) => values.to_vec(),
            MemoryChoices::Steps { from, to, step } => (from..=to).step_by(step as usize).collect(),
        }
    }

    /// Whether `memory_mib` goes with this vCPU value.
    pub fn allows(&self, memory_mib: u64) -> bool {
        match self.memory {
            MemoryChoices::List(values) => values.contains(&memory_mib),
            MemoryChoices::Steps { from, to, step } => {
                (from..=to).contains(&memory_mib) && (memory_mib - from) % step == 0
            }
        }
    }
}

/// The vCPU/memory pairs a Fargate job can have (AWS Batch API reference,
/// `ResourceRequirement`, "jobs that are running on Fargate resources").
pub const FARGATE_SIZES: [FargateSize; 8] = [
    FargateSize {
        vcpu: FargateVcpu::from_quarters(1),
        memory: MemoryChoices::List(&[512, 1024, 2048]),
    },
    FargateSize {
        vcpu: FargateVcpu::from_quarters(2),
        memory: MemoryChoices::Steps {
            from: 1024,
            to: 4096,
            step: 1024,
        },
    },
    FargateSize {
        vcpu: FargateVcpu::whole(1),
        memory: MemoryChoices::Steps {
            from: 2048,
            to: 8192,
            step: 1024,
        },
    },
    FargateSize {
        vcpu: FargateVcpu::whole(2),
        memory: MemoryChoices::Steps {
            from: 4096,
            to: 16384,
            step: 1024,
        },
    },
    FargateSize {
        vcpu: FargateVcpu::whole(4),
        memory: MemoryChoices::Steps {
            from: 8192,
            to: 30720,
            step: 1024,
        },
    },
    FargateSize {
        vcpu: FargateVcpu::whole(8),
        memory: MemoryChoices::Steps {
            from: 16384,
            to: 61440,
            step: 4096,
        },
    },
    FargateSize {
        vcpu: FargateVcpu::whole(16),
        memory: MemoryChoices::Steps {
            from: 32768,
            to: 122880,
            step: 8192,
        },
    },
    FargateSize {
        vcpu: FargateVcpu::whole(32),
        memory: MemoryChoices::List(&[61440, 122880, 249856]),
    },
];

/// The table row of a vCPU value, if Fargate has it.
pub fn fargate_size(vcpu: FargateVcpu) -> Option<&'static FargateSize> {
    FARGATE_SIZES.iter().find(|size| size.vcpu == vcpu)
}

/// Why a step cannot run on Fargate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FargateError {
    /// Fargate has no GPUs.
    #[error(
        "step `{step}` asks for {gpus} GPU(s), but Fargate has no GPUs: run the flow with \
         `--compute ec2` or `--compute spot`, or give the step a queue of GPU instances with \
         `batch(queue = ..)`"
    )]
    Gpu {
        /// The step.
        step: String,
        /// The GPUs asked for.
        gpus: u32,
    },
    /// No Fargate size has this many vCPUs.
    #[error(
        "step `{step}` asks for {vcpus} vCPU(s), which is not a Fargate size; Fargate offers {valid} vCPUs"
    )]
    Vcpu {
        /// The step.
        step: String,
        /// The vCPUs asked for.
        vcpus: u32,
        /// The vCPU values Fargate offers, for the message.
        valid: String,
    },
    /// The memory does not go with the vCPUs.
    #[error(
        "step `{step}` asks for {vcpu} vCPU(s) with {memory_mib} MiB, which Fargate does not \
         offer: with {vcpu} vCPU(s) write `resources(memory = ..)` with one of {valid} (MiB)"
    )]
    Memory {
        /// The step.
        step: String,
        /// The vCPUs.
        vcpu: FargateVcpu,
        /// The memory asked for.
        memory_mib: u64,
        /// The memory sizes valid with these vCPUs, for the message.
        valid: String,
    },
}

/// A step's Fargate size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FargateResources {
    /// vCPUs.
    pub vcpu: FargateVcpu,
    /// Memory in MiB.
    pub memory_mib: u64,
}

impl FargateResources {
    /// The job definition's `resourceRequirements`.
    pub fn resource_requirements(&self) -> Value {
        json!([
            {"type": "VCPU", "value": self.vcpu.to_string()},
            {"type": "MEMORY", "value": self.memory_mib.to_string()},
        ])
    }
}

fn join_values<T: fmt::Display>(values: impl IntoIterator<Item = T>) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Fargate size of `step`, with the deployment's defaults for what it does not set, or
/// why it has none (a GPU, or a vCPU/memory pair Fargate does not offer).
pub fn fargate_resources(
    step: &StepSpec,
    default_cpu: u32,
    default_memory_mb: u64,
) -> Result<FargateResources, FargateError> {
    let resources = &step.options.resources;
    if let Some(gpus) = resources.gpu.filter(|&g| g > 0) {
        return Err(FargateError::Gpu {
            step: step.name.clone(),
            gpus,
        });
    }
    let vcpus = resources.cpu.unwrap_or(default_cpu);
    let memory_mib = resources.memory_mb.unwrap_or(default_memory_mb);
    let vcpu = FargateVcpu::whole(vcpus);
    let size = fargate_size(vcpu).ok_or_else(|| FargateError::Vcpu {
        step: step.name.clone(),
        vcpus,
        valid: join_values(FARGATE_SIZES.iter().map(FargateSize::vcpu)),
    })?;
    if !size.allows(memory_mib) {
        return Err(FargateError::Memory {
            step: step.name.clone(),
            vcpu,
            memory_mib,
            valid: join_values(size.memory_mib()),
        });
    }
    Ok(FargateResources { vcpu, memory_mib })
}

/// How a deployment's Fargate jobs are set up, besides their size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FargateJobSettings {
    /// The role ECS uses to pull the image and write the logs (`ExecutionRoleArn` output).
    pub execution_role_arn: String,
    /// Whether the task gets a public IP: needed in a public subnet without a NAT gateway,
    /// or the image cannot be pulled.
    pub assign_public_ip: bool,
    /// The Fargate platform version (`LATEST` when `None`).
    pub platform_version: Option<String>,
    /// The log group the jobs write to (the template's `LogGroup` output): the execution
    /// role the template makes may write there and nowhere else, so Batch's default group
    /// would be refused. `None` leaves Batch's default (`/aws/batch/job`).
    pub log_group: Option<String>,
}

/// The `RegisterJobDefinition` fields a Fargate job needs on top of a container job
/// definition: the platform, the execution role, the network, the platform version and
/// the log group.
pub fn job_definition_fields(settings: &FargateJobSettings) -> Value {
    let mut fields = json!({
        "platformCapabilities": ["FARGATE"],
        "containerProperties": {
            "executionRoleArn": settings.execution_role_arn,
            "networkConfiguration": {
                "assignPublicIp": if settings.assign_public_ip { "ENABLED" } else { "DISABLED" },
            },
            "fargatePlatformConfiguration": {
                "platformVersion": settings.platform_version.as_deref().unwrap_or("LATEST"),
            },
        },
    });
    if let Some(group) = &settings.log_group {
        fields["containerProperties"]["logConfiguration"] = json!({
            "logDriver": "awslogs",
            "options": {"awslogs-group": group},
        });
    }
    fields
}

/// Turns a compiled container job definition (`RegisterJobDefinition` request) into a
/// Fargate one: adds [`job_definition_fields`] and sets the step's Fargate size.
pub fn apply_to_job_definition(
    definition: &mut Value,
    resources: &FargateResources,
    settings: &FargateJobSettings,
) {
    let Value::Object(fields) = job_definition_fields(settings) else {
        unreachable!("job_definition_fields is an object")
    };
    for (key, value) in fields {
        match (definition.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(added)) => existing.extend(added),
            (_, value) => definition[key.as_str()] = value,
        }
    }
    definition["containerProperties"]["resourceRequirements"] = resources.resource_requirements();
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_graph::{Resources, StepOptions, Transition};

    fn step(cpu: Option<u32>, memory_mb: Option<u64>, gpu: Option<u32>) -> StepSpec {
        let mut step = StepSpec::new("train", Transition::Next("end".into()));
        step.options = StepOptions {
            resources: Resources {
                cpu,
                memory_mb,
                gpu,
            },
            ..StepOptions::default()
        };
        step
    }

    #[test]
    fn vcpus_display_as_batch_writes_them() {
        let shown: Vec<String> = FARGATE_SIZES.iter().map(|s| s.vcpu().to_string()).collect();
        assert_eq!(shown, ["0.25", "0.5", "1", "2", "4", "8", "16", "32"]);
    }

    #[test]
    fn the_table_rows_hold_the_documented_memory_sizes() {
        let memory = |quarters| fargate_size(FargateVcpu::from_quarters(quarters)).unwrap();
        assert_eq!(memory(1).memory_mib(), [512, 1024, 2048]);
        assert_eq!(memory(2).memory_mib(), [1024, 2048, 3072, 4096]);
        assert_eq!(memory(4).memory_mib().len(), 7);
        assert_eq!(memory(8).memory_mib().len(), 13);
        assert_eq!(memory(16).memory_mib().len(), 23);
        assert_eq!(memory(32).memory_mib().first(), Some(&16384));
        assert_eq!(memory(32).memory_mib().last(), Some(&61440));
        assert_eq!(memory(64).memory_mib().len(), 12);
        for size in FARGATE_SIZES {
            for mib in size.memory_mib() {
                assert!(size.allows(mib));
            }
            assert!(!size.allows(size.memory_mib()[0] + 1));
        }
    }

    #[test]
    fn a_valid_pair_is_returned_and_defaults_fill_what_the_step_leaves_out() {
        let resources = fargate_resources(&step(Some(2), Some(4096), None), 1, 2048).unwrap();
        assert_eq!(resources.vcpu, FargateVcpu::whole(2));
        assert_eq!(resources.memory_mib, 4096);
        let defaults = fargate_resources(&step(None, None, None), 1, 2048).unwrap();
        assert_eq!(
            defaults.resource_requirements(),
            json!([{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}])
        );
    }

    #[test]
    fn an_invalid_pair_names_the_step_and_lists_the_valid_memory() {
        let error = fargate_resources(&step(Some(1), Some(512), None), 1, 4096).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step `train` asks for 1 vCPU(s) with 512 MiB, which Fargate does not offer: with 1 \
             vCPU(s) write `resources(memory = ..)` with one of 2048, 3072, 4096, 5120, 6144, \
             7168, 8192 (MiB)"
        );
        let error = fargate_resources(&step(Some(3), None, None), 1, 4096).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step `train` asks for 3 vCPU(s), which is not a Fargate size; Fargate offers 0.25, \
             0.5, 1, 2, 4, 8, 16, 32 vCPUs"
        );
    }

    #[test]
    fn a_gpu_is_refused() {
        let error = fargate_resources(&step(Some(8), Some(61440), Some(1)), 1, 4096).unwrap_err();
        assert!(
            matches!(error, FargateError::Gpu { gpus: 1, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("step `train`"), "{error}");
    }

    #[test]
    fn the_fields_turn_a_container_definition_into_a_fargate_one() {
        let mut definition = json!({
            "jobDefinitionName": "Flow-0123abcd",
            "type": "container",
            "containerProperties": {
                "image": "image:1",
                "command": ["flow", "step"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}],
            },
        });
        let settings = FargateJobSettings {
            execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
            assign_public_ip: true,
            platform_version: None,
            log_group: Some("flowrs-jobs".into()),
        };
        let resources = FargateResources {
            vcpu: FargateVcpu::from_quarters(2),
            memory_mib: 1024,
        };
        apply_to_job_definition(&mut definition, &resources, &settings);
        assert_eq!(definition["platformCapabilities"], json!(["FARGATE"]));
        let container = &definition["containerProperties"];
        assert_eq!(container["image"], "image:1");
        assert_eq!(container["command"], json!(["flow", "step"]));
        assert_eq!(container["executionRoleArn"], settings.execution_role_arn);
        assert_eq!(
            container["networkConfiguration"],
            json!({"assignPublicIp": "ENABLED"})
        );
        assert_eq!(
            container["fargatePlatformConfiguration"],
            json!({"platformVersion": "LATEST"})
        );
        assert_eq!(
            container["logConfiguration"],
            json!({"logDriver": "awslogs", "options": {"awslogs-group": "flowrs-jobs"}})
        );
        assert_eq!(
            container["resourceRequirements"],
            json!([{"type": "VCPU", "value": "0.5"}, {"type": "MEMORY", "value": "1024"}])
        );
    }

    #[test]
    fn without_a_log_group_batch_keeps_its_default() {
        let fields = job_definition_fields(&FargateJobSettings {
            execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
            assign_public_ip: false,
            platform_version: Some("1.4.0".into()),
            log_group: None,
        });
        let container = &fields["containerProperties"];
        assert!(container.get("logConfiguration").is_none(), "{fields}");
        assert_eq!(
            container["networkConfiguration"],
            json!({"assignPublicIp": "DISABLED"})
        );
        assert_eq!(
            container["fargatePlatformConfiguration"],
            json!({"platformVersion": "1.4.0"})
        );
    }
}
