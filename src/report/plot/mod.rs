//! Plots (plotters): SVG always, PNG where asked. Text uses the bundled DejaVu Sans, so the
//! output does not depend on the fonts of the machine.
//!
//! Every plot has the same frame: title lines on top, the data on the left, and a legend in a
//! band of its own on the right, so a legend never covers data. Colours are the Okabe–Ito
//! palette (told apart with every common colour-vision deficiency), in variant order.

mod files;
mod heatmap;
mod run;
mod sweep;

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

pub use files::{check_plot_dir, plot_files, write_plots, MANIFEST};
pub use run::{run_plots, Scale, RUN_PLOT_NAMES};
pub use sweep::{sweep_plot_names, sweep_plots};

const FONT: &str = "sans-serif";
// Font sizes as plotters takes them: it writes 1/1.24 of the size into an SVG, so the
// smallest text, 15, is 12.1 px on a page that shows the plot at its width (WIDTH_PX).
const TEXT_SMALL: u32 = 15;
const TEXT: u32 = 17;
const TEXT_TITLE: u32 = 23;
/// Width of a plot, in pixels.
pub const WIDTH_PX: u32 = 960;
/// Width of the legend band on the right of every plot, in pixels.
pub const LEGEND_PX: u32 = 280;
/// Height of one title line.
const TITLE_LINE_PX: u32 = 24;

/// Okabe & Ito's colour-blind-safe palette without its yellow (too pale for lines on white)
/// and black (kept for deadlines and marks): blue, vermillion, bluish green, reddish purple,
/// orange, sky blue.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
];

/// The colour of the `i`-th variant.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let font: &'static [u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
        let registered = plotters::style::register_font(FONT, FontStyle::Normal, font);
        assert!(registered.is_ok(), "the bundled font is a valid TTF");
    });
}

