//! Reading a CSV file into a [`Dataset`] whose feature count is the program's.
//!
//! The file is checked against the static shape: every row must have the header's number of
//! fields, every feature cell must be a finite number, and the file must hold exactly `I`
//! feature columns. Every problem is an [`Error::Csv`] naming the file, the line (1-based, as
//! an editor shows it) and the column (1-based, with its header name).
//!
//! # Example
//! ```
//! use constnet::data::Csv;
//!
//! let text = "sepal_length,sepal_width,petal_length,petal_width,species\n\
//!             5.1,3.5,1.4,0.2,setosa\n\
//!             7.0,3.2,4.7,1.4,versicolor\n";
//! let iris = Csv::new().target("species").parse_classes::<f32, 4>(text.as_bytes(), "iris.csv")?;
//! assert_eq!(iris.classes, ["setosa", "versicolor"]);
//! assert_eq!(iris.data.targets(), [0, 1]);
//!
//! // A program built for 3 features is told the file has 4.
//! let err = Csv::new().target("species").parse_classes::<f32, 3>(text.as_bytes(), "iris.csv");
//! assert!(err.unwrap_err().to_string().contains("4 feature columns, but the network takes 3"));
//! # Ok::<(), constnet::Error>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use nalgebra::SVector;

pub use crate::error::csv::{Column, CsvPlace, CsvProblem};
use crate::io::fs::read_regular_file;
use crate::{base::linalg::Batch, base::scalar::Scalar, data::Dataset, error::Error};

/// The largest CSV file [`Csv::read_classes`] and [`Csv::read_values`] read by default (1 GiB);
/// see [`Csv::limit`].
pub const DEFAULT_CSV_LIMIT: u64 = 1 << 30;

/// A classification dataset read from CSV, with the name of every class.
#[derive(Debug, Clone)]
pub struct CsvClasses<T: Scalar, const I: usize> {
    /// Features and class labels `0..classes.len()`.
    pub data: Dataset<T, I, usize>,
    /// The label text of each class: class `k` was written `classes[k]` in the file.
    pub classes: Vec<String>,
    /// The header names of the feature columns, in order (`column 1`, … without a header).
    pub features: Vec<String>,
}

/// Rows to predict, read from CSV without a target column ([`Csv::no_target`]).
#[derive(Debug, Clone)]
pub struct CsvRows<T: Scalar, const I: usize> {
    /// One column per row of the file, in its order.
    pub inputs: Batch<T, I>,
    /// The header names of the feature columns, in order (`column 1`, … without a header).
    pub features: Vec<String>,
}

/// A regression dataset read from CSV.
#[derive(Debug, Clone)]
pub struct CsvValues<T: Scalar, const I: usize> {
    /// Features and the target value of each sample.
    pub data: Dataset<T, I, SVector<T, 1>>,
    /// The header names of the feature columns, in order.
    pub features: Vec<String>,
}

/// How to read a CSV file: header, delimiter, which column is the target, which to ignore.
///
/// Defaults: a header row, comma-separated, the last column is the target. Class labels:
/// - when every label is a whole number `≥ 0`, compared as numbers (`1` and `1.0` are one
///   class), the label is the class itself (`0, 1, 2`; gaps allowed), and a label at or above
///   the class limit is an error naming its cell;
/// - when every label is a number, the classes are the distinct values in increasing order;
/// - otherwise they are mapped to `0..k` in sorted order of their text
///   (`setosa < versicolor < virginica`), or in the order given to [`Csv::class_names`].
///
/// An empty class cell, or a label that is NaN or infinite, is an error naming its line and
/// column.
#[derive(Debug, Clone)]
pub struct Csv {
    header: bool,
    delimiter: u8,
    /// `None` for rows without a target (inference).
    target: Option<Column>,
    ignore: Vec<Column>,
    class_names: Option<Vec<String>>,
    limit: u64,
    max_classes: usize,
}

impl Default for Csv {
    fn default() -> Self {
        Csv {
            header: true,
            delimiter: b',',
            target: Some(Column::Last),
            ignore: Vec::new(),
            class_names: None,
            limit: DEFAULT_CSV_LIMIT,
            max_classes: 1 << 16,
        }
    }
}

/// One parsed file, before it is turned into a dataset.
struct Table {
    /// Header names, or `column k`.
    names: Vec<String>,
    has_header: bool,
    /// `None` when reading rows without a target.
    target: Option<usize>,
    features: Vec<usize>,
    /// The data rows.
    rows: Rows,
}

/// Data rows kept compactly: the text of every cell in one buffer, where each cell ends, and
/// each row's line. About the file's size plus 4 bytes a cell and 8 a row (one record per
/// row took some 55 times the file).
#[derive(Default)]
struct Rows {
    text: String,
    ends: Vec<u32>,
    lines: Vec<u64>,
    width: usize,
}

