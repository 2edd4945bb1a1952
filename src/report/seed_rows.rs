//! `points-by-seed.csv`: the tidy rows of a sweep, one per point × variant × seed, with the
//! same figure columns as the pooled `points.csv` (whose rows pool a point's seeds). Written
//! as the sweep runs, and joined from shards by `merge` as a stream in point order.

use std::io::{BufRead, Read, Write};

use super::points::{summary_column_kinds, summary_columns, summary_values};
use crate::metrics::{SUMMARY_COUNT_MAX, SUMMARY_MS_MAX};
use crate::names::Kind;
use crate::sweep::{PlannedRow, SeedPoint, SweepDef};

/// The file's name in a sweep's output directory.
pub const FILE: &str = "points-by-seed.csv";
/// Longest line `merge` reads from a shard's file (1 MiB; a row is ~1 kB).
pub const LINE_BYTES_MAX: usize = 1024 * 1024;

/// The header: `point`, the swept keys, `variant`, `seed`, then `points.csv`'s figures.
pub fn header(def: &SweepDef) -> Vec<String> {
    let mut h = vec!["point".to_string()];
    h.extend(def.params.iter().map(|p| p.key.clone()));
    h.extend(["variant".to_string(), "seed".to_string()]);
    h.extend(summary_columns());
    h
}

/// Why a shard's rows could not be joined: what is wrong, with the shard's file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RowsError(String);

impl From<String> for RowsError {
    fn from(message: String) -> RowsError {
        RowsError(message)
    }
}

/// Writes the rows as they come.
pub struct SeedRows<W: Write> {
    w: ::csv::Writer<W>,
}

impl<W: Write> SeedRows<W> {
    /// Starts the file with its header.
    pub fn new(out: W, def: &SweepDef) -> Result<Self, ::csv::Error> {
        let mut w = ::csv::Writer::from_writer(out);
        w.write_record(header(def))?;
        Ok(SeedRows { w })
    }

    /// One row per variant that ran on this seed.
    pub fn write(&mut self, p: &SeedPoint) -> Result<(), ::csv::Error> {
        for s in &p.variants {
            let mut row = vec![p.point.to_string()];
            row.extend(p.params.iter().map(|(_, v)| v.clone()));
            row.extend([s.variant.clone(), p.seed.to_string()]);
            row.extend(summary_values(s));
            self.w.write_record(&row)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<W, RowsError> {
        self.w.flush().map_err(|e| RowsError(e.to_string()))?;
        self.w.into_inner().map_err(|e| RowsError(e.to_string()))
    }
}

/// One shard's file to join: its name in messages, its bytes, and the rows its plan says it
/// holds, in order.
pub struct ShardRows<'a, R> {
    pub name: String,
    pub reader: R,
    pub expected: Box<dyn Iterator<Item = PlannedRow<'a>> + 'a>,
}

/// Where a row's key columns are, and what kind of number each figure column holds.
struct Columns {
    variant: usize,
    seed: usize,
    figures: Vec<(String, Option<Kind>)>,
}

impl Columns {
    fn of(header: &[String]) -> Columns {
        let variant = header.iter().position(|h| h == "variant").unwrap_or(1);
        let kinds = summary_column_kinds();
        let kind_of = |name: &String| kinds.iter().find(|(c, _)| c == name).map(|(_, k)| *k);
        Columns {
            variant,
            seed: variant + 1,
            figures: header[(variant + 2).min(header.len())..]
                .iter()
                .map(|name| (name.clone(), kind_of(name)))
                .collect(),
        }
    }

    /// Refuses a figure cell that is not empty (not measured) nor a number this tool could
    /// have written for its column's kind: a count in 0..=2^53, a rate in [0, 1], a latency
    /// in ms in 0..=10^12, a paired delta within ±10^12 ms.
    fn check_figures(&self, row: &::csv::StringRecord) -> Result<(), String> {
        for ((name, kind), cell) in self.figures.iter().zip(row.iter().skip(self.seed + 1)) {
            if cell.is_empty() {
                continue;
            }
            let x: f64 = cell
                .parse()
                .map_err(|_| format!("{name} {:?} is not a number", clip(cell)))?;
            let (min, max) = match kind {
                Some(Kind::Rate) => (0.0, 1.0),
                Some(Kind::Ms) => (0.0, SUMMARY_MS_MAX),
                Some(Kind::Delta) => (-SUMMARY_MS_MAX, SUMMARY_MS_MAX),
                Some(Kind::Count) | None => (0.0, SUMMARY_COUNT_MAX as f64),
            };
            if !(x.is_finite() && (min..=max).contains(&x)) {
                return Err(format!("{name} {cell} is outside [{min}, {max}]"));
            }
        }
        Ok(())
    }
}

/// A cell as it may be quoted in a message: at most 40 characters, control characters
/// escaped.
fn clip(cell: &str) -> String {
    let short: String = cell.chars().take(40).collect();
    crate::names::escape_control(&short).into_owned()
}

/// One shard's rows being read, the next one held.
struct Shard<'a, R: Read> {
    name: String,
    rows: ::csv::StringRecordsIntoIter<LineCap<R>>,
    expected: Box<dyn Iterator<Item = PlannedRow<'a>> + 'a>,
    next: Option<(usize, ::csv::StringRecord)>,
    read: u64,
}

