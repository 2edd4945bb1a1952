//! Plots (plotters): SVG always, PNG where asked. Text uses the bundled DejaVu Sans, so the
//! output does not depend on the fonts of the machine.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Report;
use crate::sim::RunOutput;
use crate::sweep::SweepResult;

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (900, 560);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let font: &'static [u8] = include_bytes!("../../assets/DejaVuSans.ttf");
        let registered = plotters::style::register_font(FONT, FontStyle::Normal, font);
        assert!(registered.is_ok(), "the bundled font is a valid TTF");
    });
}

/// Draws the legend box of a chart, the same on every plot.
macro_rules! legend {
    ($chart:expr, $position:expr) => {
        $chart
            .configure_series_labels()
            .position($position)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?
    };
}

/// One rendered plot.
pub struct Plot {
    /// File stem, e.g. `upgrade-cdf`.
    pub name: String,
    pub title: String,
    pub svg: String,
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A plot that can draw itself on any backend (SVG text, PNG bitmap).
trait Drawing {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Renders to an SVG string, and to `png/NAME.png` when asked.
fn render(name: &str, title: &str, png: Option<&Path>, d: &impl Drawing) -> Result<Plot, String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        d.draw(root).map_err(|e| format!("plot {name}: {e}"))?;
    }
    if let Some(dir) = png {
        let path = dir.join(format!("{name}.png"));
        let root = BitMapBackend::new(&path, SIZE).into_drawing_area();
        d.draw(root)
            .map_err(|e| format!("plot {}: {e}", path.display()))?;
    }
    Ok(Plot {
        name: name.into(),
        title: title.into(),
        svg,
    })
}

fn color(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

fn seeds_text(seeds: &[u64]) -> String {
    match seeds {
        [one] => format!("seed {one}"),
        [first, .., last] => format!("seeds {first}..={last}"),
        [] => "no seed".into(),
    }
}

/// The plots of a `run`: client upgrade time CDF per variant with the deadline, and a
/// histogram of storage time per variant.
pub fn run_plots(
    report: &Report,
    runs: &[RunOutput],
    png: Option<&Path>,
) -> Result<Vec<Plot>, String> {
    let s = &report.scenario;
    let c = &s.client;
    let deadline_ms = c
        .handshake_timeout_ms
        .min(c.ping_after_ms + c.ping_timeout_ms) as f64;
    let variants: Vec<&str> = report.variants.iter().map(|v| v.variant.as_str()).collect();
    let per_variant =
        |f: fn(&crate::record::JobRecord) -> Option<u64>| -> Vec<(String, Vec<u64>, usize)> {
            variants
                .iter()
                .map(|v| {
                    let mut xs: Vec<u64> = runs
                        .iter()
                        .filter(|r| r.variant == *v)
                        .flat_map(|r| r.records.iter().filter_map(f))
                        .collect();
                    xs.sort_unstable();
                    let jobs = runs
                        .iter()
                        .filter(|r| r.variant == *v)
                        .map(|r| r.records.len())
                        .sum();
                    (v.to_string(), xs, jobs)
                })
                .collect()
        };
    let upgrades = per_variant(|r| r.client_upgrade_ms);
    let storage = per_variant(|r| r.storage_ms);
    let seeds = seeds_text(&report.seeds);

    let cdf_title = format!("{} — client upgrade time, {seeds}", s.scenario.name);
    let x_max = upgrades
        .iter()
        .flat_map(|(_, xs, _)| xs.last().copied())
        .fold(deadline_ms, |a, b| a.max(b as f64))
        * 1.05
        + 1.0;
    let cdf = render(
        "upgrade-cdf",
        &cdf_title,
        png,
        &Cdf {
            title: &cdf_title,
            series: &upgrades,
            deadline_ms,
            x_max,
        },
    )?;
    let hist_title = format!(
        "{} — storage time of the token read, {seeds}",
        s.scenario.name
    );
    let hist = render(
        "storage-histogram",
        &hist_title,
        png,
        &Histogram {
            title: &hist_title,
            series: &storage,
        },
    )?;
    Ok(vec![cdf, hist])
}

type Series = [(String, Vec<u64>, usize)];

struct Cdf<'a> {
    title: &'a str,
    series: &'a Series,
    deadline_ms: f64,
    x_max: f64,
}

