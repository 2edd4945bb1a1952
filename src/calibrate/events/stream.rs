//! JSON values read one at a time, each at most [`EVENT_BYTES_MAX`] bytes, whatever the file's
//! size: concatenated values (`wrangler tail`'s pretty-printed events, NDJSON), the elements of
//! one top-level array (a Tail Worker's events), or those of the `data` array of an object
//! (Analytics Engine's response). Memory stays one value; a decompressed input stops past
//! [`DECOMPRESSED_BYTES_MAX`] (a gzip bomb), and garbage stops the read with its line.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::calibrate::input::InputError;

/// Longest one event (one JSON value) may be, in bytes (1 MiB, as a log line).
pub const EVENT_BYTES_MAX: u64 = 1024 * 1024;
/// Most bytes a compressed input may decompress to (1 GiB: a Logpush file holds megabytes).
pub const DECOMPRESSED_BYTES_MAX: u64 = 1024 * 1024 * 1024;

/// A decompressing reader that stops with an error past [`DECOMPRESSED_BYTES_MAX`].
pub struct Capped<R> {
    inner: R,
    read: u64,
}

impl<R> Capped<R> {
    pub fn new(inner: R) -> Self {
        Capped { inner, read: 0 }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > DECOMPRESSED_BYTES_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("decompresses past {DECOMPRESSED_BYTES_MAX} bytes (a gzip bomb?)"),
            ));
        }
        Ok(n)
    }
}

/// Where the reader is: the line (1-based) and the bytes of the current value.
#[derive(Default)]
struct Position {
    line: Cell<usize>,
    value_bytes: Cell<u64>,
}

/// The input, counting lines and refusing a value past [`EVENT_BYTES_MAX`].
struct Counted<R> {
    inner: R,
    at: Rc<Position>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let lines = buf[..n].iter().filter(|&&b| b == b'\n').count();
        self.at.line.set(self.at.line.get() + lines);
        self.at
            .value_bytes
            .set(self.at.value_bytes.get() + n as u64);
        if self.at.value_bytes.get() > EVENT_BYTES_MAX {
            return Err(io::Error::new(io::ErrorKind::InvalidData, TooLong));
        }
        Ok(n)
    }
}

/// A value past [`EVENT_BYTES_MAX`]: the line is the reader's.
#[derive(Debug)]
struct TooLong;

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an event longer than {EVENT_BYTES_MAX} bytes")
    }
}

impl std::error::Error for TooLong {}

type OnValue<'a> = dyn FnMut(usize, serde_json::Value) -> Result<(), InputError> + 'a;

fn counted(input: impl Read) -> (Counted<impl Read>, Rc<Position>) {
    let at = Rc::new(Position::default());
    at.line.set(1);
    (
        Counted {
            inner: input,
            at: at.clone(),
        },
        at,
    )
}

/// A JSON error as the input's: where it stopped and why.
fn json_error(e: serde_json::Error, at: &Position) -> InputError {
    let why = e.to_string();
    if e.is_io() {
        if why.contains("an event longer than") {
            return InputError::EventTooLong {
                line: at.line.get(),
                max_bytes: EVENT_BYTES_MAX,
            };
        }
        return InputError::Corrupt { why };
    }
    InputError::Json {
        line: if e.line() > 0 {
            e.line()
        } else {
            at.line.get()
        },
        why,
    }
}

/// Concatenated JSON values (NDJSON, or pretty-printed objects back to back).
pub fn values(input: impl Read, on: &mut OnValue) -> Result<(), InputError> {
    let (reader, at) = counted(input);
    let mut stream = serde_json::Deserializer::from_reader(reader).into_iter::<serde_json::Value>();
    loop {
        at.value_bytes.set(0);
        match stream.next() {
            None => return Ok(()),
            Some(Ok(v)) => on(at.line.get(), v)?,
            Some(Err(e)) => return Err(json_error(e, &at)),
        }
    }
}

/// The elements of one top-level JSON array.
pub fn array(input: impl Read, on: &mut OnValue) -> Result<(), InputError> {
    let (reader, at) = counted(input);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut failed = None;
    let seed = Elements {
        on,
        at: &at,
        failed: &mut failed,
    };
    let result = de.deserialize_seq(seed).and_then(|()| de.end());
    if let Some(e) = failed {
        return Err(e);
    }
    result.map_err(|e| json_error(e, &at))
}

/// The elements of the `data` array of a top-level object (its other members are skipped).
pub fn data_array(input: impl Read, on: &mut OnValue) -> Result<(), InputError> {
    let (reader, at) = counted(input);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut failed = None;
    let seed = DataMember {
        on,
        at: &at,
        failed: &mut failed,
    };
    let result = de.deserialize_map(seed).and_then(|()| de.end());
    if let Some(e) = failed {
        return Err(e);
    }
    result.map_err(|e| json_error(e, &at))
}

/// Hands each element of a sequence to `on`, one at a time.
struct Elements<'a, 'b> {
    on: &'a mut OnValue<'b>,
    at: &'a Position,
    /// The callback's own error, which stops the read (serde only carries its own).
    failed: &'a mut Option<InputError>,
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.at.value_bytes.set(0);
            match seq.next_element::<serde_json::Value>()? {
                None => return Ok(()),
                Some(v) => {
                    if let Err(e) = (self.on)(self.at.line.get(), v) {
                        *self.failed = Some(e);
                        return Err(serde::de::Error::custom("stopped"));
                    }
                }
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

/// Finds `data` in an object and hands its elements on.
struct DataMember<'a, 'b> {
    on: &'a mut OnValue<'b>,
    at: &'a Position,
    failed: &'a mut Option<InputError>,
}

impl<'de> Visitor<'de> for DataMember<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Analytics Engine response: an object with a data array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_data = false;
        while let Some(key) = map.next_key::<String>()? {
            self.at.value_bytes.set(0);
            if key == "data" && !seen_data {
                seen_data = true;
                map.next_value_seed(Elements {
                    on: self.on,
                    at: self.at,
                    failed: self.failed,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !seen_data {
            return Err(serde::de::Error::custom("no data array"));
        }
        Ok(())
    }
}
