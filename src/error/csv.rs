//! What can be wrong with a CSV file, and where: the details of [`Error::Csv`](crate::error::Error::Csv).

use std::fmt;

/// A column of a CSV file: by its header name, by its 0-based index, or the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// The column whose header cell is this name.
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
    /// The last column.
    Last,
}

impl From<&str> for Column {
    fn from(name: &str) -> Self {
        Column::Name(name.to_string())
    }
}

impl From<String> for Column {
    fn from(name: String) -> Self {
        Column::Name(name)
    }
}

impl From<usize> for Column {
    fn from(index: usize) -> Self {
        Column::Index(index)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Name(name) => write!(f, "`{name}`"),
            // 1-based, in a type wide enough for usize::MAX + 1.
            Column::Index(i) => write!(f, "{}", *i as u128 + 1),
            Column::Last => f.write_str("the last column"),
        }
    }
}

/// What is wrong with a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsvProblem {
    /// The file holds no data rows (maybe a header only).
    Empty,
    /// A row with another number of fields than the first.
    FieldCount {
        /// Fields of the first row (the header, if there is one).
        expected: usize,
        /// Fields of this row.
        found: usize,
    },
    /// A feature or regression-target cell that is not a number.
    NotANumber {
        /// The cell's text.
        text: String,
    },
    /// A cell that is NaN or infinite.
    NonFinite {
        /// The cell's text.
        text: String,
    },
    /// The file holds another number of feature columns than the network takes.
    FeatureCount {
        /// The network's input size `I`.
        expected: usize,
        /// Feature columns in the file (all but the target and the ignored ones).
        found: usize,
    },
    /// The target or an ignored column is not in the file.
    NoSuchColumn {
        /// The column asked for.
        column: Column,
        /// The file's header names (empty without a header).
        available: Vec<String>,
    },
    /// A column was named, but the file is read without a header.
    NoHeader {
        /// The name asked for.
        name: String,
    },
    /// A class label not among those given to [`Csv::class_names`](crate::data::Csv::class_names).
    UnknownClass {
        /// The label found.
        label: String,
        /// The labels given.
        known: Vec<String>,
    },
    /// A class cell that is empty.
    EmptyClass,
    /// The rows take more memory than the limit (or than there is).
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// More distinct class labels than the limit, or a whole-number label at or above it.
    TooManyClasses {
        /// The limit.
        limit: usize,
    },
    /// A dataset with targets was asked of a reader made without a target column
    /// ([`Csv::no_target`](crate::data::Csv::no_target) is for rows to predict).
    NoTarget,
    /// One row was asked for ([`Csv::parse_row`](crate::data::Csv::parse_row)), and the
    /// text holds another number.
    NotOneRow {
        /// The rows found.
        found: usize,
    },
    /// Not readable as CSV (e.g. not UTF-8).
    Malformed {
        /// What the CSV reader said.
        message: String,
    },
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvProblem::Empty => f.write_str("no data rows"),
            CsvProblem::NoTarget => f.write_str(
                "no target column: this reader reads rows to predict (Csv::no_target); \
                 name the target with Csv::target for a training set",
            ),
            CsvProblem::NotOneRow { found } => write!(f, "{found} rows, but one row was asked for"),
            CsvProblem::FieldCount { expected, found } => {
                write!(f, "{found} fields, but the first row has {expected}")
            }
            CsvProblem::NotANumber { text } => write!(f, "{text:?} is not a number"),
            CsvProblem::NonFinite { text } => {
                write!(f, "{text:?} is not a finite number")
            }
            CsvProblem::FeatureCount { expected, found } => write!(
                f,
                "the file has {found} feature columns, but the network takes {expected}"
            ),
            CsvProblem::NoSuchColumn { column, available } => {
                write!(f, "no column {column}")?;
                if available.is_empty() {
                    Ok(())
                } else if available.len() <= 20 {
                    write!(f, "; the columns are {}", available.join(", "))
                } else {
                    // A file of a million columns makes no million-name message.
                    let (shown, more) = (&available[..20], available.len() - 20);
                    write!(f, "; the columns are {} and {more} more", shown.join(", "))
                }
            }
            CsvProblem::NoHeader { name } => write!(
                f,
                "column `{name}` is named, but the file is read without a header \
                 (choose the column by index, or read the header)"
            ),
            CsvProblem::UnknownClass { label, known } => write!(
                f,
                "class label {label:?} is not one of {}",
                known.join(", ")
            ),
            CsvProblem::EmptyClass => f.write_str("the class label is empty"),
            CsvProblem::TooLarge { limit } => write!(
                f,
                "the rows up to here take more than the limit of {limit} bytes in memory (or \
                 than there is)"
            ),
            CsvProblem::TooManyClasses { limit } => write!(
                f,
                "more than {limit} classes (whole-number labels are the classes themselves, so \
                 a label must be below {limit})"
            ),
            CsvProblem::Malformed { message } => write!(f, "not readable as CSV: {message}"),
        }
    }
}

impl std::error::Error for CsvProblem {}

/// Where in a CSV file a problem is: the line (1-based, as an editor shows it) and the column
/// (1-based, with its header name if the file has a header).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvPlace {
    /// Line, from 1 (the header is line 1 when there is one).
    pub line: Option<u64>,
    /// Column, from 1.
    pub column: Option<usize>,
    /// The column's header name.
    pub name: Option<String>,
}

impl fmt::Display for CsvPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(line) = self.line {
            write!(f, "line {line}")?;
            sep = ", ";
        }
        if let Some(column) = self.column {
            write!(f, "{sep}column {column}")?;
            if let Some(name) = &self.name {
                write!(f, " ({name})")?;
            }
        }
        Ok(())
    }
}

/// Where the error's file is, for [`Error::Csv`](crate::Error::Csv)'s display.
pub(crate) fn describe(place: &CsvPlace, problem: &CsvProblem) -> String {
    let place = place.to_string();
    if place.is_empty() {
        problem.to_string()
    } else {
        format!("{place}: {problem}")
    }
}