impl<R: Read> Shard<'_, R> {
    /// Reads the next row and checks it is the one the plan expects next.
    fn advance(&mut self, cols: &Columns) -> Result<(), String> {
        let want = self.expected.next();
        let Some(row) = self.rows.next() else {
            self.next = None;
            return match want {
                None => Ok(()),
                Some(PlannedRow {
                    point: p,
                    variant: v,
                    seed: s,
                    ..
                }) => Err(format!(
                    "{}: ends after {} row(s); the row of point {p} {v} seed {s} and {} more \
                     are missing (a truncated file?)",
                    self.name,
                    self.read,
                    self.expected.by_ref().count()
                )),
            };
        };
        let row = row.map_err(|e| format!("{}: {e}", self.name))?;
        self.read += 1;
        let line = row.position().map_or(0, |p| p.line());
        let at = |m: String| format!("{}: line {line}: {m}", self.name);
        let got = (
            row.get(0).unwrap_or(""),
            row.get(cols.variant).unwrap_or(""),
            row.get(cols.seed).unwrap_or(""),
        );
        let Some(want) = want else {
            return Err(at(format!(
                "a row past the sweep's runs (point {}, {}, seed {}): an extra or duplicated row",
                clip(got.0),
                clip(got.1),
                clip(got.2)
            )));
        };
        let (p, v, s) = (want.point, want.variant, want.seed);
        if got != (p.to_string().as_str(), v, s.to_string().as_str()) {
            return Err(at(format!(
                "point {} {} seed {} where the sweep's next row is point {p} {v} seed {s} (a \
                 row missing, duplicated or out of place)",
                clip(got.0),
                clip(got.1),
                clip(got.2)
            )));
        }
        let params = row.iter().skip(1).take(cols.variant - 1);
        if params.ne(want.params.iter().map(|(_, value)| value.as_str())) {
            return Err(at(format!(
                "point {p}'s parameter values are not those of sweep.json"
            )));
        }
        cols.check_figures(&row).map_err(at)?;
        self.next = Some((p, row));
        Ok(())
    }
}

/// Joins shards' files (each in point order, on disjoint points) into one file in point
/// order, as one unsharded sweep writes it. Each shard's header must be `header`, and its
/// rows exactly the ones its plan expects (none missing, extra, repeated or out of range).
pub fn merge<R: Read, W: Write>(
    shards: Vec<ShardRows<'_, R>>,
    header: &[String],
    out: W,
) -> Result<(), RowsError> {
    merge_rows(shards, header, out).map_err(RowsError)
}

fn merge_rows<R: Read, W: Write>(
    shards: Vec<ShardRows<'_, R>>,
    header: &[String],
    out: W,
) -> Result<(), String> {
    let cols = Columns::of(header);
    let mut open = Vec::with_capacity(shards.len());
    for s in shards {
        let mut reader = ::csv::Reader::from_reader(LineCap::new(s.reader));
        let got = reader.headers().map_err(|e| format!("{}: {e}", s.name))?;
        if got.iter().ne(header.iter().map(String::as_str)) {
            return Err(format!(
                "{}: not the header of this sweep's {FILE} (a shard written by another build \
                 of handshake-sim? run that shard again with this one)",
                s.name
            ));
        }
        let mut shard = Shard {
            name: s.name,
            rows: reader.into_records(),
            expected: s.expected,
            next: None,
            read: 0,
        };
        shard.advance(&cols)?;
        open.push(shard);
    }
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(header).map_err(|e| e.to_string())?;
    // The shard holding the lowest point gives all its rows of that point, in their order.
    while let Some(i) = (0..open.len())
        .filter(|&i| open[i].next.is_some())
        .min_by_key(|&i| open[i].next.as_ref().map(|(p, _)| *p))
    {
        let point = open[i].next.as_ref().map(|(p, _)| *p);
        while open[i].next.as_ref().map(|(p, _)| *p) == point {
            let (_, row) = open[i].next.take().expect("checked");
            w.write_record(&row).map_err(|e| e.to_string())?;
            open[i].advance(&cols)?;
        }
    }
    w.flush().map_err(|e| e.to_string())
}

/// A reader that fails on a line longer than [`LINE_BYTES_MAX`], so that a file without
/// newlines cannot make the CSV reader hold it whole.
struct LineCap<R> {
    inner: std::io::BufReader<R>,
    line: usize,
}

