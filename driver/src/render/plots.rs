//! Charts (plotters), drawn once as SVG (text as text) and rasterised to PNG from that SVG by
//! resvg with the font embedded in the binary, so both files show the same glyphs, spacing and
//! layout on every machine, fonts installed or not. Exporters return bytes; `report.rs` writes
//! the files.
//!
//! The look (font, sizes, palette, markers, dashes, hatches) is in [`crate::render::style`]. Every
//! figure is a title, a subtitle saying what the marks mean (the interval's confidence level
//! among them), panels, and one legend below the panels (never over data).

use std::collections::BTreeSet;
use std::error::Error;
use std::sync::Arc;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use workloads::units;

use crate::analysis::reference;
use crate::analysis::summary::{Cell, Summary};
use crate::plan::options::Config;
use crate::render::style::{self, CAPTION, FONT, LABEL, Look, PANEL_W, SMALL};

type R = Result<(), Box<dyn Error>>;

/// One chart in both formats.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File stem under `plots/` (`throughput-bs128kib-qd8-f8-t1`).
    pub stem: String,
    /// What it shows, for the report's image alt text and heading.
    pub title: String,
    /// SVG document.
    pub svg: String,
    /// PNG file bytes.
    pub png: Vec<u8>,
}

fn init_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, style::FONT_BYTES).is_err() {
            panic!("the embedded font does not parse");
        }
    });
}

/// Width and height of `text` at `size`, measured with the embedded font (the one resvg draws
/// with), for layout before anything is drawn.
fn text_size(text: &str, size: u32) -> (i32, i32) {
    init_font();
    (FONT, size).into_font().box_size(text).map_or(
        (text.chars().count() as i32 * size as i32 / 2, size as i32),
        |(w, h)| (w as i32, h as i32),
    )
}

/// The font database resvg draws with: the embedded font only, also standing in for the
/// generic families, so output never depends on the machine's fonts.
fn render_options() -> &'static resvg::usvg::Options<'static> {
    static OPTS: std::sync::OnceLock<resvg::usvg::Options<'static>> = std::sync::OnceLock::new();
    OPTS.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(style::FONT_BYTES.to_vec());
        db.set_sans_serif_family(style::FONT_FAMILY);
        db.set_serif_family(style::FONT_FAMILY);
        resvg::usvg::Options {
            font_family: style::FONT_FAMILY.to_string(),
            fontdb: Arc::new(db),
            ..Default::default()
        }
    })
}

/// Rasterise an SVG document to PNG bytes at its own size.
fn rasterise(svg: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    let tree = resvg::usvg::Tree::from_str(svg, render_options())?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("a chart of zero size")?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap.encode_png()?)
}

/// Draw a figure as SVG with `draw` and package it with its PNG.
fn render(
    stem: String,
    title: String,
    size: (u32, u32),
    draw: impl Fn(&DrawingArea<SVGBackend, Shift>) -> R,
) -> Result<Chart, Box<dyn Error>> {
    init_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    // plotters writes the family it measured with; name the embedded font first so a browser
    // that has it (or Verdana, with the same metrics) lays text out as measured.
    let svg = svg.replace(
        &format!("font-family=\"{FONT}\""),
        &format!("font-family=\"{}\"", style::SVG_FONT_FAMILY),
    );
    let png = rasterise(&svg)?;
    Ok(Chart {
        stem,
        title,
        svg,
        png,
    })
}

// ---- Figure frame: title, subtitle, legend --------------------------------------------------

/// One legend entry: a line swatch (in the series' dash) and/or its marker.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Text.
    pub label: String,
    /// Look.
    pub look: Look,
    /// Draw a line swatch.
    pub line: bool,
    /// Draw the marker.
    pub marker: bool,
}

/// Title, wrapped subtitle lines and a legend below the panels.
struct Frame {
    title: String,
    notes: Vec<String>,
    legend: Vec<Entry>,
}

const LEGEND_ROW: i32 = 26;
const SWATCH: i32 = 34;

/// Split `text` into lines no wider than `width` at `size`.
fn wrap(text: &str, size: u32, width: i32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let cand = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if text_size(&cand, size).0 > width && !cur.is_empty() {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = cand;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Legend entries laid out in rows within `width`: (row, x) per entry.
fn legend_layout(entries: &[Entry], width: i32) -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    let (mut row, mut x) = (0, 16);
    for e in entries {
        let w = SWATCH + 8 + text_size(&e.label, SMALL).0 + 22;
        if x + w > width - 8 && x > 16 {
            row += 1;
            x = 16;
        }
        out.push((row, x));
        x += w;
    }
    out
}

impl Frame {
    fn new(title: String, notes: &[String], legend: Vec<Entry>) -> Frame {
        Frame {
            title,
            notes: notes.to_vec(),
            legend,
        }
    }

    fn title_size(&self, width: u32) -> u32 {
        // Shrink a long title to fit rather than let it run off the edges.
        let mut size = style::TITLE;
        while size > 14 && text_size(&self.title, size).0 > width as i32 - 24 {
            size -= 1;
        }
        size
    }

    fn note_lines(&self, width: u32) -> Vec<String> {
        self.notes
            .iter()
            .flat_map(|n| wrap(n, style::SUBTITLE, width as i32 - 40))
            .collect()
    }

    fn top(&self, width: u32) -> u32 {
        let t = text_size(&self.title, self.title_size(width)).1 as u32 + 14;
        t + self.note_lines(width).len() as u32 * 20 + 8
    }

    fn bottom(&self, width: u32) -> u32 {
        if self.legend.is_empty() {
            return 0;
        }
        let rows = legend_layout(&self.legend, width as i32)
            .last()
            .map_or(0, |l| l.0 + 1);
        (rows * LEGEND_ROW + 20) as u32
    }

    /// Figure size for a body of `body` pixels.
    fn size(&self, width: u32, body: u32) -> (u32, u32) {
        (width, self.top(width) + body + self.bottom(width))
    }

    /// Draw title, notes and legend; return the area for the panels.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
    where
        DB::ErrorType: 'static,
    {
        let (w, h) = root.dim_in_pixel();
        let centre = |size: u32| {
            TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Top))
        };
        let ts = self.title_size(w);
        root.draw(&Text::new(
            self.title.clone(),
            (w as i32 / 2, 8),
            centre(ts),
        ))?;
        let mut y = 8 + text_size(&self.title, ts).1 + 8;
        for l in self.note_lines(w) {
            root.draw(&Text::new(
                l,
                (w as i32 / 2, y),
                centre(style::SUBTITLE).color(&RGBColor(70, 70, 70)),
            ))?;
            y += 20;
        }
        let bottom = self.bottom(w);
        if bottom > 0 {
            let y0 = (h - bottom) as i32 + 12;
            for (e, (row, x)) in self
                .legend
                .iter()
                .zip(legend_layout(&self.legend, w as i32))
            {
                let cy = y0 + row * LEGEND_ROW + LEGEND_ROW / 2;
                swatch(root, (x, cy), e)?;
                root.draw(&Text::new(
                    e.label.clone(),
                    (x + SWATCH + 8, cy),
                    TextStyle::from((FONT, SMALL).into_font())
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))?;
            }
        }
        let top = self.top(w);
        Ok(root.margin(top, bottom, 0, 0))
    }
}

/// A legend swatch at `(x, cy)`: a short line in the series' dash and its marker.
fn swatch<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, (x, cy): (i32, i32), e: &Entry) -> R
where
    DB::ErrorType: 'static,
{
    if e.line {
        line(area, &[(x, cy), (x + SWATCH, cy)], e.look, 2)?;
    }
    if e.marker {
        mark(area, (x + SWATCH / 2, cy), e.look, 7.0)?;
    }
    Ok(())
}

/// A polyline in pixels, solid or in the look's dash.
fn line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pts: &[(i32, i32)],
    look: Look,
    width: u32,
) -> R
where
    DB::ErrorType: 'static,
{
    let st = look.colour.stroke_width(width);
    match look.dash {
        None => area.draw(&PathElement::new(pts.to_vec(), st))?,
        Some((on, off)) => {
            for seg in pts.windows(2) {
                for d in dashes(seg[0], seg[1], on as f64, off as f64) {
                    area.draw(&PathElement::new(d.to_vec(), st))?;
                }
            }
        }
    }
    Ok(())
}

