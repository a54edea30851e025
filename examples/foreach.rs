//! A foreach: one task per title, each receiving its item typed, then a join.
//!
//! ```text
//! cargo run --example foreach -- run --count 5
//! ```

use flow_core::prelude::*;

/// Parameters of [`MovieFlow`].
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct MovieParams {
    /// How many titles to measure.
    pub count: usize,
}

impl Default for MovieParams {
    fn default() -> Self {
        MovieParams { count: 4 }
    }
}

const CATALOGUE: [&str; 8] = [
    "Alien",
    "Brazil",
    "Casablanca",
    "Dune",
    "Eraserhead",
    "Fargo",
    "Gattaca",
    "Heat",
];

/// Measures title lengths in parallel.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MovieFlow {
    /// The titles, set in `start` and fanned out over.
    pub titles: Vec<String>,
    /// The title one `measure` task got.
    pub title: String,
    /// Its length.
    pub length: usize,
    /// All lengths, in title order, merged in `join`.
    pub lengths: Vec<usize>,
}

#[flow(params = MovieParams)]
impl MovieFlow {
    /// Picks the titles.
    #[step(foreach = titles, next = measure)]
    fn start(&mut self, ctx: &Ctx<MovieParams>) {
        self.titles = (0..ctx.params.count)
            .map(|i| CATALOGUE[i % CATALOGUE.len()].to_string())
            .collect();
    }

    /// Measures one title (an async step).
    #[step(next = join)]
    async fn measure(&mut self, title: &str) -> Result<(), std::io::Error> {
        tokio::task::yield_now().await;
        self.title = title.to_string();
        self.length = title.chars().count();
        Ok(())
    }

    /// Collects the lengths in item order.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.lengths = inputs.iter().map(|m| m.length).collect();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<MovieFlow>()
}