impl Drawing for Cdf<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let Cdf {
            title,
            series,
            deadline_ms,
            x_max,
        } = *self;
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, 0f64..1.02f64)?;
        chart
            .configure_mesh()
            .x_desc("client upgrade time, request sent → 101 (ms)")
            .y_desc("fraction of jobs upgraded by then")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 14))
            .draw()?;
        for (i, (name, xs, jobs)) in series.iter().enumerate() {
            let col = color(i);
            let n = (*jobs).max(1) as f64;
            let mut pts = vec![(0.0, 0.0)];
            for (k, x) in xs.iter().enumerate() {
                pts.push((*x as f64, k as f64 / n));
                pts.push((*x as f64, (k + 1) as f64 / n));
            }
            pts.push((x_max, xs.len() as f64 / n));
            chart
                .draw_series(LineSeries::new(pts, col.stroke_width(2)))?
                .label(format!("{name} ({} of {jobs} upgraded)", xs.len()))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2))
                });
        }
        chart
            .draw_series(LineSeries::new(
                vec![(deadline_ms, 0.0), (deadline_ms, 1.02)],
                BLACK.mix(0.6).stroke_width(1),
            ))?
            .label(format!("client deadline {deadline_ms} ms"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6)));
        legend!(chart, SeriesLabelPosition::LowerRight);
        root.present()?;
        Ok(())
    }
}

struct Histogram<'a> {
    title: &'a str,
    series: &'a Series,
}

impl Drawing for Histogram<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let Histogram { title, series } = *self;
        root.fill(&WHITE)?;
        let max = series
            .iter()
            .flat_map(|(_, xs, _)| xs.last().copied())
            .max()
            .unwrap_or(0);
        let bin = ((max as f64 / 40.0).ceil() as u64).max(1);
        let bins = (max / bin + 1) as usize;
        let counts: Vec<Vec<u64>> = series
            .iter()
            .map(|(_, xs, _)| {
                let mut c = vec![0u64; bins];
                for x in xs {
                    c[(*x / bin) as usize] += 1;
                }
                c
            })
            .collect();
        let y_max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
        let x_max = (bins as u64 * bin) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max.max(1.0), 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc(format!("storage time (ms, bins of {bin} ms)"))
            .y_desc("jobs")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 14))
            .draw()?;
        for (i, ((name, xs, _), c)) in series.iter().zip(&counts).enumerate() {
            let col = color(i);
            chart
                .draw_series(c.iter().enumerate().filter(|(_, n)| **n > 0).map(|(b, n)| {
                    let x0 = (b as u64 * bin) as f64;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + bin as f64, *n as f64)],
                        col.mix(0.45).filled(),
                    )
                }))?
                .label(format!("{name} ({} reads)", xs.len()))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], col.mix(0.45).filled())
                });
        }
        legend!(chart, SeriesLabelPosition::UpperRight);
        root.present()?;
        Ok(())
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

/// Sweep plots: failure rate against a 1-D parameter with its interval band (one line per
/// variant), or a heatmap per variant for a 2-D grid. Other shapes get no plot.
pub fn sweep_plots(sweep: &SweepResult, png: Option<&Path>) -> Result<Vec<Plot>, String> {
    let def = &sweep.definition;
    if def.swarm.is_some() || sweep.points.is_empty() {
        return Ok(Vec::new());
    }
    let seeds = seeds_text(&def.seeds);
    let name = &sweep.base.scenario.name;
    match def.params.len() {
        1 => {
            let key = &def.params[0].key;
            let title = format!("{name} — failure rate vs {key}, {seeds}");
            let xs: Vec<String> = sweep.points.iter().map(|p| p.params[0].1.clone()).collect();
            let numeric: Option<Vec<f64>> = xs
                .iter()
                .map(|x| x.parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect();
            let x_desc = format!("{key}{}", unit_of(key));
            let plot = render(
                "failure-rate",
                &title,
                png,
                &Lines {
                    title: &title,
                    sweep,
                    numeric: numeric.as_deref(),
                    labels: &xs,
                    x_desc: &x_desc,
                },
            )?;
            Ok(vec![plot])
        }
        2 => def
            .variants
            .iter()
            .enumerate()
            .map(|(vi, v)| {
                let title = format!("{name} — {v} failure rate, {seeds}");
                render(
                    &format!("heatmap-{v}"),
                    &title,
                    png,
                    &Heatmap {
                        title: &title,
                        sweep,
                        variant: vi,
                    },
                )
            })
            .collect(),
        _ => Ok(Vec::new()),
    }
}

struct Lines<'a> {
    title: &'a str,
    sweep: &'a SweepResult,
    numeric: Option<&'a [f64]>,
    labels: &'a [String],
    x_desc: &'a str,
}

