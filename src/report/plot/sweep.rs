//! Sweep plots: the failure rate against one parameter (lines with their interval bands, the
//! scenario's own value and the write-up's band), heatmaps of a 2-D grid with the difference
//! to the baseline, and for a swarm or 3+ parameters one panel per parameter.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::heatmap::{Colors, Heatmap};
use super::{color, frame, nice_ticks, render, seeds_text, tick_text, unit_of, PlotError};
use super::{
    DrawResult, Drawing, Entry, Meta, Plot, Swatch, FONT, MARK_RADIUS_PX, TEXT, TEXT_SMALL,
};
use crate::metrics::VariantSummary;
use crate::names::Figure;
use crate::scenario::Number;
use crate::sweep::{PointResult, SweepResult};

/// Most panels of a per-parameter plot (the CSV has every parameter).
const PANELS_MAX: usize = 12;

/// Largest parameter value, in size, placed on a numeric axis: past it (up to `f64::MAX`, which
/// makes the axis' width infinite and its tick search endless) the values are drawn as
/// categories, in order.
const AXIS_ABS_MAX: f64 = 1e15;

/// A parameter's value as a number a numeric axis can hold.
fn axis_number(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() <= AXIS_ABS_MAX)
}

/// The file stems of a sweep's plots, known from its definition before it runs (so that the
/// files can be checked before anything runs): a 1-D grid gets `failure-rate`; a 2-D grid
/// `heatmap-VARIANT` per variant and `heatmap-diff-VARIANT` per variant after the baseline; a
/// swarm or a grid of 3 or more parameters `failure-rate-by-param`.
pub fn sweep_plot_names(def: &crate::sweep::SweepDef) -> Vec<String> {
    let variants = def.variant_names();
    match def.params.len() {
        0 => Vec::new(),
        _ if def.swarm.is_some() => vec![BY_PARAM.to_string()],
        1 => vec![LINES.to_string()],
        2 => {
            let maps = variants.iter().map(|v| heatmap_name(v));
            maps.chain(variants.iter().skip(1).map(|v| diff_name(v)))
                .collect()
        }
        _ => vec![BY_PARAM.to_string()],
    }
}

const LINES: &str = "failure-rate";
const BY_PARAM: &str = "failure-rate-by-param";

fn heatmap_name(variant: &str) -> String {
    format!("heatmap-{variant}")
}

fn diff_name(variant: &str) -> String {
    format!("heatmap-diff-{variant}")
}

/// The plots of [`sweep_plot_names`], drawn.
pub fn sweep_plots(sweep: &SweepResult, png: bool) -> Result<Vec<Plot>, PlotError> {
    let def = &sweep.definition;
    if sweep.points.is_empty() || def.params.is_empty() {
        return Ok(Vec::new());
    }
    match def.params.len() {
        _ if def.swarm.is_some() => Ok(vec![panels(sweep, png)?]),
        1 => Ok(vec![lines(sweep, png)?]),
        2 => heatmaps(sweep, png),
        _ => Ok(vec![panels(sweep, png)?]),
    }
}

/// The rate of every point for variant `v`, by point.
fn rates(sweep: &SweepResult, v: &str) -> Vec<Option<f64>> {
    sweep
        .points
        .iter()
        .map(|p| {
            p.variants
                .iter()
                .find(|s| s.variant == v)
                .map(|s| s.failure_rate.value)
        })
        .collect()
}

