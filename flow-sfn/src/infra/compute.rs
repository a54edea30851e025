//! Where a flow's Batch jobs run: the kind of managed compute environment the generated
//! infrastructure creates.

use std::fmt;

/// The kind of AWS Batch compute environment (`step-functions infra --compute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Compute {
    /// On-demand EC2 instances, chosen by Batch.
    #[default]
    Ec2,
    /// EC2 Spot instances, capacity-optimized: cheaper, reclaimable.
    Spot,
    /// Fargate: no instances to manage; each step's vCPU/memory must be a Fargate size.
    Fargate,
    /// Fargate Spot: Fargate capacity that AWS can reclaim.
    FargateSpot,
}

impl Compute {
    /// Every kind, in `--compute` order.
    pub const ALL: [Compute; 4] = [
        Compute::Ec2,
        Compute::Spot,
        Compute::Fargate,
        Compute::FargateSpot,
    ];

    /// The `ComputeResources.Type` of the Batch compute environment.
    pub fn batch_type(self) -> &'static str {
        match self {
            Compute::Ec2 => "EC2",
            Compute::Spot => "SPOT",
            Compute::Fargate => "FARGATE",
            Compute::FargateSpot => "FARGATE_SPOT",
        }
    }

    /// Whether jobs run on Fargate (an execution role, Fargate sizes, no instances).
    pub fn is_fargate(self) -> bool {
        matches!(self, Compute::Fargate | Compute::FargateSpot)
    }

    /// The `--compute` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Compute::Ec2 => "ec2",
            Compute::Spot => "spot",
            Compute::Fargate => "fargate",
            Compute::FargateSpot => "fargate-spot",
        }
    }
}

impl fmt::Display for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn flag_values_match_the_display_names() {
        for compute in Compute::ALL {
            let parsed = Compute::from_str(compute.as_str(), false).unwrap();
            assert_eq!(parsed, compute);
        }
        assert_eq!(Compute::default(), Compute::Ec2);
        assert!(Compute::FargateSpot.is_fargate() && !Compute::Spot.is_fargate());
    }
}
