//! A static split: two branches run in parallel and a join picks the better one.
//!
//! ```text
//! cargo run --example split_join -- run
//! ```

use flow_core::prelude::*;

/// Trains two models side by side and keeps the better.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SplitJoinFlow {
    /// Training data, set before the split; both branches see it.
    pub data: Vec<f64>,
    /// Which model a branch trained.
    pub model: String,
    /// A branch's score.
    pub score: f64,
    /// The winning model, chosen in the join.
    pub best_model: String,
    /// The winning score.
    pub best_score: f64,
}

#[flow]
impl SplitJoinFlow {
    /// Prepares the data both branches use.
    #[step(next = [train_mean, train_max])]
    fn start(&mut self) {
        self.data = vec![1.0, 4.0, 2.0, 8.0, 5.0];
    }

    /// Scores the mean.
    #[step(next = choose)]
    fn train_mean(&mut self) {
        self.model = "mean".into();
        self.score = self.data.iter().sum::<f64>() / self.data.len() as f64;
    }

    /// Scores the maximum.
    #[step(next = choose)]
    fn train_max(&mut self) {
        self.model = "max".into();
        self.score = self.data.iter().cloned().fold(f64::MIN, f64::max);
    }

    /// Keeps the better branch; `data` carries over from before the split.
    #[step(next = end)]
    fn choose(&mut self, inputs: Inputs<Self>) -> Result<(), String> {
        let best = inputs
            .iter()
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .ok_or("no branch arrived")?;
        self.best_model = best.model.clone();
        self.best_score = best.score;
        // `data` agrees in every branch; `model` and `score` differ and are excluded.
        inputs
            .merge_artifacts(self, &["model", "score", "best_model", "best_score"])
            .map_err(|e| e.to_string())
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<SplitJoinFlow>()
}
