//! The table of runs that `runs` (and `flow-sfn`'s `step-functions list-runs`) print: one
//! row a run, columns aligned; each backend picks its own columns.

use std::fmt;

/// Which side of its column a cell sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// A column of a [`RunsTable`]: its header, alignment and least width.
#[derive(Debug, Clone)]
pub struct Column {
    header: String,
    align: Align,
    min_width: usize,
}

impl Column {
    /// A left-aligned column (ids, statuses, times).
    pub fn left(header: impl Into<String>) -> Self {
        Self::new(header, Align::Left)
    }

    /// A right-aligned column (numbers).
    pub fn right(header: impl Into<String>) -> Self {
        Self::new(header, Align::Right)
    }

    fn new(header: impl Into<String>, align: Align) -> Self {
        Column {
            header: header.into(),
            align,
            min_width: 0,
        }
    }

    /// At least this wide, so values of a known width line up across listings.
    pub fn min_width(mut self, width: usize) -> Self {
        self.min_width = width;
        self
    }
}

/// Runs as an aligned text table with a header line; `Display` renders it.
#[derive(Debug, Clone)]
pub struct RunsTable {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl RunsTable {
    /// An empty table with these columns.
    pub fn new(columns: impl IntoIterator<Item = Column>) -> Self {
        RunsTable {
            columns: columns.into_iter().collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a run: one cell per column, in the columns' order.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let row: Vec<String> = cells.into_iter().map(Into::into).collect();
        debug_assert_eq!(row.len(), self.columns.len(), "one cell per column");
        self.rows.push(row);
    }

    /// Whether no run was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn widths(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(i))
                    .map(|cell| cell.chars().count())
                    .chain([column.header.chars().count(), column.min_width])
                    .max()
                    .unwrap_or_default()
            })
            .collect()
    }

    fn write_line<'a>(
        &self,
        f: &mut fmt::Formatter<'_>,
        widths: &[usize],
        cells: impl Iterator<Item = &'a str>,
    ) -> fmt::Result {
        let mut line = String::new();
        for ((column, width), cell) in self.columns.iter().zip(widths).zip(cells) {
            if !line.is_empty() {
                line.push_str("  ");
            }
            let width = *width;
            match column.align {
                Align::Left => line.push_str(&format!("{cell:<width$}")),
                Align::Right => line.push_str(&format!("{cell:>width$}")),
            }
        }
        // The last column is padded like the others; its padding is not worth printing.
        writeln!(f, "{}", line.trim_end())
    }
}

impl fmt::Display for RunsTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths = self.widths();
        self.write_line(f, &widths, self.columns.iter().map(|c| c.header.as_str()))?;
        for row in &self.rows {
            self.write_line(f, &widths, row.iter().map(String::as_str))?;
        }
        Ok(())
    }
}

/// The TAGS cell of a run: its tags other than the system tags, `key=value` joined by `,`.
pub fn tags_cell(tags: &flow_core::tags::Tags) -> String {
    tags.iter()
        .filter(|(key, _)| !flow_core::tags::SYSTEM_TAG_KEYS.contains(&key.as_str()))
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The STARTED_BY cell of a run: its `user` and `host` system tags as `user@host`.
pub fn started_by_cell(tags: &flow_core::tags::Tags) -> String {
    let get = |key| tags.get(key).map(String::as_str).unwrap_or_default();
    match (
        get(flow_core::tags::USER_TAG),
        get(flow_core::tags::HOST_TAG),
    ) {
        ("", "") => String::new(),
        (user, "") => user.to_string(),
        (user, host) => format!("{user}@{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tags_cell_leaves_system_tags_to_the_started_by_cell() {
        let mut tags = flow_core::tags::Tags::new();
        tags.insert("team".into(), "recs".into());
        tags.insert("stage".into(), "dev".into());
        tags.insert("user".into(), "alice".into());
        tags.insert("host".into(), "box".into());
        tags.insert("flowrs_version".into(), "0.1.0".into());
        assert_eq!(tags_cell(&tags), "stage=dev,team=recs");
        assert_eq!(started_by_cell(&tags), "alice@box");
        tags.remove("host");
        assert_eq!(started_by_cell(&tags), "alice");
        assert_eq!(started_by_cell(&Default::default()), "");
    }

    #[test]
    fn columns_fit_the_widest_cell_and_keep_their_alignment() {
        let mut table = RunsTable::new([
            Column::left("RUN_ID"),
            Column::left("STATUS").min_width(9),
            Column::right("SECONDS").min_width(10),
            Column::left("ORIGIN"),
        ]);
        table.row(["20260101-a", "succeeded", "1.50", ""]);
        table.row(["20260101-bcd", "failed", "12.25", "20260101-a"]);
        assert_eq!(
            table.to_string(),
            "RUN_ID        STATUS        SECONDS  ORIGIN\n\
             20260101-a    succeeded        1.50\n\
             20260101-bcd  failed          12.25  20260101-a\n"
        );
    }

    #[test]
    fn an_empty_table_is_its_header() {
        let table = RunsTable::new([Column::left("RUN_ID"), Column::left("STATUS")]);
        assert!(table.is_empty());
        assert_eq!(table.to_string(), "RUN_ID  STATUS\n");
    }
}
