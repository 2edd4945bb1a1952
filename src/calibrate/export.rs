//! Any export `calibrate` reads, by its format: a text log or CSV (`input`), or one of
//! Cloudflare's event exports (`events`), each into the same calibration.

use super::deconvolve::deconvolve;
use super::events::{self, Format, Observed, Options};
use super::input::{read_totals, Calibration, InputError, Lines};

/// Reads an export of any format `calibrate` knows (`forced`, or the content's: a text log, a
/// CSV, or one of Cloudflare's event exports, gzip or not), one bounded line or event at a
/// time: the calibration, and for an event export what production says besides.
pub fn calibrate_export(
    input: impl std::io::Read + 'static,
    forced: Option<Format>,
    sequential: bool,
    options: &Options,
) -> Result<(Calibration, Option<Observed>), InputError> {
    let (format, reader) = events::open(input, forced)?;
    let (mut c, observed) = if format == Format::Text {
        (read_totals(&mut Lines::new(reader))?, None)
    } else {
        let mut c = Calibration::empty(format.name());
        let observed = events::read(reader, format, options, |line, r| {
            c.candidates += 1;
            match r {
                Ok(v) => c.push(v),
                Err(e) => c.malformed_at(line, e),
            }
        })?;
        (c, Some(observed))
    };
    if sequential && !c.samples_ms.is_empty() {
        let (per_read_ms, how) = deconvolve(&c.samples_ms);
        c.samples_ms = per_read_ms;
        c.deconvolution = Some(how);
    }
    Ok((c, observed))
}