/// The dashes of a segment from `a` to `b`.
fn dashes(a: (i32, i32), b: (i32, i32), on: f64, off: f64) -> Vec<[(i32, i32); 2]> {
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let len = (dx * dx + dy * dy).sqrt();
    let mut out = Vec::new();
    let mut t = 0.0;
    while t < len {
        let e = (t + on).min(len);
        let p = |s: f64| {
            (
                (a.0 as f64 + dx * s / len).round() as i32,
                (a.1 as f64 + dy * s / len).round() as i32,
            )
        };
        out.push([p(t), p(e)]);
        t = e + off;
    }
    out
}

/// A marker in pixels: filled with a dark outline, or hollow (white inside, coloured rim).
fn mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    look: Look,
    r: f64,
) -> R
where
    DB::ErrorType: 'static,
{
    let pts: Vec<(i32, i32)> = look
        .shape
        .outline(r)
        .into_iter()
        .map(|(dx, dy)| (x + dx, y + dy))
        .collect();
    let mut closed = pts.clone();
    closed.push(pts[0]);
    if look.hollow {
        area.draw(&Polygon::new(pts, WHITE.filled()))?;
        area.draw(&PathElement::new(closed, look.colour.stroke_width(2)))?;
    } else {
        area.draw(&Polygon::new(pts, look.colour.filled()))?;
        area.draw(&PathElement::new(closed, WHITE.stroke_width(1)))?;
    }
    Ok(())
}

/// Text on a white box (so no line runs through it), anchored at `pos` by `anchor`.
fn boxed<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    h: HPos,
    colour: RGBColor,
) -> R
where
    DB::ErrorType: 'static,
{
    boxed_over(area, text, at, h, colour, 1.0)
}

/// [`boxed`] with a box of `opacity` (a scatter label lets whiskers under it show through).
fn boxed_over<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    (x, y): (i32, i32),
    h: HPos,
    colour: RGBColor,
    opacity: f64,
) -> R
where
    DB::ErrorType: 'static,
{
    let (w, th) = text_size(text, SMALL);
    let x0 = match h {
        HPos::Left => x,
        HPos::Center => x - w / 2,
        HPos::Right => x - w,
    };
    area.draw(&Rectangle::new(
        [(x0 - 3, y - th / 2 - 2), (x0 + w + 3, y + th / 2 + 2)],
        WHITE.mix(opacity).filled(),
    ))?;
    area.draw(&Text::new(
        text.to_string(),
        (x0, y),
        TextStyle::from((FONT, SMALL).into_font())
            .color(&colour)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    Ok(())
}

/// `text` at the largest size from `size` down to 12 that fits `max_w` pixels, cut with "…"
/// if even 12 does not.
fn fit(text: &str, size: u32, max_w: i32) -> (String, u32) {
    for s in (12..=size).rev() {
        if text_size(text, s).0 <= max_w {
            return (text.to_string(), s);
        }
    }
    let mut t: String = text.to_string();
    while !t.is_empty() && text_size(&format!("{t}…"), 12).0 > max_w {
        t.pop();
    }
    (format!("{t}…"), 12)
}

/// Pixel position inside `area` of an absolute backend coordinate.
fn rel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: (i32, i32)) -> (i32, i32) {
    let b = area.get_base_pixel();
    (p.0 - b.0, p.1 - b.1)
}

fn grid(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 2);
    (n.div_ceil(cols).max(1), cols)
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn seg_label(labels: &[String], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
            labels.get(*i as usize).cloned().unwrap_or_default()
        }
        SegmentValue::Last => String::new(),
    }
}

/// "95%" or "75–95%": the confidence levels of a set of intervals.
fn levels(ls: impl Iterator<Item = f64>) -> String {
    let v: Vec<f64> = ls.filter(|l| l.is_finite() && *l > 0.0).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        "unknown".into()
    } else if (hi - lo) < 0.005 {
        format!("{:.0}%", lo * 100.0)
    } else {
        format!("{:.0}–{:.0}%", lo * 100.0, hi * 100.0)
    }
}

// ---- Horizontal bars ------------------------------------------------------------------------

/// A horizontal bar with its interval.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Axis label (the engine).
    pub label: String,
    /// Look (colour, marker at the median).
    pub look: Look,
    /// Median (bar length); NaN when every trial failed.
    pub median: f64,
    /// Interval low.
    pub lo: f64,
    /// Interval high.
    pub hi: f64,
    /// The interval's confidence level (0–1).
    pub level: f64,
}

/// A reference drawn across a bar panel: a dashed line at its median and a grey band over its
/// interval.
#[derive(Clone, Debug)]
pub struct RefLine {
    /// Label at the line.
    pub label: String,
    /// Median.
    pub value: f64,
    /// Interval low.
    pub lo: f64,
    /// Interval high.
    pub hi: f64,
}

/// One panel of horizontal bars.
#[derive(Clone, Debug)]
pub struct BarPanel {
    /// Caption.
    pub title: String,
    /// Axis description with its unit.
    pub x_desc: String,
    /// Bars (drawn sorted, fastest on top).
    pub bars: Vec<Bar>,
    /// Reference lines.
    pub refs: Vec<RefLine>,
}

const BAR_ROW: u32 = 30;

/// Rows of the label strip above the bars where reference labels sit (two labels a row).
fn ref_rows(p: &BarPanel) -> usize {
    p.refs.len().div_ceil(2)
}

fn bar_panel_h(p: &BarPanel) -> u32 {
    90 + BAR_ROW * (p.bars.len().max(1) + ref_rows(p)) as u32
}

