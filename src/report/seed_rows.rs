//! `points-by-seed.csv`: the tidy rows of a sweep, one per point × variant × seed, with the
//! same figure columns as the pooled `points.csv` (whose rows pool a point's seeds). Written
//! as the sweep runs, and joined from shards by `merge` as a stream in point order.

use std::io::{BufRead, Read, Write};

use super::points::{summary_columns, summary_values};
use crate::sweep::{SeedPoint, SweepDef};

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

    pub fn finish(mut self) -> Result<W, String> {
        self.w.flush().map_err(|e| e.to_string())?;
        self.w.into_inner().map_err(|e| e.to_string())
    }
}

/// One shard's rows being read, the next one held.
struct Shard<R: Read> {
    name: String,
    rows: ::csv::StringRecordsIntoIter<LineCap<R>>,
    next: Option<(usize, ::csv::StringRecord)>,
    /// The point of the last row read.
    last: Option<usize>,
}

impl<R: Read> Shard<R> {
    fn advance(&mut self) -> Result<(), String> {
        let prev = self.last;
        self.next = match self.rows.next() {
            None => None,
            Some(row) => {
                let row = row.map_err(|e| format!("{}: {e}", self.name))?;
                let point = row
                    .get(0)
                    .and_then(|p| p.parse::<usize>().ok())
                    .ok_or_else(|| format!("{}: a row without a point number", self.name))?;
                if prev.is_some_and(|p| point < p) {
                    return Err(format!("{}: rows not in point order", self.name));
                }
                self.last = Some(point);
                Some((point, row))
            }
        };
        Ok(())
    }
}

/// Joins shards' files (each in point order, on disjoint points) into one file in point
/// order, as one unsharded sweep writes it; each shard's header must be `header`.
pub fn merge<R: Read, W: Write>(
    shards: Vec<(String, R)>,
    header: &[String],
    out: W,
) -> Result<(), String> {
    let mut open = Vec::with_capacity(shards.len());
    for (name, r) in shards {
        let mut reader = ::csv::Reader::from_reader(LineCap::new(r));
        let got = reader.headers().map_err(|e| format!("{name}: {e}"))?;
        if got.iter().ne(header.iter().map(String::as_str)) {
            return Err(format!("{name}: not the header of this sweep's {FILE}"));
        }
        let mut shard = Shard {
            name,
            rows: reader.into_records(),
            next: None,
            last: None,
        };
        shard.advance()?;
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
            open[i].advance()?;
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

    fn shard(text: &str) -> (String, &[u8]) {
        ("s".to_string(), text.as_bytes())
    }

    #[test]
    fn merge_interleaves_shards_by_point_keeping_each_points_rows_in_order() {
        let header: Vec<String> = ["point", "variant", "seed"].map(String::from).to_vec();
        let a = "point,variant,seed\n0,x,1\n0,x,2\n2,x,1\n2,x,2\n";
        let b = "point,variant,seed\n1,x,1\n1,x,2\n3,x,1\n3,x,2\n";
        let mut out = Vec::new();
        merge(vec![shard(a), shard(b)], &header, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let points: Vec<&str> = text.lines().skip(1).map(|l| &l[..3]).collect();
        assert_eq!(
            points,
            ["0,x", "0,x", "1,x", "1,x", "2,x", "2,x", "3,x", "3,x"]
        );
        assert!(
            text.starts_with("point,variant,seed\n0,x,1\n0,x,2\n1,x,1\n"),
            "{text}"
        );
    }

    #[test]
    fn merge_refuses_a_foreign_header_disorder_and_endless_lines() {
        let header: Vec<String> = ["point", "seed"].map(String::from).to_vec();
        let e = merge(vec![shard("point,other\n")], &header, Vec::new()).unwrap_err();
        assert!(e.contains("not the header"), "{e}");
        let e = merge(vec![shard("point,seed\n2,1\n1,1\n")], &header, Vec::new()).unwrap_err();
        assert!(e.contains("not in point order"), "{e}");
        let long = format!("point,seed\n1,{}\n", "9".repeat(LINE_BYTES_MAX + 10));
        let e = merge(vec![shard(&long)], &header, Vec::new()).unwrap_err();
        assert!(e.contains("longer than"), "{e}");
    }
}