fn heatmaps(sweep: &SweepResult, png: bool) -> Result<Vec<Plot>, PlotError> {
    let def = &sweep.definition;
    let seeds = seeds_text(&def.seeds);
    let name = &sweep.base.scenario.name;
    let names = def.variant_names();
    let all: Vec<Vec<Option<f64>>> = names.iter().map(|v| rates(sweep, v)).collect();
    // One scale for every variant, so that equal colours are equal rates.
    let top = all
        .iter()
        .flatten()
        .flatten()
        .fold(0.0f64, |a, b| a.max(*b));
    let max = nice_ticks(0.0, top.max(0.01), 4)
        .last()
        .copied()
        .unwrap_or(1.0);
    let max = if max < top { top } else { max };
    let mut plots = Vec::new();
    for (v, values) in names.iter().zip(&all) {
        let title = format!("{name} — {v} failure rate, {seeds}");
        let caption = format!(
            "Failure rate of {v} at each grid point (jobs not ok / jobs, pooled over {seeds}); \
             every variant's heatmap shares one colour scale, 0 to {:.0}%.",
            max * 100.0
        );
        let map = Heatmap {
            title: vec![title.clone()],
            sweep,
            values: values.clone(),
            colors: Colors::Sequential { max },
            bar_label: "failure rate".into(),
        };
        let meta = Meta {
            name: heatmap_name(v),
            title,
            caption,
        };
        plots.push(render(meta, png, &map)?);
    }
    let (base, base_values) = (&names[0], &all[0]);
    for (v, values) in names.iter().zip(&all).skip(1) {
        let diff: Vec<Option<f64>> = values
            .iter()
            .zip(base_values)
            .map(|(a, b)| Some((*a)? - (*b)?))
            .collect();
        let m = diff.iter().flatten().fold(0.01f64, |a, b| a.max(b.abs()));
        let title = format!("{name} — {v} minus {base}, failure rate, {seeds}");
        let caption = format!(
            "Difference in failure rate, {v} − {base}, in percentage points: blue where {v} \
             fails less, vermillion where it fails more."
        );
        let map = Heatmap {
            title: vec![title.clone()],
            sweep,
            values: diff,
            colors: Colors::Diverging { max: m },
            bar_label: format!("{v} − {base}"),
        };
        let meta = Meta {
            name: diff_name(v),
            title,
            caption,
        };
        plots.push(render(meta, png, &map)?);
    }
    Ok(plots)
}

/// The write-up's failure rates the scenario states, per variant: `(variant, low, high)`.
fn reported_rates(sweep: &SweepResult) -> Vec<(usize, f64, f64)> {
    let names = sweep.definition.variant_names();
    sweep
        .base
        .reported_figures()
        .into_iter()
        .filter(|r| r.figure.figure == Figure::FailureRate)
        .filter_map(|r| {
            let i = names.iter().position(|n| n == r.figure.variant.name())?;
            let (lo, hi) = r.stated.bounds();
            Some((i, lo, hi))
        })
        .collect()
}

fn lines(sweep: &SweepResult, png: bool) -> Result<Plot, PlotError> {
    let def = &sweep.definition;
    let key = &def.params[0].key;
    let name = &sweep.base.scenario.name;
    let title = format!("{name} — failure rate vs {key}, {}", seeds_text(&def.seeds));
    let labels: Vec<String> = sweep.points.iter().map(|p| p.params[0].1.clone()).collect();
    let numeric: Option<Vec<f64>> = labels.iter().map(|x| axis_number(x)).collect();
    let own = numeric
        .is_some()
        .then(|| sweep.base.number_at(key).ok().map(Number::as_f64))
        .flatten()
        .filter(|v| v.abs() <= AXIS_ABS_MAX);
    let mut caption = format!(
        "Failure rate (jobs not ok / jobs) per variant against {key}; the band around each \
         line is its 95% Wilson interval."
    );
    if let Some(v) = own {
        caption.push_str(&format!(
            " The black line marks the scenario's own value, {}.",
            tick_text(v)
        ));
    }
    if !reported_rates(sweep).is_empty() {
        caption.push_str(" Dashed lines bound the write-up's failure rates ([reported]).");
    }
    let l = Lines {
        title: title.clone(),
        sweep,
        numeric,
        labels,
        x_desc: format!("{key}{}", unit_of(key)),
        own,
    };
    let meta = Meta {
        name: LINES.into(),
        title,
        caption,
    };
    render(meta, png, &l)
}

struct Lines<'a> {
    title: String,
    sweep: &'a SweepResult,
    numeric: Option<Vec<f64>>,
    labels: Vec<String>,
    x_desc: String,
    /// The scenario's own value of the parameter.
    own: Option<f64>,
}

impl Lines<'_> {
    fn xs(&self) -> Vec<f64> {
        match &self.numeric {
            Some(n) => n.clone(),
            None => (0..self.labels.len()).map(|i| i as f64).collect(),
        }
    }

    fn legend(&self) -> Vec<Entry> {
        let mut legend: Vec<Entry> = self
            .sweep
            .definition
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| Entry::new(Swatch::Line(color(i), 3), v.name()).note("band: 95% CI"))
            .collect();
        let names = self.sweep.definition.variant_names();
        for (i, lo, hi) in reported_rates(self.sweep) {
            let text = format!("{} write-up", names[i]);
            let range = format!("{:.0}–{:.0}%", lo * 100.0, hi * 100.0);
            legend.push(Entry::new(Swatch::Dashed(color(i)), text).note(range));
        }
        if let Some(v) = self.own {
            legend.push(Entry::new(
                Swatch::Line(BLACK, 2),
                format!("scenario: {}", tick_text(v)),
            ));
        }
        legend
    }
}