impl Drawing for Lines<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let Lines {
            title,
            sweep,
            numeric,
            labels,
            x_desc,
        } = *self;
        root.fill(&WHITE)?;
        let xs: Vec<f64> = match numeric {
            Some(n) => n.to_vec(),
            None => (0..labels.len()).map(|i| i as f64).collect(),
        };
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(*x), b.max(*x))
            });
        let pad = ((hi - lo) * 0.04).max(0.5);
        let y_max = sweep
            .points
            .iter()
            .flat_map(|p| p.variants.iter().map(|s| s.failure_rate.ci95_high))
            .fold(0.05f64, f64::max)
            .min(1.0)
            * 1.08;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((lo - pad)..(hi + pad), 0f64..y_max)?;
        let label_of = |x: &f64| -> String {
            match numeric {
                Some(_) => format!("{x}"),
                None => labels.get(x.round() as usize).cloned().unwrap_or_default(),
            }
        };
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("failure rate (band: 95% Wilson interval)")
            .x_label_formatter(&label_of)
            .label_style((FONT, 14))
            .draw()?;
        for (vi, v) in sweep.definition.variants.iter().enumerate() {
            let col = color(vi);
            let pts: Vec<(f64, f64, f64, f64)> = sweep
                .points
                .iter()
                .zip(&xs)
                .filter_map(|(p, x)| {
                    let s = p.variants.iter().find(|s| s.variant == v.name())?;
                    Some((
                        *x,
                        s.failure_rate.value,
                        s.failure_rate.ci95_low,
                        s.failure_rate.ci95_high,
                    ))
                })
                .collect();
            let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
            band.extend(pts.iter().rev().map(|p| (p.0, p.2)));
            chart.draw_series(std::iter::once(Polygon::new(band, col.mix(0.18).filled())))?;
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.1)),
                    col.stroke_width(2),
                ))?
                .label(v.name())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2))
                });
            chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 3, col.filled())))?;
        }
        legend!(chart, SeriesLabelPosition::UpperRight);
        root.present()?;
        Ok(())
    }
}

fn heat(v: f64) -> RGBColor {
    // White (0) through orange to dark red (1).
    let v = v.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64, t: f64| (a + (b - a) * t).round() as u8;
    if v < 0.5 {
        let t = v / 0.5;
        RGBColor(255, lerp(255.0, 165.0, t), lerp(255.0, 0.0, t))
    } else {
        let t = (v - 0.5) / 0.5;
        RGBColor(lerp(255.0, 139.0, t), lerp(165.0, 0.0, t), 0)
    }
}

struct Heatmap<'a> {
    title: &'a str,
    sweep: &'a SweepResult,
    variant: usize,
}

impl Drawing for Heatmap<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let Heatmap {
            title,
            sweep,
            variant,
        } = *self;
        root.fill(&WHITE)?;
        let def = &sweep.definition;
        let (kx, ky) = (&def.params[0], &def.params[1]);
        let (nx, ny) = (kx.values.len(), ky.values.len());
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(96)
            .build_cartesian_2d(
                (0..nx as i32 - 1).into_segmented(),
                (0..ny as i32 - 1).into_segmented(),
            )?;
        let label = |values: &[String], s: &SegmentValue<i32>| match s {
            SegmentValue::CenterOf(i) => values.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        let xl = |s: &SegmentValue<i32>| label(&kx.values, s);
        let yl = |s: &SegmentValue<i32>| label(&ky.values, s);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(format!("{}{}", kx.key, unit_of(&kx.key)))
            .y_desc(format!("{}{}", ky.key, unit_of(&ky.key)))
            .x_labels(nx.min(20))
            .y_labels(ny.min(20))
            .x_label_formatter(&xl)
            .y_label_formatter(&yl)
            .label_style((FONT, 12))
            .draw()?;
        let v = &def.variants[variant];
        for p in &sweep.points {
            let (i, j) = (p.point / ny, p.point % ny);
            let Some(s) = p.variants.iter().find(|s| s.variant == v.name()) else {
                continue;
            };
            let rate = s.failure_rate.value;
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(i as i32), SegmentValue::Exact(j as i32)),
                    (
                        SegmentValue::Exact(i as i32 + 1),
                        SegmentValue::Exact(j as i32 + 1),
                    ),
                ],
                heat(rate).filled(),
            )))?;
            if nx * ny <= 400 {
                let text_col = if rate > 0.6 { WHITE } else { BLACK };
                chart.draw_series(std::iter::once(Text::new(
                    format!("{:.0}%", rate * 100.0),
                    (
                        SegmentValue::CenterOf(i as i32),
                        SegmentValue::CenterOf(j as i32),
                    ),
                    (FONT, 12).into_font().color(&text_col),
                )))?;
            }
        }
        root.present()?;
        Ok(())
    }
}

/// Writes every plot as `DIR/NAME.svg`.
pub fn write_svgs(dir: &Path, plots: &[Plot]) -> std::io::Result<()> {
    for p in plots {
        std::fs::write(dir.join(format!("{}.svg", p.name)), &p.svg)?;
    }
    Ok(())
}