fn draw_bar_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BarPanel) -> R
where
    DB::ErrorType: 'static,
{
    let mut bars = p.bars.clone();
    // Fastest on top; bars with no successful trial at the bottom.
    bars.sort_by(|a, b| {
        let k = |v: f64| if v.is_finite() { v } else { f64::NEG_INFINITY };
        k(b.median).total_cmp(&k(a.median))
    });
    let n = bars.len().max(1) as i32;
    let hs = ref_rows(p) as i32;
    let max = bars
        .iter()
        .flat_map(|b| [b.hi, b.median])
        .chain(p.refs.iter().flat_map(|r| [r.hi, r.value]))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // Room right of the longest whisker for its value label.
    let xmax = if max > 0.0 { max * 1.2 } else { 1.0 };
    // Bar k (0 = top) sits in segment n-1-k (y grows upwards); the reference label strip is
    // segments n..n+hs.
    let mut labels: Vec<String> = bars.iter().rev().map(|b| b.label.clone()).collect();
    labels.extend((0..hs).map(|_| String::new()));
    let longest = labels
        .iter()
        .map(|l| text_size(l, LABEL).0)
        .max()
        .unwrap_or(40);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, CAPTION))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(longest + 14)
        .build_cartesian_2d(0f64..xmax, (0..n + hs - 1).into_segmented())?;
    let lbl = labels.clone();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(&p.x_desc)
        .x_labels(6)
        .y_labels((n + hs) as usize)
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| seg_label(&lbl, v))
        .label_style((FONT, LABEL))
        .axis_desc_style((FONT, LABEL))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    let px = |x: f64, y: SegmentValue<i32>| rel(area, chart.backend_coord(&(x, y)));
    for r in p
        .refs
        .iter()
        .filter(|r| r.lo.is_finite() && r.hi.is_finite())
    {
        area.draw(&Rectangle::new(
            [
                px(r.lo, SegmentValue::Exact(0)),
                px(r.hi, SegmentValue::Last),
            ],
            style::REF.mix(0.10).filled(),
        ))?;
    }
    let mut value_labels = Vec::new();
    for (k, b) in bars.iter().enumerate() {
        let i = n - 1 - k as i32;
        let (x0, yc) = px(0.0, SegmentValue::CenterOf(i));
        if b.median.is_finite() {
            let (xm, _) = px(b.median, SegmentValue::CenterOf(i));
            area.draw(&Rectangle::new(
                [(x0, yc - 9), (xm, yc + 9)],
                style::tint(b.look.colour, 0.6).filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x0, yc - 9), (xm, yc + 9)],
                b.look.colour.stroke_width(1),
            ))?;
            let mut right = xm;
            if b.lo.is_finite() && b.hi.is_finite() {
                let (xl, _) = px(b.lo, SegmentValue::CenterOf(i));
                let (xh, _) = px(b.hi, SegmentValue::CenterOf(i));
                let st = BLACK.stroke_width(2);
                area.draw(&PathElement::new(vec![(xl, yc), (xh, yc)], st))?;
                for x in [xl, xh] {
                    area.draw(&PathElement::new(vec![(x, yc - 6), (x, yc + 6)], st))?;
                }
                right = right.max(xh);
            }
            mark(area, (xm, yc), b.look, 7.0)?;
            value_labels.push((fmt_num(b.median), (right + 8, yc), BLACK));
        } else {
            value_labels.push((
                "no successful trial".to_string(),
                (x0 + 6, yc),
                style::VERMILLION,
            ));
        }
    }
    // Reference lines run up through the label strip, where each one's label sits beside it
    // on a white box; the strip's rows are filled left to right so labels never overlap.
    let (_, top) = px(0.0, SegmentValue::Last);
    let (_, strip_bottom) = px(0.0, SegmentValue::Exact(n));
    let (right_edge, _) = px(xmax, SegmentValue::Last);
    let mut refs: Vec<&RefLine> = p.refs.iter().collect();
    refs.sort_by(|a, b| a.value.total_cmp(&b.value));
    let rows = (hs * 2).max(1);
    let row_h = ((strip_bottom - top) / rows).max(1);
    let mut row_end = vec![i32::MIN; rows as usize];
    for r in &refs {
        let (x, bottom) = px(r.value, SegmentValue::Exact(0));
        line(
            area,
            &[(x, bottom), (x, top)],
            style::reference_look(&r.label),
            2,
        )?;
    }
    for r in refs {
        let (x, _) = px(r.value, SegmentValue::Exact(0));
        let text = format!("{} {}", r.label, fmt_num(r.value));
        let w = text_size(&text, SMALL).0 + 6;
        // Right of the line if it fits before the edge, else left of it.
        let right = x + 5 + w <= right_edge;
        let (x0, h, span) = if right {
            (x + 5, HPos::Left, (x + 5, x + 5 + w))
        } else {
            (x - 5, HPos::Right, (x - 5 - w, x - 5))
        };
        let row = (0..rows as usize)
            .find(|k| row_end[*k] < span.0)
            .unwrap_or_else(|| (0..rows as usize).min_by_key(|k| row_end[*k]).unwrap_or(0));
        row_end[row] = span.1 + 4;
        let y = top + row_h * row as i32 + row_h / 2;
        boxed(area, &text, (x0, y), h, RGBColor(50, 50, 50))?;
    }
    // Value labels last: nothing is ever drawn over them.
    for (t, (x, y), c) in value_labels {
        boxed(area, &t, (x, y), HPos::Left, c)?;
    }
    Ok(())
}

/// Bar panels as a figure; `notes` say what bars and whiskers are.
pub fn bar_chart(
    stem: String,
    title: String,
    notes: &[String],
    panels: &[BarPanel],
) -> Result<Chart, Box<dyn Error>> {
    let (rows, cols) = grid(panels.len());
    let ph = panels.iter().map(bar_panel_h).max().unwrap_or(200);
    let frame = Frame::new(title.clone(), notes, Vec::new());
    let width = PANEL_W * cols as u32;
    let size = frame.size(width, ph * rows as u32);
    render(stem, title, size, |root| {
        let body = frame.draw(root)?;
        for (a, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
            draw_bar_panel(a, p)?;
        }
        Ok(())
    })
}

// ---- Lines over categorical x -----------------------------------------------------------------

/// A line with intervals over categorical x positions.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Look.
    pub look: Look,
    /// `(x index, median, lo, hi)`; a gap in the indices breaks the line.
    pub points: Vec<(usize, f64, f64, f64)>,
}

/// One panel of lines.
#[derive(Clone, Debug)]
pub struct LinePanel {
    /// Caption.
    pub title: String,
    /// x tick labels (categorical positions 0..).
    pub x_labels: Vec<String>,
    /// Names over groups of x positions: `(first, last, name)`, drawn at the top of the plot.
    pub groups: Vec<(usize, usize, String)>,
    /// x description with unit.
    pub x_desc: String,
    /// y description with unit.
    pub y_desc: String,
    /// Values are log10 of the unit (ticks at decades).
    pub log_y: bool,
    /// Lines.
    pub series: Vec<Series>,
}

fn fmt_decade(v: f64) -> String {
    let x = 10f64.powf(v);
    if x >= 1e6 {
        format!("{:.0}M", x / 1e6)
    } else if x >= 1000.0 {
        format!("{:.0}k", x / 1000.0)
    } else if x >= 1.0 {
        format!("{x:.0}")
    } else {
        format!("{}", (x * 1000.0).round() / 1000.0)
    }
}

const LINE_PANEL_H: u32 = 400;

fn draw_line_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &LinePanel) -> R
where
    DB::ErrorType: 'static,
{
    let vals: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|q| [q.1, q.2, q.3]))
        .filter(|v| v.is_finite())
        .collect();
    let top_room = if p.groups.is_empty() { 1.08 } else { 1.2 };
    let (ymin, ymax) = if p.log_y {
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() {
            let (a, b) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
            (a, b + if p.groups.is_empty() { 0.0 } else { 0.4 })
        } else {
            (0.0, 1.0)
        }
    } else {
        let hi = vals.iter().copied().fold(0.0f64, f64::max);
        (0.0, if hi > 0.0 { hi * top_room } else { 1.0 })
    };
    let n = p.x_labels.len().max(1) as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, CAPTION))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(50)
        .y_label_area_size(72)
        .build_cartesian_2d((0..n - 1).into_segmented(), ymin..ymax)?;
    let labels = p.x_labels.clone();
    let xfmt = |v: &SegmentValue<i32>| seg_label(&labels, v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(&p.x_desc)
        .y_desc(&p.y_desc)
        .x_labels(n as usize)
        .x_label_formatter(&xfmt)
        .label_style((FONT, LABEL))
        .axis_desc_style((FONT, LABEL))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .disable_x_mesh();
    let decade = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            fmt_decade(*v)
        } else {
            String::new()
        }
    };
    let plain = |v: &f64| fmt_num(*v);
    if p.log_y {
        mesh.y_labels(((ymax - ymin) as usize + 1) * 2 + 1)
            .y_label_formatter(&decade);
    } else {
        mesh.y_labels(6).y_label_formatter(&plain);
    }
    mesh.draw()?;
    let px = |x: usize, y: f64| {
        rel(
            area,
            chart.backend_coord(&(SegmentValue::CenterOf(x as i32), y)),
        )
    };
    // Group names (read | write) over their positions, a rule between groups.
    for (k, (a, b, name)) in p.groups.iter().enumerate() {
        let (xa, _) = px(*a, ymax);
        let (xb, yt) = px(*b, ymax);
        boxed(area, name, ((xa + xb) / 2, yt + 14), HPos::Center, BLACK)?;
        if k > 0 {
            let (xp, _) = px(*a - 1, ymax);
            let (_, yb) = px(*a, ymin);
            let xm = (xp + xa) / 2;
            area.draw(&PathElement::new(vec![(xm, yt), (xm, yb)], BLACK.mix(0.35)))?;
        }
    }
    // Series with whiskers are dodged sideways a few pixels each, so whiskers at one x
    // position stand side by side instead of on top of each other.
    let whiskered = p
        .series
        .iter()
        .any(|s| s.points.iter().any(|q| q.2.is_finite() && q.3.is_finite()));
    let count = p.series.len() as i32;
    for (si, s) in p.series.iter().enumerate() {
        let dx = if whiskered {
            (2 * si as i32 - (count - 1)) * 3
        } else {
            0
        };
        let px = |x: usize, y: f64| {
            let (a, b) = px(x, y);
            (a + dx, b)
        };
        // Whiskers first, in a lighter stroke, so lines and markers stay on top.
        for q in s.points.iter().filter(|q| q.1.is_finite()) {
            if q.2.is_finite() && q.3.is_finite() && q.2 != q.3 {
                let (x, lo) = px(q.0, q.2);
                let (_, hi) = px(q.0, q.3);
                let st = s.look.colour.mix(0.8).stroke_width(2);
                area.draw(&PathElement::new(vec![(x, lo), (x, hi)], st))?;
                for y in [lo, hi] {
                    area.draw(&PathElement::new(vec![(x - 5, y), (x + 5, y)], st))?;
                }
            }
        }
        // Consecutive positions are joined; a missing one breaks the line.
        let pts: Vec<(usize, f64)> = s
            .points
            .iter()
            .filter(|q| q.1.is_finite())
            .map(|q| (q.0, q.1))
            .collect();
        for w in pts.windows(2) {
            if w[1].0 == w[0].0 + 1 {
                line(area, &[px(w[0].0, w[0].1), px(w[1].0, w[1].1)], s.look, 3)?;
            }
        }
        for (x, y) in &pts {
            mark(area, px(*x, *y), s.look, 7.0)?;
        }
    }
    Ok(())
}

