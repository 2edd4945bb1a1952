//! The plots of a `run`: the client's upgrade time as a CDF per variant with the deadline,
//! and the storage time as one small histogram panel per variant on shared axes.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, frame, nice_ticks, render, seeds_text, tick_text, DrawResult, Drawing};
use super::{Entry, Meta, Plot, PlotError, Swatch, FONT, TEXT, TEXT_SMALL};
use crate::pipeline::Report;
use crate::record::{JobRecord, Outcome};
use crate::sim::RunOutput;

/// The x axis of the upgrade-time CDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Linear, fitted to the data (the deadline is drawn when it is near the data, and noted
    /// at the right edge when it is far beyond it).
    #[default]
    Linear,
    /// Logarithmic, from the fastest upgrade to past the deadline: both always fit.
    Log,
}

/// One variant's samples of a timing.
struct Series {
    name: String,
    /// Sorted samples (first attempts).
    xs: Vec<u64>,
    jobs: u64,
    /// Jobs that ended `ok` (after any retries).
    ok: u64,
}

fn series(report: &Report, runs: &[RunOutput], f: fn(&JobRecord) -> Option<u64>) -> Vec<Series> {
    report
        .variants
        .iter()
        .map(|v| {
            let mut xs: Vec<u64> = runs
                .iter()
                .filter(|r| r.variant == v.variant)
                .flat_map(|r| r.records.iter().filter_map(f))
                .collect();
            xs.sort_unstable();
            Series {
                name: v.variant.clone(),
                xs,
                jobs: v.jobs,
                ok: v.outcome(Outcome::Ok),
            }
        })
        .collect()
}

/// The file stems of a `run`'s plots.
pub const RUN_PLOT_NAMES: [&str; 2] = [CDF, HISTOGRAM];
const CDF: &str = "upgrade-cdf";
const HISTOGRAM: &str = "storage-histogram";

/// The plots of a `run`: `upgrade-cdf` and `storage-histogram`.
pub fn run_plots(
    report: &Report,
    runs: &[RunOutput],
    png: bool,
    scale: Scale,
) -> Result<Vec<Plot>, PlotError> {
    let s = &report.scenario;
    let c = &s.client;
    let deadline_ms = c.upgrade_deadline_ms() as f64;
    let seeds = seeds_text(&report.seeds);
    let upgrades = series(report, runs, |r| r.client_upgrade_ms);
    let title = format!("{} — client upgrade time, {seeds}", s.scenario.name);
    let cdf = Cdf {
        title: title.clone(),
        series: upgrades,
        deadline_ms,
        scale,
    };
    let cdf = render(
        Meta {
            name: CDF.into(),
            caption: cdf.caption(),
            title,
        },
        png,
        &cdf,
    )?;
    let storage = series(report, runs, |r| r.storage_ms);
    let title = format!(
        "{} — storage time of the token read, {seeds}",
        s.scenario.name
    );
    let caption = "One panel per variant on shared axes: how many jobs' first upgrade \
                   attempt that reached the object spent how long reading the token from \
                   storage."
        .to_string();
    let hist = render(
        Meta {
            name: HISTOGRAM.into(),
            title: title.clone(),
            caption,
        },
        png,
        &Facets {
            title,
            series: storage,
        },
    )?;
    Ok(vec![cdf, hist])
}

struct Cdf {
    title: String,
    series: Vec<Series>,
    deadline_ms: f64,
    scale: Scale,
}

impl Cdf {
    /// Whether some jobs ended ok without a 101 on their first attempt (retries, faults):
    /// the plot then counts fewer upgrades than the table counts ok jobs.
    fn first_attempts_differ(&self) -> bool {
        self.series.iter().any(|s| s.xs.len() as u64 != s.ok)
    }

    fn subtitle(&self) -> String {
        let base = "Share of jobs whose first upgrade attempt got its 101 by then";
        if self.first_attempts_differ() {
            format!(
                "{base} — first attempts only: jobs that ended ok after a retry are not counted"
            )
        } else {
            base.to_string()
        }
    }

    fn caption(&self) -> String {
        let counts: Vec<String> = self
            .series
            .iter()
            .map(|s| {
                format!(
                    "{}: {} of {} first attempts got a 101 ({} ended ok)",
                    s.name,
                    s.xs.len(),
                    s.jobs,
                    s.ok
                )
            })
            .collect();
        format!(
            "{}. {}; the black line is the client's deadline ({} ms).",
            self.subtitle(),
            counts.join("; "),
            self.deadline_ms
        )
    }

    fn data_max(&self) -> f64 {
        self.series
            .iter()
            .filter_map(|s| s.xs.last())
            .map(|x| *x as f64)
            .fold(1.0, f64::max)
    }