impl Rows {
    fn len(&self) -> usize {
        self.lines.len()
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The bytes they take.
    fn bytes(&self) -> usize {
        self.text.capacity() + 4 * self.ends.capacity() + 8 * self.lines.capacity()
    }

    /// Adds a row of `width` cells; `false` where the memory is not there or the text passes
    /// 4 GiB (the cell ends are `u32`).
    fn push(&mut self, line: u64, record: &csv::StringRecord) -> bool {
        let text: usize = record.iter().map(str::len).sum();
        let fits = self.text.len() + text <= u32::MAX as usize
            && self.text.try_reserve(text).is_ok()
            && self.ends.try_reserve(record.len()).is_ok()
            && self.lines.try_reserve(1).is_ok();
        if !fits {
            return false;
        }
        for cell in record {
            self.text.push_str(cell);
            self.ends.push(self.text.len() as u32);
        }
        self.lines.push(line);
        true
    }

    /// Row `i`'s line.
    fn line(&self, i: usize) -> u64 {
        self.lines[i]
    }

    /// Row `i`, cell `column`.
    fn cell(&self, i: usize, column: usize) -> &str {
        let k = i * self.width + column;
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }
}

impl Csv {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the first row is a header (default `true`).
    pub fn has_header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The field delimiter (default `b','`; `b';'` and `b'\t'` are common).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The target column: a header name (`"species"`), a 0-based index, or [`Column::Last`]
    /// (the default).
    pub fn target(mut self, column: impl Into<Column>) -> Self {
        self.target = Some(column.into());
        self
    }

    /// No target column: every column that is not ignored is a feature. For rows to predict
    /// ([`Csv::parse_rows`], [`Csv::read_rows`], [`Csv::parse_row`]), read with the same
    /// checks and errors as a training set.
    ///
    /// # Example
    /// ```
    /// use constnet::data::Csv;
    /// let reader = Csv::new().no_target();
    /// let x = reader.parse_row::<f32, 4>("5.1, 3.5, 1.4, 0.2")?;
    /// assert_eq!(x[2], 1.4);
    /// let err = reader.parse_row::<f32, 4>("5.1,3.5,oops,0.2").unwrap_err();
    /// assert!(err.to_string().contains("\"oops\" is not a number"), "{err}");
    /// let rows = Csv::new().no_target().parse_rows::<f32, 2>(b"a,b\n1,2\n3,4\n", "new.csv")?;
    /// assert_eq!((rows.inputs.ncols(), rows.features.len()), (2, 2));
    /// # Ok::<(), constnet::Error>(())
    /// ```
    pub fn no_target(mut self) -> Self {
        self.target = None;
        self
    }

    /// A column that is neither feature nor target (an id, a date); may be given repeatedly.
    pub fn ignore(mut self, column: impl Into<Column>) -> Self {
        self.ignore.push(column.into());
        self
    }

    /// The class labels in the order of their numbers: a label `names[k]` becomes class `k`,
    /// and any other label is an error. Use it to read a second file (a test set, new data)
    /// with the numbering of the first.
    pub fn class_names<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.class_names = Some(names.iter().map(|s| s.as_ref().to_string()).collect());
        self
    }

    /// The largest file read, in bytes (default [`DEFAULT_CSV_LIMIT`]); also the most memory
    /// the parsed rows may take (about the file's size plus 4 bytes a cell and 8 a row), so a
    /// file of many tiny rows is refused with [`CsvProblem::TooLarge`] before it exhausts memory.
    /// Every buffer is allocated fallibly.
    pub fn limit(mut self, bytes: u64) -> Self {
        self.limit = bytes;
        self
    }

    /// Reads a classification dataset from `path`; see [`Csv::parse_classes`].
    ///
    /// # Errors
    /// As [`Csv::parse_classes`], and [`Error::Io`], [`Error::NotARegularFile`],
    /// [`Error::FileTooLarge`] for the file itself.
    pub fn read_classes<T: Scalar, const I: usize>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<CsvClasses<T, I>, Error> {
        self.read_with(path.as_ref(), |csv, bytes, path| {
            csv.parse_classes(bytes, path)
        })
    }

    /// Reads a regression dataset (one target value per row) from `path`; see
    /// [`Csv::parse_values`].
    ///
    /// # Errors
    /// As [`Csv::parse_values`], and [`Error::Io`], [`Error::NotARegularFile`],
    /// [`Error::FileTooLarge`] for the file itself.
    pub fn read_values<T: Scalar, const I: usize>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<CsvValues<T, I>, Error> {
        self.read_with(path.as_ref(), |csv, bytes, path| {
            csv.parse_values(bytes, path)
        })
    }

    /// Reads rows to predict from `path`; see [`Csv::parse_rows`].
    ///
    /// # Errors
    /// As [`Csv::parse_rows`], and [`Error::Io`], [`Error::NotARegularFile`],
    /// [`Error::FileTooLarge`] for the file itself.
    pub fn read_rows<T: Scalar, const I: usize>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<CsvRows<T, I>, Error> {
        self.read_with(path.as_ref(), |csv, bytes, path| {
            csv.parse_rows::<T, I>(bytes, path)
        })
    }