/// Line panels as a figure with one legend below them.
pub fn line_chart(
    stem: String,
    title: String,
    notes: &[String],
    panels: &[LinePanel],
) -> Result<Chart, Box<dyn Error>> {
    let (rows, cols) = grid(panels.len());
    let mut legend: Vec<Entry> = Vec::new();
    for s in panels.iter().flat_map(|p| &p.series) {
        if !legend.iter().any(|e| e.label == s.label) {
            legend.push(Entry {
                label: s.label.clone(),
                look: s.look,
                line: true,
                marker: true,
            });
        }
    }
    let frame = Frame::new(title.clone(), notes, legend);
    let size = frame.size(PANEL_W * cols as u32, LINE_PANEL_H * rows as u32);
    render(stem, title, size, |root| {
        let body = frame.draw(root)?;
        for (a, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
            draw_line_panel(a, p)?;
        }
        Ok(())
    })
}

// ---- Scatter: throughput vs CPU -------------------------------------------------------------

/// A point with intervals on both axes.
#[derive(Clone, Debug)]
pub struct Point {
    /// Label next to it.
    pub label: String,
    /// Look.
    pub look: Look,
    /// x median, low, high.
    pub x: (f64, f64, f64),
    /// y median, low, high.
    pub y: (f64, f64, f64),
}

/// One scatter panel.
#[derive(Clone, Debug)]
pub struct ScatterPanel {
    /// Caption.
    pub title: String,
    /// x description with unit.
    pub x_desc: String,
    /// y description with unit.
    pub y_desc: String,
    /// Points.
    pub points: Vec<Point>,
}

type Rect = (i32, i32, i32, i32);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Place each label near its point where it covers no other label and no marker: the first
/// free spot among eight around the point at growing distance; a label that found no free spot
/// keeps the least crowded one. Returns each label's box (left, top, right, bottom).
fn place_labels(points: &[(i32, i32)], sizes: &[(i32, i32)], bounds: Rect) -> Vec<Rect> {
    let mut placed: Vec<Rect> = Vec::new();
    let markers: Vec<Rect> = points
        .iter()
        .map(|(x, y)| (x - 8, y - 8, x + 8, y + 8))
        .collect();
    for (i, ((x, y), (w, h))) in points.iter().zip(sizes).enumerate() {
        let mut best: Option<(usize, Rect)> = None;
        'search: for dist in [10, 22, 36, 52] {
            let cands = [
                (x + dist, y - h / 2),
                (x - dist - w, y - h / 2),
                (x - w / 2, y - dist - h),
                (x - w / 2, y + dist),
                (x + dist, y - dist - h + 4),
                (x - dist - w, y - dist - h + 4),
                (x + dist, y + dist - 4),
                (x - dist - w, y + dist - 4),
            ];
            for (cx, cy) in cands {
                let r = (cx, cy, cx + w, cy + h);
                if r.0 < bounds.0 || r.2 > bounds.2 || r.1 < bounds.1 || r.3 > bounds.3 {
                    continue;
                }
                let hits = placed.iter().filter(|p| overlaps(**p, r)).count()
                    + markers
                        .iter()
                        .enumerate()
                        .filter(|(j, m)| *j != i && overlaps(**m, r))
                        .count();
                if hits == 0 {
                    best = Some((0, r));
                    break 'search;
                }
                if best.is_none_or(|b| hits < b.0) {
                    best = Some((hits, r));
                }
            }
        }
        placed.push(best.map_or((x + 10, y - h / 2, x + 10 + w, y + h / 2), |b| b.1));
    }
    placed
}

const SCATTER_PANEL_H: u32 = 420;

fn draw_scatter_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &ScatterPanel) -> R
where
    DB::ErrorType: 'static,
{
    let max = |f: &dyn Fn(&Point) -> [f64; 2]| {
        p.points
            .iter()
            .flat_map(f)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
    };
    let xmax = max(&|q| [q.x.0, q.x.2]);
    let ymax = max(&|q| [q.y.0, q.y.2]);
    let xmax = if xmax > 0.0 { xmax * 1.15 } else { 1.0 };
    let ymax = if ymax > 0.0 { ymax * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, CAPTION))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(50)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..xmax, 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_desc(&p.x_desc)
        .y_desc(&p.y_desc)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style((FONT, LABEL))
        .axis_desc_style((FONT, LABEL))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    let px = |x: f64, y: f64| rel(area, chart.backend_coord(&(x, y)));
    let shown: Vec<&Point> = p
        .points
        .iter()
        .filter(|q| q.x.0.is_finite() && q.y.0.is_finite())
        .collect();
    for q in &shown {
        let st = q.look.colour.mix(0.75).stroke_width(2);
        let (x, y) = px(q.x.0, q.y.0);
        if q.x.1.is_finite() && q.x.2.is_finite() {
            let (a, _) = px(q.x.1, q.y.0);
            let (b, _) = px(q.x.2, q.y.0);
            area.draw(&PathElement::new(vec![(a, y), (b, y)], st))?;
            for e in [a, b] {
                area.draw(&PathElement::new(vec![(e, y - 5), (e, y + 5)], st))?;
            }
        }
        if q.y.1.is_finite() && q.y.2.is_finite() {
            let (_, a) = px(q.x.0, q.y.1);
            let (_, b) = px(q.x.0, q.y.2);
            area.draw(&PathElement::new(vec![(x, a), (x, b)], st))?;
            for e in [a, b] {
                area.draw(&PathElement::new(vec![(x - 5, e), (x + 5, e)], st))?;
            }
        }
    }
    let pts: Vec<(i32, i32)> = shown.iter().map(|q| px(q.x.0, q.y.0)).collect();
    for (q, pt) in shown.iter().zip(&pts) {
        mark(area, *pt, q.look, 7.0)?;
    }
    let sizes: Vec<(i32, i32)> = shown
        .iter()
        .map(|q| {
            let (w, h) = text_size(&q.label, SMALL);
            (w + 4, h + 2)
        })
        .collect();
    let (l, t) = px(0.0, ymax);
    let (r, b) = px(xmax, 0.0);
    let boxes = place_labels(&pts, &sizes, (l, t, r, b));
    for ((q, pt), bx) in shown.iter().zip(&pts).zip(&boxes) {
        // A leader line when the label had to move away from its point.
        let cx = pt.0.clamp(bx.0, bx.2);
        let cy = pt.1.clamp(bx.1, bx.3);
        if (cx - pt.0).pow(2) + (cy - pt.1).pow(2) > 20 * 20 {
            area.draw(&PathElement::new(vec![*pt, (cx, cy)], BLACK.mix(0.4)))?;
        }
        boxed_over(
            area,
            &q.label,
            (bx.0 + 2, (bx.1 + bx.3) / 2),
            HPos::Left,
            BLACK,
            0.75,
        )?;
    }
    Ok(())
}