    /// The axis range in plot coordinates (log10 of ms on a log scale), its ticks, and
    /// whether the deadline is on it.
    fn axis(&self) -> (f64, f64, Vec<f64>, bool) {
        let data_max = self.data_max();
        match self.scale {
            Scale::Linear => {
                // The deadline stretches the axis only when it is near the data.
                let shown = self.deadline_ms <= 1.5 * data_max;
                let hi = if shown {
                    self.deadline_ms.max(data_max)
                } else {
                    data_max
                } * 1.05;
                (0.0, hi, whole_ms(nice_ticks(0.0, hi, 8)), shown)
            }
            Scale::Log => {
                let data_min = self
                    .series
                    .iter()
                    .filter_map(|s| s.xs.first())
                    .map(|x| (*x as f64).max(1.0))
                    .fold(data_max, f64::min);
                let lo = (data_min * 0.8).max(1.0).log10();
                let hi = (self.deadline_ms.max(data_max) * 1.25).log10();
                (lo, hi, log_ticks(lo, hi), true)
            }
        }
    }

    fn to_axis(&self, ms: f64) -> f64 {
        match self.scale {
            Scale::Linear => ms,
            Scale::Log => ms.max(1.0).log10(),
        }
    }

    fn legend(&self, deadline_shown: bool) -> Vec<Entry> {
        let mut legend: Vec<Entry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let e = Entry::new(Swatch::Line(color(i), 3), s.name.clone()).note(format!(
                    "{} of {} upgraded, 1st attempt",
                    s.xs.len(),
                    s.jobs
                ));
                if s.xs.len() as u64 != s.ok {
                    e.note(format!("{} of {} ended ok", s.ok, s.jobs))
                } else {
                    e
                }
            })
            .collect();
        let mut deadline = Entry::new(
            Swatch::Line(BLACK, 3),
            format!("client deadline {} ms", self.deadline_ms),
        );
        if !deadline_shown {
            deadline = deadline
                .note("far beyond the data: off the axis")
                .note("(--plot-scale log shows it)");
        }
        legend.push(deadline);
        legend
    }
}

/// The ticks at whole milliseconds: times are whole milliseconds and so are the labels, and an
/// axis a few ms wide ticked fractions, labelled "0 0 0 1 1 1".
fn whole_ms(ticks: Vec<f64>) -> Vec<f64> {
    ticks.into_iter().filter(|t| t.fract() == 0.0).collect()
}

/// The lowest top of a histogram's count axis: its labels are whole jobs, and an axis of one
/// job labelled them "0 0 1".
const COUNT_AXIS_MIN: u64 = 2;

/// Ticks at 1, 2 and 5 times powers of ten within `lo..hi` (log10 units).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for e in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in [1.0, 2.0, 5.0] {
            let t = (m * 10f64.powi(e)).log10();
            if t >= lo && t <= hi {
                out.push(t);
            }
        }
    }
    out
}

impl Drawing for Cdf {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (lo, hi, ticks, deadline_shown) = self.axis();
        let area = frame(
            &root,
            &[self.title.clone(), self.subtitle()],
            &self.legend(deadline_shown),
        )?;
        let log = self.scale == Scale::Log;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .margin_top(28)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(lo..hi, 0f64..1.02f64)?;
        let x_desc = if log {
            "client upgrade time, request sent → 101 (ms, log scale)"
        } else {
            "client upgrade time, request sent → 101 (ms)"
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_desc(x_desc)
            .y_desc("share of jobs upgraded by then")
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .max_light_lines(2)
            .label_style((FONT, TEXT))
            .draw()?;
        // The x ticks are drawn here: round milliseconds on either scale.
        for t in ticks {
            let grid = vec![(t, 0.0), (t, 1.02)];
            chart.draw_series(LineSeries::new(grid, BLACK.mix(0.1)))?;
            let ms = if log { 10f64.powf(t) } else { t };
            let (px, py) = chart.backend_coord(&(t, 0.0));
            let style = TextStyle::from((FONT, TEXT).into_font()).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                ),
            );
            root.draw(&Text::new(tick_text(ms.round()), (px, py + 6), style))?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let n = s.jobs.max(1) as f64;
            let mut pts = vec![(lo, 0.0)];
            for (k, x) in s.xs.iter().enumerate() {
                let x = self.to_axis(*x as f64);
                pts.push((x, k as f64 / n));
                pts.push((x, (k + 1) as f64 / n));
            }
            pts.push((hi, s.xs.len() as f64 / n));
            // Earlier variants are drawn wider, so that a later curve on top of one leaves
            // its edges showing.
            let width = 2 + (self.series.len() - 1 - i).min(3) as u32;
            chart.draw_series(LineSeries::new(pts, color(i).stroke_width(width)))?;
        }
        if deadline_shown {
            let x = self.to_axis(self.deadline_ms);
            chart.draw_series(LineSeries::new(
                vec![(x, 0.0), (x, 1.02)],
                BLACK.stroke_width(3),
            ))?;
            // The label sits above the plotting area, so that it covers no curve.
            let label = format!("deadline {} ms", self.deadline_ms);
            let (px, py) = chart.backend_coord(&(x, 1.02));
            let style = TextStyle::from((FONT, TEXT).into_font()).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Bottom,
                ),
            );
            root.draw(&Text::new(label, (px + 2, py - 4), style))?;
        }
        root.present()?;
        Ok(())
    }
}