    /// Parses CSV bytes into `I` features per row, for prediction: the target column (if one
    /// is set, it is skipped: a file with labels reads too) and the ignored ones are left out.
    ///
    /// # Errors
    /// As [`Csv::parse_classes`] for the features: [`Error::Csv`] naming the file, line and
    /// column.
    pub fn parse_rows<T: Scalar, const I: usize>(
        &self,
        bytes: &[u8],
        path: impl AsRef<Path>,
    ) -> Result<CsvRows<T, I>, Error> {
        let path = path.as_ref();
        let table = self.parse(bytes, path, I)?;
        let data = table.features_dataset::<T, I, ()>(path, vec![(); table.rows.len()])?;
        Ok(CsvRows {
            inputs: data.features().clone(),
            features: table.feature_names(),
        })
    }

    /// One row to predict, from text such as a command-line argument (`"5.1,3.5,1.4,0.2"`),
    /// with no header, and the same checks and errors as a file's rows.
    ///
    /// # Errors
    /// [`Error::Csv`] (its path `<row>`): a cell that is not a finite number, another number
    /// of features than `I`, or text that is not exactly one row.
    pub fn parse_row<T: Scalar, const I: usize>(&self, text: &str) -> Result<SVector<T, I>, Error> {
        let path = Path::new("<row>");
        let reader = Csv {
            header: false,
            ..self.clone()
        };
        let rows = reader.parse_rows::<T, I>(text.as_bytes(), path)?;
        if rows.inputs.ncols() != 1 {
            return Err(Error::Csv {
                place: Box::new(CsvPlace::default()),
                problem: Box::new(CsvProblem::NotOneRow {
                    found: rows.inputs.ncols(),
                }),
            }
            .at(path));
        }
        Ok(rows.inputs.column(0).into_owned())
    }

    /// Reads the file at `path` (bounded by the limit) and parses it with `parse`.
    fn read_with<R>(
        &self,
        path: &Path,
        parse: impl FnOnce(&Self, &[u8], &Path) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let bytes = read_regular_file(path, self.limit)?;
        parse(self, &bytes, path)
    }

    /// Parses CSV bytes into `I` features and a class label per row; `path` names the source
    /// in errors.
    ///
    /// # Errors
    /// [`Error::Csv`] naming the file, line and column: a row with another number of fields,
    /// a feature that is not a finite number, an empty file, a feature count other than `I`
    /// (both counts are given), a target column that is not there, a label not among
    /// [`Csv::class_names`].
    pub fn parse_classes<T: Scalar, const I: usize>(
        &self,
        bytes: &[u8],
        path: impl AsRef<Path>,
    ) -> Result<CsvClasses<T, I>, Error> {
        let path = path.as_ref();
        let table = self.parse(bytes, path, I)?;
        let target = table.target_column(path)?;
        let labels: Vec<&str> = table
            .rows_iter()
            .map(|(_, i)| table.rows.cell(i, target).trim())
            .collect();
        let (classes, numbering) = self.number_classes(&table, target, &labels, path)?;
        let targets = labels.iter().map(|l| numbering[*l]).collect();
        let data = table.features_dataset::<T, I, usize>(path, targets)?;
        Ok(CsvClasses {
            data,
            classes,
            features: table.feature_names(),
        })
    }

    /// Parses CSV bytes into `I` features and a number (the regression target) per row.
    ///
    /// # Errors
    /// As [`Csv::parse_classes`], and a target cell that is not a finite number.
    pub fn parse_values<T: Scalar, const I: usize>(
        &self,
        bytes: &[u8],
        path: impl AsRef<Path>,
    ) -> Result<CsvValues<T, I>, Error> {
        let path = path.as_ref();
        let table = self.parse(bytes, path, I)?;
        let target = table.target_column(path)?;
        let mut targets = Vec::with_capacity(table.rows.len());
        for (line, i) in table.rows_iter() {
            let text = table.rows.cell(i, target);
            let value = T::of(table.number(path, line, target, text)?);
            if !value.finite() {
                // Finite as f64 but not as `T` (1e39 as f32), as for features.
                return Err(table.overflow(path, line, target, text));
            }
            targets.push(SVector::from([value]));
        }
        let data = table.features_dataset::<T, I, _>(path, targets)?;
        Ok(CsvValues {
            data,
            features: table.feature_names(),
        })
    }