impl<R: Read> LineCap<R> {
    fn new(r: R) -> Self {
        LineCap {
            inner: std::io::BufReader::new(r),
            line: 0,
        }
    }
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.inner.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        for &b in &buf[..n] {
            self.line = if b == b'\n' { 0 } else { self.line + 1 };
            if self.line > LINE_BYTES_MAX {
                return Err(std::io::Error::other(format!(
                    "a line longer than {LINE_BYTES_MAX} bytes"
                )));
            }
        }
        self.inner.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (usize, &'static str, u64);

    fn shard<'a>(text: &'a str, expected: &'a [Row]) -> ShardRows<'a, &'a [u8]> {
        ShardRows {
            name: "s".to_string(),
            reader: text.as_bytes(),
            expected: Box::new(expected.iter().map(|&(point, variant, seed)| PlannedRow {
                point,
                params: &[],
                variant,
                seed,
            })),
        }
    }

    fn header() -> Vec<String> {
        ["point", "variant", "seed"].map(String::from).to_vec()
    }

    #[test]
    fn merge_interleaves_shards_by_point_keeping_each_points_rows_in_order() {
        let a = "point,variant,seed\n0,x,1\n0,x,2\n2,x,1\n2,x,2\n";
        let b = "point,variant,seed\n1,x,1\n1,x,2\n3,x,1\n3,x,2\n";
        let ea = [(0, "x", 1), (0, "x", 2), (2, "x", 1), (2, "x", 2)];
        let eb = [(1, "x", 1), (1, "x", 2), (3, "x", 1), (3, "x", 2)];
        let mut out = Vec::new();
        merge(vec![shard(a, &ea), shard(b, &eb)], &header(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let points: Vec<&str> = text.lines().skip(1).map(|l| &l[..3]).collect();
        assert_eq!(
            points,
            ["0,x", "0,x", "1,x", "1,x", "2,x", "2,x", "3,x", "3,x"]
        );
    }

    #[test]
    fn merge_refuses_a_foreign_header_and_endless_lines() {
        let two: Vec<String> = ["point", "seed"].map(String::from).to_vec();
        let e = merge(vec![shard("point,other\n", &[])], &two, Vec::new()).unwrap_err();
        assert!(e.to_string().contains("not the header"), "{e}");
        let long = format!(
            "point,variant,seed\n1,{}\n",
            "9".repeat(LINE_BYTES_MAX + 10)
        );
        let e = merge(vec![shard(&long, &[(1, "x", 1)])], &header(), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("longer than"), "{e}");
    }

    /// Issue 21, item 4: a truncated, header-only, duplicated or re-numbered shard is refused.
    #[test]
    fn merge_refuses_rows_that_are_not_the_plans() {
        let plan = [(0, "x", 1), (0, "x", 2), (2, "x", 1)];
        let check = |text: &str, what: &str| {
            let e = merge(vec![shard(text, &plan)], &header(), Vec::new()).unwrap_err();
            assert!(e.to_string().contains(what), "{text:?}: {e}");
        };
        check(
            "point,variant,seed\n0,x,1\n0,x,2\n",
            "point 2 x seed 1 and 0 more are missing",
        );
        check("point,variant,seed\n", "ends after 0 row(s)");
        check("point,variant,seed\n0,x,1\n0,x,1\n0,x,2\n2,x,1\n", "line 3");
        check(
            "point,variant,seed\n0,x,1\n0,x,2\n2,x,1\n2,x,1\n",
            "a row past the sweep",
        );
        check(
            "point,variant,seed\n1000000000000000000,x,1\n0,x,2\n2,x,1\n",
            "point 1000000000000000000 x seed 1 where the sweep's next row is point 0",
        );
        let ok = "point,variant,seed\n0,x,1\n0,x,2\n2,x,1\n";
        merge(vec![shard(ok, &plan)], &header(), Vec::new()).unwrap();
    }

    #[test]
    fn merge_refuses_figures_out_of_range() {
        let cols: Vec<String> = [
            "point",
            "variant",
            "seed",
            "failure_rate",
            "jobs",
            "delta_storage_ms",
        ]
        .map(String::from)
        .to_vec();
        let plan = [(0, "x", 1)];
        for (row, what) in [
            ("0,x,1,-5,10,3", "failure_rate -5"),
            ("0,x,1,0.5,1e308,3", "jobs 1e308"),
            ("0,x,1,0.5,-1,3", "jobs -1"),
            ("0,x,1,0.5,NaN,3", "jobs NaN"),
            ("0,x,1,0.5,\u{1b}[31m,3", "\\u{1b}"),
        ] {
            let text = format!("{}\n{row}\n", cols.join(","));
            let e = merge(vec![shard(&text, &plan)], &cols, Vec::new()).unwrap_err();
            assert!(e.to_string().contains(what), "{row}: {e}");
        }
        let text = format!("{}\n0,x,1,0.5,10,-3\n", cols.join(","));
        merge(vec![shard(&text, &plan)], &cols, Vec::new()).unwrap();
    }
}