/// Scatter panels as a figure with one legend below them.
pub fn scatter_chart(
    stem: String,
    title: String,
    notes: &[String],
    panels: &[ScatterPanel],
) -> Result<Chart, Box<dyn Error>> {
    let (rows, cols) = grid(panels.len());
    let mut legend: Vec<Entry> = Vec::new();
    for q in panels.iter().flat_map(|p| &p.points) {
        if !legend.iter().any(|e| e.label == q.label) {
            legend.push(Entry {
                label: q.label.clone(),
                look: q.look,
                line: false,
                marker: true,
            });
        }
    }
    let frame = Frame::new(title.clone(), notes, legend);
    let size = frame.size(PANEL_W * cols as u32, SCATTER_PANEL_H * rows as u32);
    render(stem, title, size, |root| {
        let body = frame.draw(root)?;
        for (a, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
            draw_scatter_panel(a, p)?;
        }
        Ok(())
    })
}

// ---- Ratios (compare) -----------------------------------------------------------------------

/// One ratio to the baseline run, with its interval.
#[derive(Clone, Debug)]
pub struct Ratio {
    /// The run's letter (`B`).
    pub run: String,
    /// Median ratio.
    pub median: f64,
    /// Interval low.
    pub lo: f64,
    /// Interval high.
    pub hi: f64,
    /// Whether the difference is within noise (drawn hollow and grey-labelled).
    pub within_noise: bool,
}

/// One engine's ratios.
#[derive(Clone, Debug)]
pub struct RatioRow {
    /// Engine.
    pub label: String,
    /// Look.
    pub look: Look,
    /// One per compared run.
    pub ratios: Vec<Ratio>,
}

/// One panel of ratios (a workload at a sweep point).
#[derive(Clone, Debug)]
pub struct RatioPanel {
    /// Caption.
    pub title: String,
    /// Rows (drawn sorted by the first ratio, largest on top).
    pub rows: Vec<RatioRow>,
}

fn ratio_panel_h(p: &RatioPanel) -> u32 {
    let per = p
        .rows
        .iter()
        .map(|r| r.ratios.len())
        .max()
        .unwrap_or(1)
        .max(1) as u32;
    100 + (8 + 20 * per) * p.rows.len().max(1) as u32
}

fn fmt_ratio(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}×")
    } else {
        format!("{v:.2}×")
    }
}

fn draw_ratio_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &RatioPanel) -> R
where
    DB::ErrorType: 'static,
{
    let mut rows = p.rows.clone();
    rows.sort_by(|a, b| {
        let k = |r: &RatioRow| r.ratios.first().map_or(f64::NEG_INFINITY, |x| x.median);
        k(b).total_cmp(&k(a))
    });
    // x is log2 of the ratio: 0.5× and 2× sit equally far from 1×.
    let l2 = |v: f64| v.max(1e-6).log2();
    let all: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.ratios.iter().flat_map(|x| [x.lo, x.hi, x.median]))
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(l2)
        .collect();
    let lo = all.iter().copied().fold(-0.25f64, f64::min);
    let hi = all.iter().copied().fold(0.25f64, f64::max);
    let pad = (hi - lo) * 0.08;
    let (xmin, xmax) = (lo - pad, hi + (hi - lo) * 0.25);
    let n = rows.len().max(1) as i32;
    let labels: Vec<String> = rows.iter().rev().map(|r| r.label.clone()).collect();
    let longest = labels
        .iter()
        .map(|l| text_size(l, LABEL).0)
        .max()
        .unwrap_or(40);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, CAPTION))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(longest + 14)
        .build_cartesian_2d(xmin..xmax, (0..n - 1).into_segmented())?;
    let lbl = labels.clone();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("ratio to run A (log scale)")
        .x_labels(7)
        .x_label_formatter(&|v| fmt_ratio(2f64.powf(*v)))
        .y_labels(n as usize)
        .y_label_formatter(&|v| seg_label(&lbl, v))
        .label_style((FONT, LABEL))
        .axis_desc_style((FONT, LABEL))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    let px = |x: f64, y: SegmentValue<i32>| rel(area, chart.backend_coord(&(x, y)));
    let (x1, yb) = px(0.0, SegmentValue::Exact(0));
    let (_, yt) = px(0.0, SegmentValue::Last);
    area.draw(&PathElement::new(
        vec![(x1, yb), (x1, yt)],
        BLACK.stroke_width(1),
    ))?;
    let mut texts = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let i = n - 1 - k as i32;
        let (_, ya) = px(0.0, SegmentValue::Exact(i));
        let (_, yz) = px(0.0, SegmentValue::Exact(i + 1));
        let m = r.ratios.len().max(1) as i32;
        for (j, x) in r.ratios.iter().enumerate() {
            let y = ya + (yz - ya) * (2 * j as i32 + 1) / (2 * m);
            let (xm, _) = px(l2(x.median), SegmentValue::Exact(i));
            let mut right = xm;
            if x.lo.is_finite() && x.hi.is_finite() && x.lo > 0.0 {
                let (a, _) = px(l2(x.lo), SegmentValue::Exact(i));
                let (b, _) = px(l2(x.hi), SegmentValue::Exact(i));
                let st = r.look.colour.stroke_width(2);
                area.draw(&PathElement::new(vec![(a, y), (b, y)], st))?;
                for e in [a, b] {
                    area.draw(&PathElement::new(vec![(e, y - 5), (e, y + 5)], st))?;
                }
                right = right.max(b);
            }
            let look = Look {
                hollow: x.within_noise || r.look.hollow,
                ..r.look
            };
            mark(area, (xm, y), look, 6.0)?;
            let words = if x.within_noise { " (noise)" } else { "" };
            let t = if m > 1 {
                format!("{} {}{words}", x.run, fmt_ratio(x.median))
            } else {
                format!("{}{words}", fmt_ratio(x.median))
            };
            let c = if x.within_noise {
                RGBColor(110, 110, 110)
            } else {
                BLACK
            };
            texts.push((t, (right + 8, y), c));
        }
    }
    for (t, p, c) in texts {
        boxed(area, &t, p, HPos::Left, c)?;
    }
    Ok(())
}

/// Ratio panels as a figure.
pub fn ratio_chart(
    stem: String,
    title: String,
    notes: &[String],
    panels: &[RatioPanel],
) -> Result<Chart, Box<dyn Error>> {
    let (rows, cols) = grid(panels.len());
    let ph = panels.iter().map(ratio_panel_h).max().unwrap_or(200);
    let frame = Frame::new(title.clone(), notes, Vec::new());
    let size = frame.size(PANEL_W * cols as u32, ph * rows as u32);
    render(stem, title, size, |root| {
        let body = frame.draw(root)?;
        for (a, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
            draw_ratio_panel(a, p)?;
        }
        Ok(())
    })
}

// ---- Grid (safety matrix) -------------------------------------------------------------------

/// One cell of a grid (the safety matrix).
#[derive(Clone, Debug)]
pub struct GridCell {
    /// Fill and hatch.
    pub verdict: style::Verdict,
    /// First line (the verdict).
    pub text: String,
    /// Second line (counts).
    pub detail: String,
}

/// A grid: rows × columns of cells, with a legend of verdicts.
#[derive(Clone, Debug)]
pub struct Grid {
    /// Row labels.
    pub rows: Vec<String>,
    /// Column labels.
    pub cols: Vec<String>,
    /// Row-major cells.
    pub cells: Vec<GridCell>,
    /// Legend: look and meaning.
    pub legend: Vec<(style::Verdict, String)>,
}

const CELL_W: i32 = 180;
const CELL_H: i32 = 46;
/// Columns per block: a wider matrix is wrapped into blocks stacked vertically, each with the
/// row labels again, so the figure stays within a page's width.
const GRID_COLS: usize = 6;
const HEAD_H: i32 = 44;
const SWATCH_W: i32 = 14;

/// Columns per block: as even as the blocks allow (14 columns: 5, 5, 4, not 6, 6, 2).
fn grid_per_block(n: usize) -> usize {
    n.div_ceil(n.div_ceil(GRID_COLS).max(1)).max(1)
}