    /// Reads every record, checks the field counts, finds the target and feature columns.
    fn parse(&self, bytes: &[u8], path: &Path, inputs: usize) -> Result<Table, Error> {
        let error = |place: CsvPlace, problem| {
            Error::Csv {
                place: Box::new(place),
                problem: Box::new(problem),
            }
            .at(path)
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .from_reader(bytes);
        let mut names = Vec::new();
        let mut rows = Rows::default();
        let mut width = None;
        // The CSV reader's own line numbers skip blank lines; count them from byte offsets.
        let mut lines = LineCounter {
            bytes,
            offset: 0,
            line: 1,
        };
        let mut record = csv::StringRecord::new();
        loop {
            let more = reader.read_record(&mut record).map_err(|e| {
                let line = e.position().map(|p| lines.at(p.byte()));
                error(
                    CsvPlace {
                        line,
                        ..CsvPlace::default()
                    },
                    CsvProblem::Malformed {
                        message: e.to_string(),
                    },
                )
            })?;
            if !more {
                break;
            }
            let line = lines.at(record.position().map_or(0, |p| p.byte()));
            // A blank line (a trailing newline, or one left between rows) holds no sample.
            if record.len() == 1 && record[0].trim().is_empty() {
                continue;
            }
            match width {
                None => width = Some(record.len()),
                Some(w) if w != record.len() => {
                    return Err(error(
                        CsvPlace {
                            line: Some(line),
                            ..CsvPlace::default()
                        },
                        CsvProblem::FieldCount {
                            expected: w,
                            found: record.len(),
                        },
                    ));
                }
                Some(_) => {}
            }
            if self.header && names.is_empty() {
                names = record.iter().map(|s| s.trim().to_string()).collect();
                continue;
            }
            rows.width = record.len();
            if !rows.push(line, &record) || rows.bytes() as u64 > self.limit {
                return Err(error(
                    CsvPlace {
                        line: Some(line),
                        ..CsvPlace::default()
                    },
                    CsvProblem::TooLarge { limit: self.limit },
                ));
            }
        }
        let width = width.unwrap_or(0);
        if rows.is_empty() {
            return Err(error(CsvPlace::default(), CsvProblem::Empty));
        }
        let has_header = self.header;
        if !has_header {
            names = (1..=width).map(|k| format!("column {k}")).collect();
        }
        let find = |column: &Column| -> Result<usize, Error> {
            let found = match column {
                Column::Name(name) if !has_header => {
                    return Err(error(
                        CsvPlace::default(),
                        CsvProblem::NoHeader { name: name.clone() },
                    ));
                }
                Column::Name(name) => names.iter().position(|n| n == name),
                Column::Index(i) => (*i < width).then_some(*i),
                Column::Last => width.checked_sub(1),
            };
            found.ok_or_else(|| {
                error(
                    CsvPlace::default(),
                    CsvProblem::NoSuchColumn {
                        column: column.clone(),
                        available: if has_header {
                            names.clone()
                        } else {
                            Vec::new()
                        },
                    },
                )
            })
        };
        let target = match &self.target {
            Some(column) => Some(find(column)?),
            None => None,
        };
        let mut skip = vec![false; width];
        if let Some(target) = target {
            skip[target] = true;
        }
        for column in &self.ignore {
            skip[find(column)?] = true;
        }
        let features: Vec<usize> = (0..width).filter(|&c| !skip[c]).collect();
        if features.len() != inputs {
            return Err(error(
                CsvPlace::default(),
                CsvProblem::FeatureCount {
                    expected: inputs,
                    found: features.len(),
                },
            ));
        }
        Ok(Table {
            names,
            has_header,
            target,
            features,
            rows,
        })
    }

    /// The class names and the number of each label.
    fn number_classes<'a>(
        &self,
        table: &Table,
        target: usize,
        labels: &[&'a str],
        path: &Path,
    ) -> Result<(Vec<String>, BTreeMap<&'a str, usize>), Error> {
        let mut numbering = BTreeMap::new();
        if let Some(names) = &self.class_names {
            for ((line, _), &label) in table.rows_iter().zip(labels) {
                let Some(k) = names.iter().position(|n| n == label) else {
                    return Err(Error::Csv {
                        place: Box::new(table.place(Some(line), target)),
                        problem: Box::new(CsvProblem::UnknownClass {
                            label: label.to_string(),
                            known: names.clone(),
                        }),
                    }
                    .at(path));
                };
                numbering.insert(label, k);
            }
            return Ok((names.clone(), numbering));
        }
        let error = |i: usize, problem| {
            Error::Csv {
                place: Box::new(table.place(Some(table.rows.line(i)), target)),
                problem: Box::new(problem),
            }
            .at(path)
        };
        // Every label must be there; a number must be finite.
        let mut numbers = Vec::with_capacity(labels.len());
        for (i, &label) in labels.iter().enumerate() {
            if label.is_empty() {
                return Err(error(i, CsvProblem::EmptyClass));
            }
            let number = label.parse::<f64>().ok();
            if number.is_some_and(|v| !v.is_finite()) {
                return Err(error(
                    i,
                    CsvProblem::NonFinite {
                        text: label.to_string(),
                    },
                ));
            }
            numbers.push(number);
        }
        if numbers.iter().all(Option::is_some) {
            let values: Vec<f64> = numbers.into_iter().flatten().collect();
            let whole = values.iter().all(|v| *v >= 0.0 && v.fract() == 0.0);
            if whole {
                // Whole numbers are the classes themselves, compared as numbers (`1` and `1.0`
                // are one class): 0..=max, gaps and all.
                if let Some(i) = values.iter().position(|&v| v >= self.max_classes as f64) {
                    return Err(error(
                        i,
                        CsvProblem::TooManyClasses {
                            limit: self.max_classes,
                        },
                    ));
                }
                let max = values.iter().fold(0.0f64, |m, &v| m.max(v)) as usize;
                for (&label, &v) in labels.iter().zip(&values) {
                    numbering.insert(label, v as usize);
                }
                return Ok(((0..=max).map(|k| k.to_string()).collect(), numbering));
            }
            // Other numbers: numbered in increasing order of value, equal values one class.
            let mut distinct = values.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            if distinct.len() > self.max_classes {
                return Err(error(
                    0,
                    CsvProblem::TooManyClasses {
                        limit: self.max_classes,
                    },
                ));
            }
            for (&label, v) in labels.iter().zip(&values) {
                let k = distinct.partition_point(|d| d < v);
                numbering.insert(label, k);
            }
            return Ok((distinct.iter().map(|v| v.to_string()).collect(), numbering));
        }
        // Text: numbered in sorted order of the text.
        for (i, &label) in labels.iter().enumerate() {
            if !numbering.contains_key(label) {
                if numbering.len() == self.max_classes {
                    return Err(error(
                        i,
                        CsvProblem::TooManyClasses {
                            limit: self.max_classes,
                        },
                    ));
                }
                numbering.insert(label, 0);
            }
        }
        let names = numbering.keys().map(|s| s.to_string()).collect();
        for (k, n) in numbering.values_mut().enumerate() {
            *n = k;
        }
        Ok((names, numbering))
    }
}

/// Line numbers (from 1) of increasing byte offsets, counted incrementally.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl LineCounter<'_> {
    fn at(&mut self, byte: u64) -> u64 {
        let mut byte = (byte as usize).min(self.bytes.len());
        // A record's position may be that of the blank lines skipped before it.
        while matches!(self.bytes.get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        if byte >= self.offset {
            let newlines = self.bytes[self.offset..byte]
                .iter()
                .filter(|&&b| b == b'\n');
            self.line += newlines.count() as u64;
            self.offset = byte;
        }
        self.line
    }
}

impl Table {
    /// The target column, which a dataset with targets needs.
    fn target_column(&self, path: &Path) -> Result<usize, Error> {
        self.target.ok_or_else(|| {
            Error::Csv {
                place: Box::new(CsvPlace::default()),
                problem: Box::new(CsvProblem::NoTarget),
            }
            .at(path)
        })
    }

