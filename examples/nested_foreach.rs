//! A foreach inside a foreach: a multiplication table, one task per cell.
//!
//! ```text
//! cargo run --example nested_foreach -- run --size 3
//! ```

use flow_core::prelude::*;

/// Parameters of [`GridFlow`].
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct GridParams {
    /// Rows and columns of the table.
    pub size: u32,
}

impl Default for GridParams {
    fn default() -> Self {
        GridParams { size: 3 }
    }
}

/// Builds a multiplication table cell by cell.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GridFlow {
    /// Row numbers.
    pub rows: Vec<u32>,
    /// This task's row.
    pub row: u32,
    /// Column numbers of a row.
    pub columns: Vec<u32>,
    /// One cell's value.
    pub cell: u32,
    /// One row's cells, in column order.
    pub row_cells: Vec<u32>,
    /// The whole table, row by row.
    pub table: Vec<Vec<u32>>,
}

#[flow(params = GridParams)]
impl GridFlow {
    /// Lists the rows.
    #[step(foreach = rows, next = row_start)]
    fn start(&mut self, ctx: &Ctx<GridParams>) {
        self.rows = (1..=ctx.params.size).collect();
    }

    /// One row: lists its columns.
    #[step(foreach = columns, next = cell)]
    fn row_start(&mut self, row: &u32, ctx: &Ctx<GridParams>) {
        self.row = *row;
        self.columns = (1..=ctx.params.size).collect();
    }

    /// One cell.
    #[step(next = row_join)]
    fn cell(&mut self, column: u32) {
        self.cell = self.row * column;
    }

    /// Joins the cells of one row; `row` carries over from before the inner foreach.
    #[step(next = table_join)]
    fn row_join(&mut self, cells: Inputs<Self>) {
        self.row_cells = cells.iter().map(|c| c.cell).collect();
    }

    /// Joins the rows.
    #[step(next = end)]
    fn table_join(&mut self, rows: Inputs<Self>) {
        self.table = rows.iter().map(|r| r.row_cells.clone()).collect();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<GridFlow>()
}