/// Hatch lines over a rectangle.
fn hatch<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: Rect, v: style::Verdict) -> R
where
    DB::ErrorType: 'static,
{
    let ink = if style::lightness(v.colour) < 0.45 {
        WHITE
    } else {
        BLACK
    };
    let st = ink.stroke_width(1);
    let (x0, y0, x1, y1) = r;
    let step = 5;
    let clip = |a: (i32, i32), b: (i32, i32)| -> Option<[(i32, i32); 2]> {
        // Clip the 45° segment from a to b (parametrised) to the rectangle.
        let n = (b.0 - a.0).abs().max((b.1 - a.1).abs()).max(1);
        let pts: Vec<(i32, i32)> = (0..=n)
            .map(|t| (a.0 + (b.0 - a.0) * t / n, a.1 + (b.1 - a.1) * t / n))
            .filter(|p| p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1)
            .collect();
        Some([*pts.first()?, *pts.last()?])
    };
    let h = y1 - y0;
    let diag = |area: &DrawingArea<DB, Shift>, up: bool| -> R {
        let mut c = x0 - h;
        while c <= x1 {
            let (a, b) = if up {
                ((c, y1), (c + h, y0))
            } else {
                ((c, y0), (c + h, y1))
            };
            if let Some(s) = clip(a, b) {
                area.draw(&PathElement::new(s.to_vec(), st))?;
            }
            c += step;
        }
        Ok(())
    };
    match v.hatch {
        style::Hatch::None => {}
        style::Hatch::Diagonal => diag(area, true)?,
        style::Hatch::BackDiagonal => diag(area, false)?,
        style::Hatch::Cross => {
            diag(area, true)?;
            diag(area, false)?;
        }
        style::Hatch::Horizontal => {
            for y in (y0 + 2..y1).step_by(4) {
                area.draw(&PathElement::new(vec![(x0, y), (x1, y)], st))?;
            }
        }
        style::Hatch::Vertical => {
            for x in (x0 + 2..x1).step_by(4) {
                area.draw(&PathElement::new(vec![(x, y0), (x, y1)], st))?;
            }
        }
        style::Hatch::Dots => {
            for y in (y0 + 3..y1).step_by(5) {
                for x in (x0 + 3..x1).step_by(5) {
                    area.draw(&Rectangle::new([(x, y), (x + 1, y + 1)], ink.filled()))?;
                }
            }
        }
    }
    Ok(())
}

/// A verdict swatch: full colour, hatch, thin outline.
fn verdict_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: Rect,
    v: style::Verdict,
) -> R
where
    DB::ErrorType: 'static,
{
    area.draw(&Rectangle::new([(r.0, r.1), (r.2, r.3)], v.colour.filled()))?;
    hatch(area, r, v)?;
    area.draw(&Rectangle::new([(r.0, r.1), (r.2, r.3)], BLACK.mix(0.5)))?;
    Ok(())
}

/// A column header over two lines when it is wider than a cell (split at the `-` nearest its
/// middle).
fn header_lines(name: &str) -> Vec<String> {
    if text_size(name, LABEL).0 <= CELL_W - 10 {
        return vec![name.to_string()];
    }
    let mid = name.len() / 2;
    let cut = name
        .match_indices('-')
        .map(|(i, _)| i)
        .min_by_key(|i| i.abs_diff(mid));
    match cut {
        Some(i) => vec![name[..=i].to_string(), name[i + 1..].to_string()],
        None => vec![name.to_string()],
    }
}

fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    frame: &Frame,
    g: &Grid,
    label_w: i32,
) -> R
where
    DB::ErrorType: 'static,
{
    let body = frame.draw(root)?;
    let font = |s: u32| TextStyle::from((FONT, s).into_font());
    let per = grid_per_block(g.cols.len());
    let blocks = g.cols.len().div_ceil(per).max(1);
    let block_h = HEAD_H + CELL_H * g.rows.len() as i32 + 16;
    for b in 0..blocks {
        let top = b as i32 * block_h;
        let cols = (b * per)..((b + 1) * per).min(g.cols.len());
        for (j, c) in cols.clone().enumerate() {
            let x = label_w + j as i32 * CELL_W + 6;
            let lines = header_lines(&g.cols[c]);
            let k = lines.len() as i32;
            for (m, l) in lines.into_iter().enumerate() {
                body.draw(&Text::new(
                    l,
                    (x, top + HEAD_H - 4 - (k - m as i32) * 19),
                    font(LABEL),
                ))?;
            }
        }
        for (i, r) in g.rows.iter().enumerate() {
            let y = top + HEAD_H + i as i32 * CELL_H;
            body.draw(&Text::new(
                r.clone(),
                (8, y + CELL_H / 2),
                font(LABEL).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            for (j, c) in cols.clone().enumerate() {
                let Some(cell) = g.cells.get(i * g.cols.len() + c) else {
                    continue;
                };
                let x = label_w + j as i32 * CELL_W;
                let (x0, y0, x1, y1) = (x + 1, y + 1, x + CELL_W - 1, y + CELL_H - 1);
                body.draw(&Rectangle::new(
                    [(x0, y0), (x1, y1)],
                    style::tint(cell.verdict.colour, cell.verdict.tint).filled(),
                ))?;
                verdict_swatch(&body, (x0, y0, x0 + SWATCH_W, y1), cell.verdict)?;
                body.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.mix(0.3)))?;
                let tx = x0 + SWATCH_W + 6;
                let room = x1 - tx - 4;
                let (text, size) = fit(&cell.text, 16, room);
                body.draw(&Text::new(text, (tx, y0 + 5), font(size)))?;
                let (detail, size) = fit(&cell.detail, 15, room);
                body.draw(&Text::new(
                    detail,
                    (tx, y0 + 26),
                    font(size).color(&RGBColor(60, 60, 60)),
                ))?;
            }
        }
    }
    Ok(())
}

/// The grid as a figure: blocks of at most six columns, the legend below.
pub fn grid_chart(stem: String, title: String, g: &Grid) -> Result<Chart, Box<dyn Error>> {
    let label_w = 20
        + g.rows
            .iter()
            .map(|r| text_size(r, LABEL).0)
            .max()
            .unwrap_or(60);
    let cols = grid_per_block(g.cols.len()) as i32;
    let width = (label_w + CELL_W * cols + 16).max(640) as u32;
    let legend: Vec<Entry> = g
        .legend
        .iter()
        .map(|(v, t)| Entry {
            label: t.clone(),
            look: Look {
                colour: v.colour,
                shape: style::Shape::Square,
                hollow: false,
                dash: None,
            },
            line: false,
            marker: false,
        })
        .collect();
    let frame = Frame::new(
        title.clone(),
        &["Each cell: the verdict (bar at the left: its colour and hatch, as in the legend) and how many ops were in flight at the drop.".to_string()],
        legend,
    );
    let blocks = g.cols.len().div_ceil(grid_per_block(g.cols.len())).max(1) as u32;
    let block_h = (HEAD_H + CELL_H * g.rows.len() as i32 + 16) as u32;
    let size = frame.size(width, block_h * blocks);
    let verdicts: Vec<style::Verdict> = g.legend.iter().map(|l| l.0).collect();
    render(stem, title, size, |root| {
        draw_grid(root, &frame, g, label_w)?;
        // The legend's swatches are verdict swatches (hatched), drawn over the frame's blanks.
        let (w, h) = root.dim_in_pixel();
        let y0 = (h - frame.bottom(w)) as i32 + 12;
        for (v, (row, x)) in verdicts.iter().zip(legend_layout(&frame.legend, w as i32)) {
            let cy = y0 + row * LEGEND_ROW + LEGEND_ROW / 2;
            verdict_swatch(root, (x + 8, cy - 9, x + SWATCH - 4, cy + 9), *v)?;
        }
        Ok(())
    })
}

// ---- The run's charts, from a summary ----------------------------------------------------

fn mb(v: f64) -> f64 {
    v / 1e6
}

/// The words of a sweep point for titles.
pub fn config_words(c: &Config) -> String {
    let mut s = format!(
        "block {}, queue depth {}, files in flight {}, threads {}",
        units::size(c.block_size as u64),
        c.queue_depth,
        c.files_in_flight,
        c.threads
    );
    if c.cancel_bp > 0 {
        s.push_str(&format!(", cancel rate {}", c.cancel_rate()));
    }
    s
}

fn cells_of<'a>(
    s: &'a Summary,
    w: workloads::Workload,
    c: &Config,
) -> impl Iterator<Item = &'a Cell> {
    let c = *c;
    s.cells
        .iter()
        .filter(move |x| x.workload == w && x.config == c)
}