    fn place(&self, line: Option<u64>, column: usize) -> CsvPlace {
        CsvPlace {
            line,
            column: Some(column + 1),
            name: self.has_header.then(|| self.names[column].clone()),
        }
    }

    /// Each row's line and index.
    fn rows_iter(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        (0..self.rows.len()).map(|i| (self.rows.line(i), i))
    }

    fn feature_names(&self) -> Vec<String> {
        self.features
            .iter()
            .map(|&c| self.names[c].clone())
            .collect()
    }

    /// The number in a cell, or an error naming the line and column.
    fn number(&self, path: &Path, line: u64, column: usize, text: &str) -> Result<f64, Error> {
        let error = |problem| {
            Error::Csv {
                place: Box::new(self.place(Some(line), column)),
                problem: Box::new(problem),
            }
            .at(path)
        };
        let trimmed = text.trim();
        let value: f64 = trimmed.parse().map_err(|_| {
            error(CsvProblem::NotANumber {
                text: text.to_string(),
            })
        })?;
        if !value.is_finite() {
            return Err(error(CsvProblem::NonFinite {
                text: text.to_string(),
            }));
        }
        Ok(value)
    }

    fn features_dataset<T: Scalar, const I: usize, Y>(
        &self,
        path: &Path,
        targets: Vec<Y>,
    ) -> Result<Dataset<T, I, Y>, Error> {
        let mut values = Vec::new();
        crate::io::fs::try_reserve(&mut values, self.rows.len() * I, "the features")?;
        for (line, i) in self.rows_iter() {
            for &c in &self.features {
                values.push(T::of(self.number(path, line, c, self.rows.cell(i, c))?));
            }
        }
        // A value finite as f64 may overflow T (1e300 as f32): name its cell too.
        if let Some(pos) = values.iter().position(|v| !v.finite()) {
            let row = pos / I;
            let column = self.features[pos % I];
            let text = self.rows.cell(row, column);
            return Err(self.overflow(path, self.rows.line(row), column, text));
        }
        Dataset::from_rows(&values, targets)
    }

