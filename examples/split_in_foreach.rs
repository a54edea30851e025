//! A split inside a foreach, and a foreach inside a split branch.
//!
//! ```text
//! cargo run --example split_in_foreach -- run
//! ```

use flow_core::prelude::*;

/// For each word: its length in one branch, and its letters one task each in the other.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WordsFlow {
    /// The words fanned out over.
    pub words: Vec<String>,
    /// This task's word.
    pub word: String,
    /// Branch `length`: the word's length.
    pub length: usize,
    /// Branch `letters`: the word's letters, fanned out over.
    pub letters: Vec<char>,
    /// One letter's code point.
    pub code: u32,
    /// Sum of the codes of one word.
    pub code_sum: u32,
    /// One word's summary, made in `word_join`.
    pub summary: String,
    /// All summaries in word order.
    pub summaries: Vec<String>,
}

#[flow]
impl WordsFlow {
    /// Lists the words.
    #[step(foreach = words, next = word_start)]
    fn start(&mut self) {
        self.words = vec!["flow".into(), "rust".into(), "map".into()];
    }

    /// One word: splits into two branches.
    #[step(next = [length, letters])]
    fn word_start(&mut self, word: &str) {
        self.word = word.to_string();
    }

    /// Branch 1: the length.
    #[step(next = word_join)]
    fn length(&mut self) {
        self.length = self.word.len();
    }

    /// Branch 2: a foreach over the letters.
    #[step(foreach = letters, next = letter)]
    fn letters(&mut self) {
        self.letters = self.word.chars().collect();
    }

    /// One letter.
    #[step(next = letters_join)]
    fn letter(&mut self, letter: &char) {
        self.code = u32::from(*letter);
    }

    /// Joins the letters of one word.
    #[step(next = word_join)]
    fn letters_join(&mut self, letters: Inputs<Self>) {
        self.code_sum = letters.iter().map(|l| l.code).sum();
    }

    /// Joins the two branches of one word.
    #[step(next = join)]
    fn word_join(&mut self, branches: Inputs<Self>) -> Result<(), String> {
        let length = branches
            .from_step("length")
            .ok_or("length branch missing")?
            .length;
        let sum = branches
            .from_step("letters_join")
            .ok_or("letters branch missing")?
            .code_sum;
        self.summary = format!("{}:{length}:{sum}", self.word);
        Ok(())
    }

    /// Joins the words.
    #[step(next = end)]
    fn join(&mut self, words: Inputs<Self>) {
        self.summaries = words.iter().map(|w| w.summary.clone()).collect();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<WordsFlow>()
}