impl Drawing for Lines<'_> {
    fn mark_titles(&self) -> Vec<String> {
        titles_by_variant(self.sweep)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let area = frame(&root, std::slice::from_ref(&self.title), &self.legend())?;
        let xs = self.xs();
        let (lo, hi) = xs
            .iter()
            .chain(self.own.as_ref())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(*x), b.max(*x))
            });
        let pad = ((hi - lo) * 0.04).max(0.5);
        let bands = reported_rates(self.sweep);
        let y_max = self
            .sweep
            .points
            .iter()
            .flat_map(|p| p.variants.iter().map(|s| s.failure_rate.ci95_high))
            .chain(bands.iter().map(|b| b.2))
            .fold(0.05f64, f64::max)
            .min(1.0)
            * 1.08;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((lo - pad)..(hi + pad), 0f64..y_max)?;
        let label_of = |x: &f64| -> String {
            match self.numeric {
                Some(_) => tick_text(*x),
                None => self
                    .labels
                    .get(x.round() as usize)
                    .cloned()
                    .unwrap_or_default(),
            }
        };
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc("failure rate")
            .x_label_formatter(&label_of)
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .max_light_lines(2)
            .label_style((FONT, TEXT))
            .draw()?;
        // The write-up's band is bounded by dashed lines and not filled, so that it never
        // reads as a confidence band (those are filled, without edges).
        for (i, b_lo, b_hi) in bands {
            for y in [b_lo, b_hi] {
                let edge = vec![(lo - pad, y), (hi + pad, y)];
                let style = color(i).stroke_width(2);
                chart.draw_series(DashedLineSeries::new(edge, 9, 6, style))?;
            }
        }
        self.draw_variants(&mut chart, &xs)?;
        if let Some(v) = self.own {
            let mark = vec![(v, 0.0), (v, y_max)];
            chart.draw_series(LineSeries::new(mark, BLACK.stroke_width(2)))?;
        }
        root.present()?;
        Ok(())
    }
}

type LineChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

impl Lines<'_> {
    /// Each variant's interval band, line and points.
    fn draw_variants<DB: DrawingBackend>(
        &self,
        chart: &mut LineChart<'_, DB>,
        xs: &[f64],
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        for (vi, v) in self.sweep.definition.variants.iter().enumerate() {
            let col = color(vi);
            let pts: Vec<(f64, f64, f64, f64)> = self
                .sweep
                .points
                .iter()
                .zip(xs)
                .filter_map(|(p, x)| {
                    let s = p.variants.iter().find(|s| s.variant == v.name())?;
                    let r = s.failure_rate;
                    Some((*x, r.value, r.ci95_low, r.ci95_high))
                })
                .collect();
            let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
            band.extend(pts.iter().rev().map(|p| (p.0, p.2)));
            chart.draw_series(std::iter::once(Polygon::new(band, col.mix(0.18).filled())))?;
            let line = pts.iter().map(|p| (p.0, p.1));
            chart.draw_series(LineSeries::new(line, col.stroke_width(3)))?;
            let mark =
                |p: &(f64, f64, f64, f64)| Circle::new((p.0, p.1), MARK_RADIUS_PX, col.filled());
            chart.draw_series(pts.iter().map(mark))?;
        }
        Ok(())
    }
}

/// What a point of one variant says on hover: the point, its parameters and the variant's
/// failure rate with its interval.
fn point_title(p: &PointResult, s: &VariantSummary) -> String {
    let params: Vec<String> = p.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let r = s.failure_rate;
    format!(
        "point {}: {} — {} {:.1}% failed [{:.1}–{:.1}], {} jobs",
        p.point,
        params.join(", "),
        s.variant,
        r.value * 100.0,
        r.ci95_low * 100.0,
        r.ci95_high * 100.0,
        s.jobs
    )
}

/// Every point's title for each variant, in the order the plots draw their marks: variant by
/// variant, point by point (a point a variant did not run has no mark).
fn titles_by_variant(sweep: &SweepResult) -> Vec<String> {
    let mut titles = Vec::new();
    for v in &sweep.definition.variants {
        for p in &sweep.points {
            if let Some(s) = p.variants.iter().find(|s| s.variant == v.name()) {
                titles.push(point_title(p, s));
            }
        }
    }
    titles
}