    /// The error of a cell whose number overflows the network's scalar type.
    fn overflow(&self, path: &Path, line: u64, column: usize, text: &str) -> Error {
        Error::Csv {
            place: Box::new(self.place(Some(line), column)),
            problem: Box::new(CsvProblem::NonFinite {
                text: text.to_string(),
            }),
        }
        .at(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows to predict: the same checks and errors as a training set, the target left out
    /// when a file has one, exactly one row from text.
    #[test]
    fn rows_to_predict_are_read_with_the_training_checks() {
        let reader = Csv::new().no_target();
        // A file with labels reads too when its target is named: the label is skipped.
        let rows = Csv::new()
            .target("species")
            .parse_rows::<f32, 4>(IRIS.as_bytes(), "iris.csv")
            .unwrap();
        assert_eq!(rows.inputs.column(1).as_slice(), [7.0, 3.2, 4.7, 1.4]);
        assert_eq!(rows.features[3], "petal_width");
        let problem = |e: Error| match e.into_kind() {
            Error::Csv { problem, .. } => *problem,
            other => panic!("not a CSV problem: {other}"),
        };
        // Without a target, the label column is a feature: five columns, not four.
        let err = reader
            .parse_rows::<f32, 4>(IRIS.as_bytes(), "iris.csv")
            .unwrap_err();
        assert_eq!(
            problem(err),
            CsvProblem::FeatureCount {
                expected: 4,
                found: 5
            }
        );
        let err = reader.parse_row::<f32, 4>("1,2,3").unwrap_err();
        assert_eq!(
            problem(err),
            CsvProblem::FeatureCount {
                expected: 4,
                found: 3
            }
        );
        let err = reader.parse_row::<f32, 2>("1,2\n3,4").unwrap_err();
        assert_eq!(problem(err), CsvProblem::NotOneRow { found: 2 });
        let err = reader.parse_row::<f32, 2>("1,NaN").unwrap_err();
        assert!(matches!(problem(err), CsvProblem::NonFinite { .. }));
        let err = reader.parse_row::<f32, 2>("1,1e39").unwrap_err();
        assert!(matches!(problem(err), CsvProblem::NonFinite { .. }));
        let err = reader.parse_row::<f32, 2>("").unwrap_err();
        assert_eq!(problem(err), CsvProblem::Empty);
        assert_eq!(
            reader
                .parse_row::<f64, 2>(" 1.5 ;2".replace(';', ",").as_str())
                .unwrap()[0],
            1.5
        );
        // A dataset with targets needs a target column.
        let err = reader
            .parse_classes::<f32, 5>(IRIS.as_bytes(), "iris.csv")
            .unwrap_err();
        assert_eq!(problem(err), CsvProblem::NoTarget);
    }

    const IRIS: &str = "sepal_length,sepal_width,petal_length,petal_width,species\n\
                        5.1,3.5,1.4,0.2,setosa\n\
                        7.0,3.2,4.7,1.4,versicolor\n\
                        6.3,3.3,6.0,2.5,virginica\n\
                        4.9,3.0,1.4,0.2,setosa\n";

    fn problem(err: Error) -> (CsvPlace, CsvProblem, String) {
        let text = err.to_string();
        match err.into_kind() {
            Error::Csv { place, problem } => (*place, *problem, text),
            other => panic!("not a CSV error: {other}"),
        }
    }

    #[test]
    fn string_labels_are_numbered_in_sorted_order() {
        let iris = Csv::new()
            .target("species")
            .parse_classes::<f32, 4>(IRIS.as_bytes(), "iris.csv")
            .unwrap();
        assert_eq!(iris.classes, ["setosa", "versicolor", "virginica"]);
        assert_eq!(iris.data.targets(), [0, 1, 2, 0]);
        assert_eq!(iris.data.sample(1).0.as_slice(), [7.0, 3.2, 4.7, 1.4]);
        assert_eq!(
            iris.features,
            ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        );
    }

    #[test]
    fn integer_labels_are_the_classes_and_names_fix_the_order() {
        let text = "a;b;y\n1;2;2\n3;4;0\n";
        let data = Csv::new()
            .delimiter(b';')
            .parse_classes::<f64, 2>(text.as_bytes(), "x")
            .unwrap();
        assert_eq!(data.data.targets(), [2, 0]);
        assert_eq!(data.classes, ["0", "1", "2"]);

        let named = Csv::new()
            .target(4)
            .class_names(&["virginica", "versicolor", "setosa"])
            .parse_classes::<f32, 4>(IRIS.as_bytes(), "iris.csv")
            .unwrap();
        assert_eq!(named.data.targets(), [2, 1, 0, 2]);
        let err = Csv::new()
            .class_names(&["setosa", "versicolor"])
            .parse_classes::<f32, 4>(IRIS.as_bytes(), "iris.csv")
            .unwrap_err();
        let (place, p, text) = problem(err);
        assert_eq!(place.line, Some(4));
        assert!(matches!(p, CsvProblem::UnknownClass { ref label, .. } if label == "virginica"));
        assert!(
            text.contains("iris.csv: line 4, column 5 (species)"),
            "{text}"
        );
    }

    #[test]
    fn no_header_target_by_index_and_regression_values() {
        let text = "1.5\t10\t-2\n2.5\t20\t-4\n";
        let data = Csv::new()
            .has_header(false)
            .delimiter(b'\t')
            .target(1)
            .parse_values::<f32, 2>(text.as_bytes(), "r.tsv")
            .unwrap();
        assert_eq!(data.data.targets()[1][0], 20.0);
        assert_eq!(data.data.sample(1).0.as_slice(), [2.5, -4.0]);
        assert_eq!(data.features, ["column 1", "column 3"]);
        let err = Csv::new()
            .has_header(false)
            .target("y")
            .parse_values::<f32, 2>(text.as_bytes(), "r.tsv")
            .unwrap_err();
        assert!(matches!(problem(err).1, CsvProblem::NoHeader { .. }));
    }

    #[test]
    fn ignored_columns_are_neither_feature_nor_target() {
        let text = "id,x,y\n7,0.5,1\n8,1.5,0\n";
        let data = Csv::new()
            .ignore("id")
            .parse_classes::<f32, 1>(text.as_bytes(), "ids.csv")
            .unwrap();
        assert_eq!(data.data.features().as_slice(), [0.5, 1.5]);
        assert_eq!(data.features, ["x"]);
    }

    #[test]
    fn a_row_of_another_width_names_its_line() {
        let text = "a,b,y\n1,2,0\n3,4\n";
        let (place, p, text) = problem(
            Csv::new()
                .parse_classes::<f32, 2>(text.as_bytes(), "short.csv")
                .unwrap_err(),
        );
        assert_eq!(place.line, Some(3));
        assert_eq!(
            p,
            CsvProblem::FieldCount {
                expected: 3,
                found: 2
            }
        );
        assert_eq!(text, "short.csv: line 3: 2 fields, but the first row has 3");
    }

    #[test]
    fn a_cell_that_is_not_a_number_names_line_and_column() {
        let text = "a,b,y\n1,2,0\n\n3,abc,1\n";
        let (place, p, text) = problem(
            Csv::new()
                .parse_classes::<f32, 2>(text.as_bytes(), "bad.csv")
                .unwrap_err(),
        );
        assert_eq!((place.line, place.column), (Some(4), Some(2)));
        assert_eq!(p, CsvProblem::NotANumber { text: "abc".into() });
        assert_eq!(
            text,
            "bad.csv: line 4, column 2 (b): \"abc\" is not a number"
        );
        for cell in ["NaN", "inf", "1e39"] {
            let csv = format!("a,y\n{cell},1\n");
            let (place, p, _) = problem(
                Csv::new()
                    .parse_classes::<f32, 1>(csv.as_bytes(), "nan.csv")
                    .unwrap_err(),
            );
            assert_eq!(place.line, Some(2));
            assert!(matches!(p, CsvProblem::NonFinite { .. }), "{cell}: {p:?}");
        }
        let (_, p, _) = problem(
            Csv::new()
                .parse_values::<f32, 1>(b"a,y\n1,x\n", "v.csv")
                .unwrap_err(),
        );
        assert_eq!(p, CsvProblem::NotANumber { text: "x".into() });
        // Regression (issue 20, item 16): the message of a missing target column listed every
        // column (8.9 MB for a million); it lists twenty and counts the rest.
        let header: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
        let csv = format!("{}\n{}\n", header.join(","), vec!["1"; 30].join(","));
        let err = Csv::new()
            .target("missing")
            .parse_values::<f32, 29>(csv.as_bytes(), "wide.csv")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("c19 and 10 more"), "{text}");
        assert!(!text.contains("c20"), "{text}");
        // Regression (issue 20, item 9): an empty class cell became class "" and renumbered
        // every label; NaN was a class; "1" and "1.0" were two classes; a label of 65536 or
        // more switched the whole file to text numbering (label 2 became class 0).
        let classes = |csv: &str| Csv::new().parse_classes::<f32, 1>(csv.as_bytes(), "c.csv");
        let err = classes("a,y\n1,0\n2,\n3,1\n").unwrap_err();
        assert!(err.to_string().contains("line 3, column 2 (y)"), "{err}");
        assert!(err.to_string().contains("empty"), "{err}");
        let err = classes("a,y\n1,0\n2,NaN\n").unwrap_err();
        assert!(err.to_string().contains("line 3, column 2 (y)"), "{err}");
        let same = classes("a,y\n1,1\n2,1.0\n3,2\n").unwrap();
        assert_eq!(same.data.targets(), [1, 1, 2]);
        let err = classes("a,y\n1,2\n2,70000\n").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        let halves = classes("a,y\n1,0.5\n2,-1\n3,0.50\n").unwrap();
        assert_eq!(halves.data.targets(), [1, 0, 1]);
        assert_eq!(halves.classes, ["-1", "0.5"]);
        // Regression (issue 20, item 17): the message of column `usize::MAX` added 1 to it and
        // panicked in a debug build ("attempt to add with overflow").
        let err = Csv::new()
            .target(usize::MAX)
            .parse_values::<f32, 1>(b"a,y\n1,2\n", "far.csv")
            .unwrap_err();
        assert!(err.to_string().contains("18446744073709551616"), "{err}");
        // Regression (issue 20, item 10): a regression target finite as f64 but not as the
        // network's scalar (1e39, 3.5e38 as f32) was read as ±inf; it is an error naming its
        // cell, as a feature's is. As f64 it is a number.
        for cell in ["1e39", "-3.5e38"] {
            let csv = format!("a,y\n1,2\n1,{cell}\n");
            let (place, p, _) = problem(
                Csv::new()
                    .parse_values::<f32, 1>(csv.as_bytes(), "big.csv")
                    .unwrap_err(),
            );
            assert_eq!((place.line, place.column), (Some(3), Some(2)), "{cell}");
            assert_eq!(p, CsvProblem::NonFinite { text: cell.into() });
            let wide = Csv::new().parse_values::<f64, 1>(csv.as_bytes(), "big.csv");
            assert!(wide.is_ok(), "{cell}");
        }
    }

    #[test]
    fn empty_files_and_header_only_files_are_refused() {
        for text in ["", "a,b,y\n", "\n\n"] {
            let (_, p, msg) = problem(
                Csv::new()
                    .parse_classes::<f32, 2>(text.as_bytes(), "empty.csv")
                    .unwrap_err(),
            );
            assert_eq!(p, CsvProblem::Empty);
            assert_eq!(msg, "empty.csv: no data rows");
        }
    }

    #[test]
    fn a_feature_count_other_than_the_networks_says_both() {
        let (_, p, text) = problem(
            Csv::new()
                .target("species")
                .parse_classes::<f32, 3>(IRIS.as_bytes(), "iris.csv")
                .unwrap_err(),
        );
        assert_eq!(
            p,
            CsvProblem::FeatureCount {
                expected: 3,
                found: 4
            }
        );
        assert_eq!(
            text,
            "iris.csv: the file has 4 feature columns, but the network takes 3"
        );
    }

    #[test]
    fn a_missing_target_column_lists_the_columns() {
        let (_, p, text) = problem(
            Csv::new()
                .target("label")
                .parse_classes::<f32, 4>(IRIS.as_bytes(), "iris.csv")
                .unwrap_err(),
        );
        assert!(matches!(p, CsvProblem::NoSuchColumn { .. }));
        assert!(
            text.contains("no column `label`; the columns are sepal_length"),
            "{text}"
        );
        let err = Csv::new()
            .target(9)
            .parse_classes::<f32, 4>(IRIS.as_bytes(), "iris.csv")
            .unwrap_err();
        assert!(err.to_string().contains("no column 10"), "{err}");
    }

    #[test]
    fn malformed_bytes_are_an_error_not_a_panic() {
        let (place, p, _) = problem(
            Csv::new()
                .parse_classes::<f32, 1>(b"a,y\n1,\xff\xfe\n", "bin.csv")
                .unwrap_err(),
        );
        assert!(matches!(p, CsvProblem::Malformed { .. }), "{p:?}");
        assert_eq!(place.line, Some(2));
        let err = Csv::new()
            .read_classes::<f32, 1>("/definitely/not/here.csv")
            .unwrap_err();
        assert!(matches!(err.kind(), Error::Io { .. }), "{err}");
    }

    #[test]
    fn too_many_classes_and_too_large_files_are_refused() {
        let mut text = String::from("x,y\n");
        for i in 0..20 {
            text.push_str(&format!("1,c{i}\n"));
        }
        let mut csv = Csv::new();
        csv.max_classes = 10;
        let (place, p, _) = problem(
            csv.parse_classes::<f32, 1>(text.as_bytes(), "many.csv")
                .unwrap_err(),
        );
        assert_eq!(p, CsvProblem::TooManyClasses { limit: 10 });
        assert_eq!(place.line, Some(12));

        let dir = crate::io::fs::test_dir("csv-limit");
        let path = dir.join("big.csv");
        std::fs::write(&path, &text).unwrap();
        let err = Csv::new()
            .limit(10)
            .read_classes::<f32, 1>(&path)
            .unwrap_err();
        assert!(matches!(err.kind(), Error::FileTooLarge { .. }), "{err}");
    }

    #[test]
    fn the_bundled_iris_file_reads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv");
        let iris = Csv::new()
            .target("species")
            .read_classes::<f32, 4>(path)
            .unwrap();
        assert_eq!(iris.data.len(), 150);
        assert_eq!(
            iris.classes,
            ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
        );
        for k in 0..3 {
            assert_eq!(iris.data.targets().iter().filter(|&&t| t == k).count(), 50);
        }
    }
}