/// One rendered plot.
pub struct Plot {
    /// File stem, e.g. `upgrade-cdf`.
    pub name: String,
    pub title: String,
    /// What the plot counts and how to read it, for a caption beside it.
    pub caption: String,
    pub svg: String,
    /// `NAME.png`, encoded, when asked for (written with the SVG by [`write_plots`]).
    pub png: Option<Vec<u8>>,
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A plot that can draw itself on any backend (SVG text, PNG bitmap).
trait Drawing {
    /// Height in pixels (the width is [`WIDTH_PX`]).
    fn height_px(&self) -> u32 {
        560
    }
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
    /// What each data point says on hover, in the order the drawing draws its point marks
    /// (circles of radius [`MARK_RADIUS_PX`]); none by default.
    fn mark_titles(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The radius of a data point's mark, which carries its hover title in the SVG; legend dots
/// are larger, so they never take one.
const MARK_RADIUS_PX: i32 = 3;

/// `svg` with a `<title>` in each point mark, in order: a browser shows it on hover, without
/// any script. Plotters writes a circle as one self-closed element.
fn with_titles(svg: &str, titles: &[String]) -> String {
    let radius = format!(" r=\"{MARK_RADIUS_PX}\"");
    let mut out = String::with_capacity(svg.len() + titles.len() * 64);
    let mut titles = titles.iter();
    let mut rest = svg;
    while let Some(at) = rest.find("<circle ") {
        let end = at + rest[at..].find("/>").map_or(rest.len() - at, |e| e + 2);
        let element = &rest[at..end];
        out.push_str(&rest[..at]);
        let mark = element.contains(&radius) && element.ends_with("/>");
        match if mark { titles.next() } else { None } {
            Some(t) => {
                out.push_str(&element[..element.len() - 2]);
                out.push_str(&format!("><title>{}</title></circle>", escape_xml(t)));
            }
            None => out.push_str(element),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What a plot is: its file stem, title and caption.
struct Meta {
    name: String,
    title: String,
    caption: String,
}

/// Renders to an SVG string, and to PNG bytes when asked (kept in memory, so that a plot
/// file is only ever written whole, by [`write_plots`]).
/// A plot that could not be drawn (plotters' backend failed): never the user's input.
#[derive(Debug, thiserror::Error)]
#[error("plot {name}: {message}")]
pub struct PlotError {
    name: String,
    message: String,
}

impl crate::failure::BadInput for PlotError {
    fn is_bad_input(&self) -> bool {
        false
    }
}

fn render(meta: Meta, png: bool, d: &impl Drawing) -> Result<Plot, PlotError> {
    register_font();
    let size = (WIDTH_PX, d.height_px());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        d.draw(root).map_err(|e| PlotError {
            name: meta.name.clone(),
            message: e.to_string(),
        })?;
    }
    let titles = d.mark_titles();
    if !titles.is_empty() {
        svg = with_titles(&svg, &titles);
    }
    let png = png
        .then(|| {
            png_bytes(size, d).map_err(|e| PlotError {
                name: format!("{}.png", meta.name),
                message: e.to_string(),
            })
        })
        .transpose()?;
    Ok(Plot {
        name: meta.name,
        title: meta.title,
        caption: meta.caption,
        svg,
        png,
    })
}

/// The drawing as a PNG file's bytes (RGB, as plotters' bitmap backend saves it).
fn png_bytes(size: (u32, u32), d: &impl Drawing) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        d.draw(root.clone())?;
        root.present()?;
    }
    let image = image::RgbImage::from_raw(size.0, size.1, rgb).ok_or("bitmap size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageOutputFormat::Png)?;
    Ok(out.into_inner())
}

/// How a legend entry shows its series.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor, u32),
    Box(RGBColor),
    Dot(RGBColor),
    /// Two dashes: a bound drawn as a dashed line (the write-up's band).
    Dashed(RGBColor),
}

/// One legend entry: a swatch, a label and smaller lines under it.
struct Entry {
    swatch: Swatch,
    label: String,
    notes: Vec<String>,
}

impl Entry {
    fn new(swatch: Swatch, label: impl Into<String>) -> Entry {
        Entry {
            swatch,
            label: label.into(),
            notes: Vec::new(),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Entry {
        self.notes.push(note.into());
        self
    }
}

/// Draws the frame of a plot (white ground, title lines, legend band) and returns the area
/// left for the data.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &[String],
    legend: &[Entry],
) -> Result<DrawingArea<DB, Shift>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let (data, band) = split_frame(root, title)?;
    draw_legend(&band, legend)?;
    Ok(data)
}

type Areas<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

/// Fills the plot white, draws the title lines and splits the rest into the data area and
/// the legend band.
fn split_frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &[String],
) -> Result<Areas<DB>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let head_px = 12 + TITLE_LINE_PX * title.len() as u32;
    let (head, body) = root.split_vertically(head_px);
    for (i, line) in title.iter().enumerate() {
        let size = if i == 0 { TEXT_TITLE } else { TEXT };
        let y = 8 + TITLE_LINE_PX as i32 * i as i32;
        head.draw(&Text::new(line.clone(), (16, y), (FONT, size).into_font()))?;
    }
    Ok(body.split_horizontally(WIDTH_PX - LEGEND_PX))
}

/// The legend, top-down in its own band.
fn draw_legend<DB: DrawingBackend>(band: &DrawingArea<DB, Shift>, legend: &[Entry]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut y = 24;
    for e in legend {
        let (x, mid) = (8, y + 7);
        match e.swatch {
            Swatch::Line(c, w) => band.draw(&PathElement::new(
                vec![(x, mid), (x + 24, mid)],
                c.stroke_width(w),
            ))?,
            Swatch::Box(c) => band.draw(&Rectangle::new(
                [(x + 4, mid - 6), (x + 20, mid + 6)],
                c.mix(0.35).filled(),
            ))?,
            Swatch::Dot(c) => band.draw(&Circle::new((x + 12, mid), 4, c.filled()))?,
            Swatch::Dashed(c) => {
                for (a, b) in [(x, x + 9), (x + 15, x + 24)] {
                    band.draw(&PathElement::new(
                        vec![(a, mid), (b, mid)],
                        c.stroke_width(2),
                    ))?;
                }
            }
        }
        band.draw(&Text::new(e.label.clone(), (x + 32, y), (FONT, TEXT)))?;
        y += 19;
        for note in &e.notes {
            let style = (FONT, TEXT_SMALL).into_font().color(&BLACK.mix(0.7));
            band.draw(&Text::new(note.clone(), (x + 32, y), style))?;
            y += 17;
        }
        y += 6;
    }
    Ok(())
}

fn seeds_text(seeds: &[u64]) -> String {
    match seeds {
        [one] => format!("seed {one}"),
        [first, .., last] => format!("seeds {first}..={last}"),
        [] => "no seed".into(),
    }
}

/// Unit of a parameter from its name (`…_ms` → ms, `…_s` → s).
fn unit_of(key: &str) -> &'static str {
    let last = key
        .split('.')
        .find(|s| s.ends_with("_ms") || s.ends_with("_s") || s.ends_with("_max"));
    match last {
        Some(s) if s.ends_with("_ms") => " (ms)",
        Some(s) if s.ends_with("_s") || s.ends_with("_s_max") => " (s)",
        _ => "",
    }
}

/// Tick positions at 1, 2 and 5 times a power of ten, about `n` of them over `lo..hi`.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A number as a tick label: no trailing zeros.
fn tick_text(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_round_numbers_within_the_range() {
        assert_eq!(
            nice_ticks(0.0, 250.0, 5),
            vec![0.0, 50.0, 100.0, 150.0, 200.0, 250.0]
        );
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.5, 1.0]);
        assert_eq!(nice_ticks(3.0, 3.0, 4), vec![3.0]);
        assert_eq!(tick_text(0.25), "0.25");
        assert_eq!(tick_text(200.0), "200");
    }

    /// The first column with ink when `text` is drawn with its pen at x = 0, 64 px high.
    fn first_ink_column(text: &str) -> Option<u32> {
        register_font();
        let (w, h) = (256u32, 96u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.draw(&Text::new(text.to_string(), (0, 0), (FONT, 64)))
                .expect("draws");
            root.present().expect("presents");
        }
        (0..w).find(|&x| (0..h).any(|y| rgb[((y * w + x) * 3) as usize] < 128))
    }

    /// DejaVu Sans's "l" has a left side bearing of about 0.09 em: drawn at the pen, its ink
    /// starts a few pixels right of it, and "cl" does not run together (PNG's "dient").
    #[test]
    fn png_text_keeps_the_side_bearing() {
        let l = first_ink_column("l").expect("ink");
        assert!(l >= 3, "the ink of \"l\" starts at column {l}, at the pen");
        let c = first_ink_column("c").expect("ink");
        assert!(c >= 2, "the ink of \"c\" starts at column {c}");
    }
}