/// One panel per parameter: every point's failure rate against that parameter's value,
/// coloured by variant.
fn panels(sweep: &SweepResult, png: bool) -> Result<Plot, PlotError> {
    let def = &sweep.definition;
    let name = &sweep.base.scenario.name;
    let what = match def.swarm {
        Some(n) => format!("swarm of {n} points"),
        None => format!("grid of {} points", sweep.points.len()),
    };
    let title = format!(
        "{name} — failure rate by parameter, {what}, {}",
        seeds_text(&def.seeds)
    );
    let mut caption = format!(
        "Each panel plots every point's failure rate against one parameter, whatever the \
         others were ({what}); colours are variants."
    );
    if def.params.len() > PANELS_MAX {
        caption.push_str(&format!(
            " The first {PANELS_MAX} of {} parameters; points.csv has all.",
            def.params.len()
        ));
    }
    let p = Panels {
        title: title.clone(),
        sweep,
    };
    let meta = Meta {
        name: BY_PARAM.into(),
        title,
        caption,
    };
    render(meta, png, &p)
}

struct Panels<'a> {
    title: String,
    sweep: &'a SweepResult,
}

/// Height of one row of panels.
const PANEL_ROW_PX: u32 = 260;

impl Panels<'_> {
    fn shown(&self) -> usize {
        self.sweep.definition.params.len().min(PANELS_MAX)
    }

    fn rows(&self) -> usize {
        self.shown().div_ceil(2)
    }

    /// Parameter `k` of every point: its value on the axis and the axis labels (numbers, or
    /// the distinct values in order of first appearance).
    fn axis(&self, k: usize) -> (Vec<f64>, Option<Vec<String>>) {
        let raw: Vec<&str> = self
            .sweep
            .points
            .iter()
            .map(|p| p.params.get(k).map_or("", |(_, v)| v.as_str()))
            .collect();
        let nums: Option<Vec<f64>> = raw.iter().map(|x| axis_number(x)).collect();
        if let Some(n) = nums {
            return (n, None);
        }
        let mut cats: Vec<String> = Vec::new();
        let xs = raw
            .iter()
            .map(|x| match cats.iter().position(|c| c == x) {
                Some(i) => i as f64,
                None => {
                    cats.push(x.to_string());
                    (cats.len() - 1) as f64
                }
            })
            .collect();
        (xs, Some(cats))
    }
}

impl Drawing for Panels<'_> {
    /// The same points in every panel, one panel per parameter.
    fn mark_titles(&self) -> Vec<String> {
        let one = titles_by_variant(self.sweep);
        (0..self.shown()).flat_map(|_| one.clone()).collect()
    }

    fn height_px(&self) -> u32 {
        70 + PANEL_ROW_PX * self.rows() as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let def = &self.sweep.definition;
        let legend: Vec<Entry> = def
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| Entry::new(Swatch::Dot(color(i)), v.name()))
            .collect();
        let area = frame(&root, std::slice::from_ref(&self.title), &legend)?;
        let y_max = self
            .sweep
            .points
            .iter()
            .flat_map(|p| p.variants.iter().map(|s| s.failure_rate.value))
            .fold(0.05f64, f64::max)
            .min(1.0)
            * 1.08;
        let cells = area.split_evenly((self.rows(), 2));
        for (k, cell) in cells.iter().enumerate().take(self.shown()) {
            self.panel(cell, k, y_max)?;
        }
        root.present()?;
        Ok(())
    }
}

impl Panels<'_> {
    fn panel<DB: DrawingBackend>(
        &self,
        cell: &DrawingArea<DB, Shift>,
        k: usize,
        y_max: f64,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let def = &self.sweep.definition;
        let key = &def.params[k].key;
        let (xs, cats) = self.axis(k);
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(*x), b.max(*x))
            });
        let pad = ((hi - lo) * 0.05).max(0.5);
        let mut chart = ChartBuilder::on(cell)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d((lo - pad)..(hi + pad), 0f64..y_max)?;
        let label_of = |x: &f64| match &cats {
            None => tick_text(*x),
            Some(c) => c.get(x.round() as usize).cloned().unwrap_or_default(),
        };
        chart
            .configure_mesh()
            .x_desc(format!("{key}{}", unit_of(key)))
            .y_desc("failure rate")
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&label_of)
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .max_light_lines(2)
            .label_style((FONT, TEXT_SMALL))
            .draw()?;
        for (vi, v) in def.variants.iter().enumerate() {
            let dots = self.sweep.points.iter().zip(&xs).filter_map(|(p, x)| {
                let s = p.variants.iter().find(|s| s.variant == v.name())?;
                Some(Circle::new(
                    (*x, s.failure_rate.value),
                    MARK_RADIUS_PX,
                    color(vi).filled(),
                ))
            });
            chart.draw_series(dots)?;
        }
        Ok(())
    }
}