/// Histograms, one panel per variant, on shared axes, drawn as step outlines.
struct Facets {
    title: String,
    series: Vec<Series>,
}

/// Height of one histogram panel.
const PANEL_PX: u32 = 150;

impl Facets {
    /// The largest value on the axis: the pooled 99th percentile when the maximum lies far
    /// beyond it (a fault's 4 s spike would squeeze every other read into one bin), else the
    /// maximum.
    fn cap(&self) -> u64 {
        let mut all: Vec<u64> = self
            .series
            .iter()
            .flat_map(|s| s.xs.iter().copied())
            .collect();
        all.sort_unstable();
        let Some(max) = all.last().copied() else {
            return 0;
        };
        let p99 = all[(all.len() * 99).div_ceil(100).saturating_sub(1)];
        if max as f64 <= 1.5 * p99 as f64 {
            max
        } else {
            p99
        }
    }

    /// Bin width and bin counts of every series, up to the cap.
    fn bins(&self) -> (u64, Vec<Vec<u64>>) {
        let cap = self.cap();
        let bin = (cap as f64 / 40.0).ceil().max(1.0) as u64;
        let bins = (cap / bin + 1) as usize;
        let counts = self
            .series
            .iter()
            .map(|s| {
                let mut c = vec![0u64; bins];
                for x in s.xs.iter().filter(|x| **x <= cap) {
                    c[(*x / bin) as usize] += 1;
                }
                c
            })
            .collect();
        (bin, counts)
    }

    fn legend(&self) -> Vec<Entry> {
        let cap = self.cap();
        (self.series.iter().enumerate())
            .map(|(i, s)| {
                let e = Entry::new(Swatch::Box(color(i)), s.name.clone())
                    .note(format!("{} reads", s.xs.len()));
                match s.xs.iter().filter(|x| **x > cap).count() {
                    0 => e,
                    n => e.note(format!(
                        "{n} beyond {cap} ms (max {})",
                        s.xs.last().unwrap_or(&0)
                    )),
                }
            })
            .collect()
    }
}

impl Drawing for Facets {
    fn height_px(&self) -> u32 {
        96 + PANEL_PX * self.series.len().max(1) as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let area = frame(&root, std::slice::from_ref(&self.title), &self.legend())?;
        let (bin, counts) = self.bins();
        // At least ten bins wide: reads that all take 0 ms make one bin, and an axis one bin
        // wide labels its ticks "0 0 0 0 0 1 1 1 1".
        let bins = counts.first().map_or(1, Vec::len).max(10);
        let x_max = (bins as u64 * bin) as f64;
        let y_max = counts
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(0)
            .max(COUNT_AXIS_MIN) as f64
            * 1.1;
        let n = self.series.len().max(1);
        let (panels, axis) = area.split_vertically(PANEL_PX * n as u32);
        let rows = panels.split_evenly((n, 1));
        for (i, ((s, c), panel)) in self.series.iter().zip(&counts).zip(&rows).enumerate() {
            let last = i + 1 == n;
            let mut chart = ChartBuilder::on(panel)
                .margin_left(12)
                .margin_right(12)
                .margin_top(6)
                .x_label_area_size(if last { 30 } else { 0 })
                .y_label_area_size(64)
                .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
            let mut mesh = chart.configure_mesh();
            mesh.y_desc("jobs")
                .y_labels(3)
                .max_light_lines(2)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style((FONT, TEXT_SMALL));
            if !last {
                mesh.disable_x_axis();
            }
            mesh.draw()?;
            draw_steps(&mut chart, c, bin, color(i))?;
            let style = TextStyle::from((FONT, TEXT).into_font()).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Top,
                ),
            );
            let label = format!("{} ({} reads)", s.name, s.xs.len());
            chart
                .plotting_area()
                .draw(&Text::new(label, (x_max, y_max), style))?;
        }
        let desc = format!("storage time (ms, bins of {bin} ms)");
        axis.draw(&Text::new(desc, (WIDTH_HALF, 8), (FONT, TEXT)))?;
        root.present()?;
        Ok(())
    }
}

/// Where the x-axis description of the panels starts.
const WIDTH_HALF: i32 = 300;

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A histogram as a light fill under a step outline.
fn draw_steps<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    counts: &[u64],
    bin: u64,
    col: RGBColor,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut pts = vec![(0.0, 0.0)];
    for (b, n) in counts.iter().enumerate() {
        let (x0, x1) = ((b as u64 * bin) as f64, ((b as u64 + 1) * bin) as f64);
        pts.push((x0, *n as f64));
        pts.push((x1, *n as f64));
    }
    pts.push(((counts.len() as u64 * bin) as f64, 0.0));
    chart.draw_series(AreaSeries::new(pts.clone(), 0.0, col.mix(0.25)))?;
    chart.draw_series(LineSeries::new(pts, col.stroke_width(2)))?;
    Ok(())
}