fn reference_lines(s: &Summary, w: workloads::Workload, c: &Config) -> Vec<RefLine> {
    reference::targets(w)
        .iter()
        .filter_map(|(label, rows, wl)| {
            // The device reference is the better of its rows (fio io_uring, fio psync): the
            // line is the row with the higher median.
            let cell = cells_of(s, *wl, c)
                .filter(|x| rows.contains(&x.engine.as_str()) && x.n > 0)
                .max_by(|a, b| a.median_bps.total_cmp(&b.median_bps))?;
            // Say which of fio's engines drew the line.
            let label = if rows.len() > 1 {
                format!("{label} ({})", reference::fio_ioengine(&cell.engine))
            } else {
                label.to_string()
            };
            Some(RefLine {
                label,
                value: mb(cell.median_bps),
                lo: mb(cell.ci.lo),
                hi: mb(cell.ci.hi),
            })
        })
        .collect()
}

fn workloads_in(s: &Summary) -> Vec<workloads::Workload> {
    let mut v: Vec<workloads::Workload> = Vec::new();
    for w in workloads::Workload::ALL {
        if s.cells.iter().any(|c| c.workload == w) {
            v.push(w);
        }
    }
    v
}

/// The sweep points of a summary, in order.
pub fn configs_in(s: &Summary) -> Vec<Config> {
    s.cells
        .iter()
        .map(|c| c.config)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Throughput per workload and engine, with intervals and reference lines.
pub fn throughput(s: &Summary, c: &Config, stem: String) -> Result<Chart, Box<dyn Error>> {
    let mut panels = Vec::new();
    for w in workloads_in(s) {
        let bars: Vec<Bar> = cells_of(s, w, c)
            .filter(|x| !reference::is_reference(&x.engine))
            .map(|x| Bar {
                label: x.engine.clone(),
                look: style::look(&x.engine),
                median: if x.n > 0 { mb(x.median_bps) } else { f64::NAN },
                lo: mb(x.ci.lo),
                hi: mb(x.ci.hi),
                level: x.ci.level,
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        panels.push(BarPanel {
            title: format!("{w}"),
            x_desc: "throughput, MB/s (10^6 bytes/s)".into(),
            bars,
            refs: reference_lines(s, w, c),
        });
    }
    let level = levels(panels.iter().flat_map(|p| p.bars.iter().map(|b| b.level)));
    let any_ref = panels.iter().any(|p| !p.refs.is_empty());
    let mut note = format!(
        "Bar and marker: median of the measured trials, fastest on top. Whiskers: the median's interval at {level} confidence (order statistics)."
    );
    if any_ref {
        note.push_str(
            " Dashed lines: reference rows at their medians, grey band: their intervals.",
        );
    }
    bar_chart(
        stem,
        format!("Throughput per engine ({})", config_words(c)),
        &[note],
        &panels,
    )
}

/// Latency percentiles per op (p50, p90, p99, p99.9), log scale: one panel per workload and
/// count of ops in flight, reads on the left, writes on the right.
pub fn latency(s: &Summary, c: &Config, stem: String) -> Result<Option<Chart>, Box<dyn Error>> {
    const PCT: [&str; 4] = ["p50", "p90", "p99", "p99.9"];
    let mut panels = Vec::new();
    for w in workloads_in(s) {
        // One panel per count of ops in flight: latencies measured at different concurrency
        // are never drawn side by side (see report.rs, `latency_tables`).
        let mut counts: Vec<Option<u64>> = cells_of(s, w, c).map(|x| x.ops_in_flight).collect();
        counts.sort();
        counts.dedup();
        for k in counts {
            let cells: Vec<&Cell> = cells_of(s, w, c)
                .filter(|x| !reference::is_reference(&x.engine) && x.ops_in_flight == k)
                .collect();
            let has_read = cells.iter().any(|x| x.read_lat_ns.is_some());
            let has_write = cells.iter().any(|x| x.write_lat_ns.is_some());
            // Positions: reads 0..4, a gap, writes after it (or writes alone from 0).
            let write_at = if has_read { PCT.len() + 1 } else { 0 };
            let series: Vec<Series> = cells
                .iter()
                .filter_map(|x| {
                    let mut points = Vec::new();
                    let log_us = |ns: u64| (ns as f64 / 1e3).max(0.001).log10();
                    for (p, ci, at) in [
                        (x.read_lat_ns, x.read_lat_ci_ns, 0),
                        (x.write_lat_ns, x.write_lat_ci_ns, write_at),
                    ] {
                        for (i, ns) in p.iter().flatten().enumerate() {
                            // Whiskers: the interval of this percentile taken per trial.
                            let (lo, hi) = ci.map_or((f64::NAN, f64::NAN), |c| {
                                (log_us(c[i][0]), log_us(c[i][1]))
                            });
                            points.push((at + i, log_us(*ns), lo, hi));
                        }
                    }
                    (!points.is_empty()).then(|| Series {
                        label: x.engine.clone(),
                        look: style::look(&x.engine),
                        points,
                    })
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let mut x_labels: Vec<String> = Vec::new();
            let mut groups = Vec::new();
            if has_read {
                x_labels.extend(PCT.map(String::from));
                groups.push((0, PCT.len() - 1, "read ops".to_string()));
            }
            if has_write {
                if has_read {
                    x_labels.push(String::new());
                }
                x_labels.extend(PCT.map(String::from));
                groups.push((write_at, write_at + PCT.len() - 1, "write ops".to_string()));
            }
            let at = match k {
                Some(1) => "1 op in flight".to_string(),
                Some(n) => format!("{n} ops in flight"),
                None => "ops in flight not recorded".to_string(),
            };
            panels.push(LinePanel {
                title: format!("{w}, {at}"),
                x_labels,
                groups,
                x_desc: "percentile".into(),
                y_desc: "latency, µs (log scale)".into(),
                log_y: true,
                series,
            });
        }
    }
    if panels.is_empty() {
        return Ok(None);
    }
    Ok(Some(line_chart(
        stem,
        format!("Per-op latency ({})", config_words(c)),
        &["Marker: the percentile of every op's latency, pooled over all measured trials; whiskers: the 95% order-statistic interval of that percentile taken per trial (its round-to-round spread; none with one trial). Ops in flight differ by engine: a blocking engine has one, so each count has its own panel.".to_string()],
        &panels,
    )?))
}

/// Throughput against CPU seconds per GB, per engine, with intervals on both.
pub fn cpu(s: &Summary, c: &Config, stem: String) -> Result<Option<Chart>, Box<dyn Error>> {
    let mut panels = Vec::new();
    for w in workloads_in(s) {
        let points: Vec<Point> = cells_of(s, w, c)
            .filter_map(|x| {
                let cpu = x.cpu_s_per_gb?;
                let ci = x.cpu_ci.unwrap_or(crate::analysis::stats::Interval {
                    lo: f64::NAN,
                    hi: f64::NAN,
                    level: 0.0,
                });
                Some(Point {
                    label: x.engine.clone(),
                    look: style::look(&x.engine),
                    x: (mb(x.median_bps), mb(x.ci.lo), mb(x.ci.hi)),
                    y: (cpu, ci.lo, ci.hi),
                })
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        panels.push(ScatterPanel {
            title: format!("{w}"),
            x_desc: "throughput, MB/s".into(),
            y_desc: "CPU s per GB, timed section".into(),
            points,
        });
    }
    if panels.is_empty() {
        return Ok(None);
    }
    let level = levels(
        s.cells
            .iter()
            .filter(|x| x.config == *c)
            .flat_map(|x| [Some(x.ci.level), x.cpu_ci.map(|i| i.level)])
            .flatten(),
    );
    Ok(Some(scatter_chart(
        stem,
        format!(
            "Throughput and CPU cost, lower right is better ({})",
            config_words(c)
        ),
        &[format!(
            "Marker: medians of the measured trials. Whiskers: the medians' intervals at {level} confidence. CPU: user + system seconds of the trial's process per GB moved, timed section only."
        )],
        &panels,
    )?))
}

/// A swept parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// Block size.
    BlockSize,
    /// Queue depth.
    QueueDepth,
    /// Files in flight.
    FilesInFlight,
    /// Threads.
    Threads,
    /// Cancel rate.
    CancelRate,
}

impl Param {
    /// Every parameter.
    pub const ALL: [Param; 5] = [
        Param::BlockSize,
        Param::QueueDepth,
        Param::FilesInFlight,
        Param::Threads,
        Param::CancelRate,
    ];

    /// Id for file names.
    pub fn id(self) -> &'static str {
        match self {
            Param::BlockSize => "block-size",
            Param::QueueDepth => "queue-depth",
            Param::FilesInFlight => "files-in-flight",
            Param::Threads => "threads",
            Param::CancelRate => "cancel-rate",
        }
    }

    fn get(self, c: &Config) -> u64 {
        match self {
            Param::BlockSize => c.block_size as u64,
            Param::QueueDepth => c.queue_depth as u64,
            Param::FilesInFlight => c.files_in_flight as u64,
            Param::Threads => c.threads as u64,
            Param::CancelRate => c.cancel_bp as u64,
        }
    }

    fn set(self, c: &Config, v: u64) -> Config {
        let mut c = *c;
        match self {
            Param::BlockSize => c.block_size = v as usize,
            Param::QueueDepth => c.queue_depth = v as usize,
            Param::FilesInFlight => c.files_in_flight = v as usize,
            Param::Threads => c.threads = v as usize,
            Param::CancelRate => c.cancel_bp = v as u32,
        }
        c
    }

    fn words(self, v: u64) -> String {
        match self {
            Param::BlockSize => units::size(v),
            Param::CancelRate => format!("{}", v as f64 / 10_000.0),
            _ => v.to_string(),
        }
    }

    fn desc(self) -> &'static str {
        match self {
            Param::BlockSize => "block size (bytes, KiB/MiB)",
            Param::QueueDepth => "queue depth (ops in flight per task)",
            Param::FilesInFlight => "files in flight",
            Param::Threads => "threads (runtimes)",
            Param::CancelRate => "cancel rate (share of ops dropped in flight)",
        }
    }
}

/// Parameters a summary sweeps (more than one value).
pub fn swept(s: &Summary) -> Vec<Param> {
    let cs = configs_in(s);
    Param::ALL
        .into_iter()
        .filter(|p| cs.iter().map(|c| p.get(c)).collect::<BTreeSet<_>>().len() > 1)
        .collect()
}

/// Throughput over one swept parameter, the others held at the first sweep point.
pub fn scaling(s: &Summary, p: Param, stem: String) -> Result<Chart, Box<dyn Error>> {
    let cs = configs_in(s);
    let base = cs[0];
    let values: Vec<u64> = cs
        .iter()
        .filter(|c| p.set(c, 0) == p.set(&base, 0))
        .map(|c| p.get(c))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut panels = Vec::new();
    for w in workloads_in(s) {
        let mut engines: Vec<String> = Vec::new();
        for x in s.cells.iter().filter(|x| x.workload == w) {
            if !engines.contains(&x.engine) {
                engines.push(x.engine.clone());
            }
        }
        let mut series = Vec::new();
        for e in &engines {
            if reference::is_reference(e) {
                continue;
            }
            let points: Vec<(usize, f64, f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let c = p.set(&base, *v);
                    let x = cells_of(s, w, &c).find(|x| &x.engine == e && x.n > 0)?;
                    Some((i, mb(x.median_bps), mb(x.ci.lo), mb(x.ci.hi)))
                })
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    label: e.clone(),
                    look: style::look(e),
                    points,
                });
            }
        }
        for (label, rows, wl) in reference::targets(w) {
            let points: Vec<(usize, f64, f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let x = cells_of(s, *wl, &p.set(&base, *v))
                        .filter(|x| rows.contains(&x.engine.as_str()) && x.n > 0)
                        .max_by(|a, b| a.median_bps.total_cmp(&b.median_bps))?;
                    Some((i, mb(x.median_bps), f64::NAN, f64::NAN))
                })
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    label: label.to_string(),
                    look: style::reference_look(label),
                    points,
                });
            }
        }
        if series.is_empty() {
            continue;
        }
        panels.push(LinePanel {
            title: format!("{w}"),
            x_labels: values.iter().map(|v| p.words(*v)).collect(),
            groups: Vec::new(),
            x_desc: p.desc().into(),
            y_desc: "throughput, MB/s".into(),
            log_y: false,
            series,
        });
    }
    let mut fixed = config_words(&base);
    fixed = fixed
        .split(", ")
        .filter(|part| {
            !part.starts_with(match p {
                Param::BlockSize => "block",
                Param::QueueDepth => "queue",
                Param::FilesInFlight => "files",
                Param::Threads => "threads",
                Param::CancelRate => "cancel",
            })
        })
        .collect::<Vec<_>>()
        .join(", ");
    let level = levels(s.cells.iter().map(|x| x.ci.level));
    line_chart(
        stem,
        format!(
            "Throughput over {} ({fixed})",
            p.desc().split(" (").next().unwrap_or("")
        ),
        &[format!(
            "Marker: median of the measured trials. Whiskers: the median's interval at {level} confidence. Dashed grey: reference rows."
        )],
        &panels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_and_bars_render_in_both_formats() {
        let g = Grid {
            rows: vec!["a".into(), "b".into()],
            cols: vec!["x".into()],
            cells: vec![
                GridCell {
                    verdict: style::verdict("safe", false),
                    text: "safe".into(),
                    detail: "1/1 dropped in flight".into(),
                },
                GridCell {
                    verdict: style::verdict("leak", false),
                    text: "leak 1 fd".into(),
                    detail: String::new(),
                },
            ],
            legend: vec![(style::verdict("safe", false), "safe".into())],
        };
        let c = grid_chart("g".into(), "grid".into(), &g).unwrap();
        assert!(c.svg.contains("<svg") && c.svg.contains("leak 1 fd"));
        assert_eq!(&c.png[..8], b"\x89PNG\r\n\x1a\n");
        let bar = |label: &str, median| Bar {
            label: label.into(),
            look: style::look("std"),
            median,
            lo: median * 0.9,
            hi: median * 1.1,
            level: 0.95,
        };
        let p = BarPanel {
            title: "t".into(),
            x_desc: "MB/s".into(),
            bars: vec![bar("slow-one", 5.0), bar("fast-one", 10.0)],
            refs: vec![RefLine {
                label: "fio read".into(),
                value: 12.0,
                lo: 11.0,
                hi: 13.0,
            }],
        };
        let c = bar_chart("b".into(), "bars".into(), &[], &[p]).unwrap();
        assert!(
            c.svg.contains("fio read 12.0"),
            "{}",
            &c.svg[..400.min(c.svg.len())]
        );
        // Sorted: the faster bar's label comes first from the top.
        let y_of = |s: &str| {
            let at = c.svg.find(&format!(">\n{s}\n<")).expect(s);
            let tag = &c.svg[c.svg[..at].rfind("<text").unwrap()..at];
            let y = tag.split("y=\"").nth(1).unwrap();
            y[..y.find('"').unwrap()].parse::<i32>().unwrap()
        };
        assert!(y_of("fast-one") < y_of("slow-one"));
    }

    #[test]
    fn png_text_is_rasterised_from_the_svg_with_the_embedded_font() {
        // A chart that is only text: the PNG must have dark pixels where the SVG has text, so
        // the embedded font reached resvg (with no font, resvg draws no text at all).
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="white"/><text x="10" y="30" font-family="DejaVu Sans, Verdana, sans-serif" font-size="24">Text</text></svg>"#;
        let png = rasterise(svg).unwrap();
        let px = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
        let dark = px
            .pixels()
            .iter()
            .filter(|p| p.red() < 100 && p.alpha() > 0)
            .count();
        assert!(dark > 50, "no text in the PNG ({dark} dark pixels)");
    }

    #[test]
    fn labels_are_placed_without_overlap() {
        // Five points on top of each other: every label still gets its own box.
        let pts = vec![(100, 100); 5];
        let sizes = vec![(60, 16); 5];
        let boxes = place_labels(&pts, &sizes, (0, 0, 400, 300));
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(!overlaps(*a, *b), "{a:?} overlaps {b:?}");
            }
        }
    }
}
