//! Heatmaps of a 2-D sweep: a variant's failure rate on a colour-blind-safe sequential scale
//! (viridis), or the difference between a variant and the baseline on a diverging one (blue,
//! white, vermillion), each with a colour bar in the legend band.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{nice_ticks, split_frame, tick_text, unit_of, DrawResult, Drawing};
use super::{FONT, TEXT, TEXT_SMALL};
use crate::sweep::SweepResult;

/// Viridis at nine evenly spaced stops.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

fn lerp(a: u8, b: u8, t: f64) -> u8 {
    (a as f64 + (b as f64 - a as f64) * t).round() as u8
}

/// A colour scale over `lo..=hi`.
#[derive(Clone, Copy)]
pub(super) enum Colors {
    /// Viridis from 0 (dark) to `max` (yellow).
    Sequential { max: f64 },
    /// Blue (−max) through white (0) to vermillion (+max).
    Diverging { max: f64 },
}

impl Colors {
    fn range(self) -> (f64, f64) {
        match self {
            Colors::Sequential { max } => (0.0, max),
            Colors::Diverging { max } => (-max, max),
        }
    }

    fn of(self, v: f64) -> RGBColor {
        match self {
            Colors::Sequential { max } => {
                let t = (v / max).clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
                let i = (t.floor() as usize).min(VIRIDIS.len() - 2);
                let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
                let f = t - i as f64;
                RGBColor(lerp(a.0, b.0, f), lerp(a.1, b.1, f), lerp(a.2, b.2, f))
            }
            Colors::Diverging { max } => {
                let t = (v / max).clamp(-1.0, 1.0);
                let (end, f) = if t < 0.0 {
                    ((0x00, 0x72, 0xB2), -t)
                } else {
                    ((0xD5, 0x5E, 0x00), t)
                };
                RGBColor(
                    lerp(255, end.0, f),
                    lerp(255, end.1, f),
                    lerp(255, end.2, f),
                )
            }
        }
    }

    /// Dark text on light cells, white on dark ones.
    fn text_on(self, v: f64) -> RGBColor {
        let RGBColor(r, g, b) = self.of(v);
        let luma = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
        if luma < 120.0 {
            WHITE
        } else {
            BLACK
        }
    }
}

/// A heatmap over the two parameters of a sweep.
pub(super) struct Heatmap<'a> {
    pub title: Vec<String>,
    pub sweep: &'a SweepResult,
    /// The value of each point, by point number; `None` where there is none.
    pub values: Vec<Option<f64>>,
    pub colors: Colors,
    /// What the colour bar shows.
    pub bar_label: String,
}

impl Drawing for Heatmap<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (area, band) = split_frame(&root, &self.title)?;
        let def = &self.sweep.definition;
        let (kx, ky) = (&def.params[0], &def.params[1]);
        let (nx, ny) = (kx.values.len(), ky.values.len());
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
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
            .label_style((FONT, TEXT_SMALL))
            .draw()?;
        let seg = |k: usize| SegmentValue::Exact(k as i32);
        for (p, v) in self.sweep.points.iter().zip(&self.values) {
            let (i, j) = (p.point / ny, p.point % ny);
            let Some(v) = v else { continue };
            let cell = [(seg(i), seg(j)), (seg(i + 1), seg(j + 1))];
            chart.draw_series(std::iter::once(Rectangle::new(
                cell,
                self.colors.of(*v).filled(),
            )))?;
            if nx * ny <= 400 {
                let text = match self.colors {
                    Colors::Sequential { .. } => format!("{:.0}%", v * 100.0),
                    Colors::Diverging { .. } => points_text(v * 100.0),
                };
                let style = (FONT, TEXT_SMALL)
                    .into_font()
                    .color(&self.colors.text_on(*v));
                let at = (
                    SegmentValue::CenterOf(i as i32),
                    SegmentValue::CenterOf(j as i32),
                );
                chart.draw_series(std::iter::once(Text::new(text, at, style)))?;
            }
        }
        color_bar(&band, self.colors, &self.bar_label)?;
        root.present()?;
        Ok(())
    }
}

/// A difference in percentage points, rounded: `+20`, `−82` (a true minus), and `0` for
/// anything that rounds to zero (never `+0` or `−0`).
fn points_text(pp: f64) -> String {
    let r = pp.round();
    if r == 0.0 {
        "0".into()
    } else if r > 0.0 {
        format!("+{r:.0}")
    } else {
        format!("−{:.0}", -r)
    }
}

/// A vertical colour bar with ticks, in the legend band.
fn color_bar<DB: DrawingBackend>(
    band: &DrawingArea<DB, Shift>,
    colors: Colors,
    label: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (lo, hi) = colors.range();
    let (x0, x1, top, height) = (16, 40, 48, 320);
    band.draw(&Text::new(label.to_string(), (8, 20), (FONT, TEXT)))?;
    let steps = 64;
    for k in 0..steps {
        // Top is the high end.
        let v = hi - (hi - lo) * (k as f64 + 0.5) / steps as f64;
        let y0 = top + height * k / steps;
        let y1 = top + height * (k + 1) / steps;
        band.draw(&Rectangle::new([(x0, y0), (x1, y1)], colors.of(v).filled()))?;
    }
    band.draw(&Rectangle::new(
        [(x0, top), (x1, top + height)],
        BLACK.stroke_width(1),
    ))?;
    for t in nice_ticks(lo, hi, 5) {
        let y = top + ((hi - t) / (hi - lo) * height as f64).round() as i32;
        band.draw(&PathElement::new(vec![(x1, y), (x1 + 5, y)], BLACK))?;
        let text = match colors {
            Colors::Sequential { .. } => format!("{}%", tick_text(t * 100.0)),
            Colors::Diverging { .. } => format!("{} pp", points_text(t * 100.0)),
        };
        band.draw(&Text::new(text, (x1 + 8, y - 7), (FONT, TEXT_SMALL)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_signed_points_and_zero_has_no_sign() {
        assert_eq!(points_text(-82.4), "−82");
        assert_eq!(points_text(19.6), "+20");
        assert_eq!(points_text(-0.3), "0");
        assert_eq!(points_text(0.4), "0");
    }

    #[test]
    fn scales_run_from_their_ends_and_clamp() {
        let s = Colors::Sequential { max: 0.5 };
        assert_eq!(s.of(0.0), RGBColor(68, 1, 84));
        assert_eq!(s.of(0.5), RGBColor(253, 231, 37));
        assert_eq!(s.of(9.0), s.of(0.5));
        let d = Colors::Diverging { max: 0.2 };
        assert_eq!(d.of(0.0), RGBColor(255, 255, 255));
        assert_eq!(d.of(-0.2), RGBColor(0x00, 0x72, 0xB2));
        assert_eq!(d.of(0.4), RGBColor(0xD5, 0x5E, 0x00));
    }
}
