//! Charts (plotters), each drawn twice from the same code: SVG (text as text) and PNG (text
//! rasterised with DejaVu Sans embedded in the binary through ab_glyph, so a machine with no
//! fonts installed still gets labels). Exporters return bytes; `report.rs` writes the files.
//!
//! Style constants sit at the top (criterion's habit). Every engine has one fixed colour in
//! every chart ([`colour`]: its position in the registry), reference rows are grey and dashed,
//! and every axis says its unit.

use std::collections::BTreeSet;
use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analysis::reference;
use crate::analysis::summary::{Cell, Summary};
use crate::plan::options::Config;
use crate::sys::units::human_size;

/// Font family name the embedded font is registered under.
const FONT: &str = "sans-serif";
/// Figure title size.
const TITLE: u32 = 22;
/// The title size that fits `title` in `width` pixels (about 0.55 em per character), never
/// above [`TITLE`]: a long sweep title on a one-panel figure must not run off its edges.
fn title_size(title: &str, width: u32) -> u32 {
    let fit = (width as f64 * 0.95 / (title.chars().count().max(1) as f64 * 0.55)) as u32;
    fit.clamp(10, TITLE)
}

/// Panel caption size.
const CAPTION: u32 = 17;
/// Axis label and tick size.
const LABEL: u32 = 14;
/// Width of one panel.
const PANEL_W: u32 = 640;
/// Colour of reference rows.
const REF: RGBColor = RGBColor(90, 90, 90);

/// Tableau 10 plus two, in registry order of the engines.
const PALETTE: [RGBColor; 12] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
    RGBColor(31, 119, 180),
    RGBColor(140, 86, 75),
];

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
        let bytes: &'static [u8] = include_bytes!("../../assets/DejaVuSans.ttf");
        if plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_err() {
            panic!("the embedded font does not parse");
        }
    });
}

/// The colour of a reference line by its label: black for the kernel copy, two greys for fio's
/// read and write limits, so the three stay apart in legends.
pub fn ref_colour(label: &str) -> RGBColor {
    match label {
        "kernel-copy" => RGBColor(0, 0, 0),
        "fio write" => RGBColor(150, 150, 150),
        _ => REF,
    }
}

/// The fixed colour of an engine (reference rows: grey).
pub fn colour(engine: &str) -> RGBColor {
    if reference::is_reference(engine) {
        return REF;
    }
    let i = crate::plan::engines::ALL
        .iter()
        .position(|e| *e == engine)
        .unwrap_or_else(|| {
            // An engine this binary does not know (an old run): a stable hash of its name.
            engine
                .bytes()
                .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
        });
    PALETTE[i % PALETTE.len()]
}

fn encode_png(buf: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header()?;
        wr.write_image_data(buf)?;
    }
    Ok(out)
}

/// Draw `body` on an SVG and on a bitmap of `size`, and package both.
macro_rules! both {
    ($stem:expr, $title:expr, $size:expr, |$root:ident| $body:expr) => {{
        init_font();
        let size: (u32, u32) = $size;
        let mut svg = String::new();
        {
            let $root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            $root.fill(&WHITE)?;
            $body?;
            $root.present()?;
        }
        let mut buf = vec![255u8; (size.0 * size.1 * 3) as usize];
        {
            let $root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
            $root.fill(&WHITE)?;
            $body?;
            $root.present()?;
        }
        let png = encode_png(&buf, size)?;
        Chart {
            stem: $stem,
            title: $title,
            svg,
            png,
        }
    }};
}

/// A horizontal bar with its interval.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Axis label.
    pub label: String,
    /// Fill colour.
    pub colour: RGBColor,
    /// Median (bar length); NaN when every trial failed.
    pub median: f64,
    /// Interval low.
    pub lo: f64,
    /// Interval high.
    pub hi: f64,
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
    /// Bars, top to bottom.
    pub bars: Vec<Bar>,
    /// Reference lines.
    pub refs: Vec<RefLine>,
}

fn grid(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 2);
    (n.div_ceil(cols).max(1), cols)
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
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

fn draw_bar_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BarPanel) -> R
where
    DB::ErrorType: 'static,
{
    let n = p.bars.len().max(1) as i32;
    let max = p
        .bars
        .iter()
        .flat_map(|b| [b.hi, b.median])
        .chain(p.refs.iter().flat_map(|r| [r.hi, r.value]))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let xmax = if max > 0.0 { max * 1.18 } else { 1.0 };
    // Bars top to bottom: bar k sits in segment n-1-k (y grows upwards).
    let labels: Vec<String> = p.bars.iter().rev().map(|b| b.label.clone()).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, CAPTION))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(16 + 8 * longest)
        .build_cartesian_2d(0f64..xmax, (0..n - 1).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(&p.x_desc)
        .x_labels(6)
        .y_labels(n as usize)
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| seg_label(&labels, v))
        .label_style((FONT, LABEL))
        .axis_desc_style((FONT, LABEL))
        .draw()?;
    fn small(c: &'static RGBColor) -> TextStyle<'static> {
        TextStyle::from((FONT, 12).into_font())
            .color(c)
            .pos(Pos::new(HPos::Left, VPos::Center))
    }
    for r in &p.refs {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(r.lo, SegmentValue::Exact(0)), (r.hi, SegmentValue::Last)],
            REF.mix(0.08).filled(),
        )))?;
    }
    for (k, b) in p.bars.iter().enumerate() {
        let i = n - 1 - k as i32;
        if b.median.is_finite() {
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (b.median, SegmentValue::Exact(i + 1)),
                ],
                b.colour.filled(),
            );
            bar.set_margin(7, 7, 0, 0);
            chart.draw_series(std::iter::once(bar))?;
            if b.lo.is_finite() && b.hi.is_finite() {
                chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                    SegmentValue::CenterOf(i),
                    b.lo,
                    b.median,
                    b.hi,
                    BLACK.stroke_width(2),
                    10,
                )))?;
            }
            chart.draw_series(std::iter::once(Text::new(
                fmt_num(b.median),
                (b.hi.max(b.median) + xmax * 0.01, SegmentValue::CenterOf(i)),
                small(&BLACK),
            )))?;
        } else {
            chart.draw_series(std::iter::once(Text::new(
                "no successful trial".to_string(),
                (xmax * 0.01, SegmentValue::CenterOf(i)),
                small(&RED),
            )))?;
        }
    }
    for (k, r) in p.refs.iter().enumerate() {
        chart.draw_series(DashedLineSeries::new(
            vec![
                (r.value, SegmentValue::Exact(0)),
                (r.value, SegmentValue::Last),
            ],
            6,
            4,
            ref_colour(&r.label).stroke_width(2),
        ))?;
        // Labels hang from the top of their line, staggered so close references stay readable.
        let label = format!("{} {}", r.label, fmt_num(r.value));
        let c = ref_colour(&r.label);
        let style = TextStyle::from((FONT, 12).into_font()).color(&c);
        chart.draw_series(std::iter::once(
            EmptyElement::at((r.value, SegmentValue::Last))
                + Text::new(label, (4, 2 + 15 * k as i32), style),
        ))?;
    }
    Ok(())
}

fn draw_bar_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[BarPanel],
    ph: u32,
) -> R
where
    DB::ErrorType: 'static,
{
    let (rows, cols) = grid(panels.len());
    let body = root.titled(title, (FONT, title_size(title, root.dim_in_pixel().0)))?;
    let _ = ph;
    let areas = body.split_evenly((rows, cols));
    for (a, p) in areas.iter().zip(panels) {
        draw_bar_panel(a, p)?;
    }
    Ok(())
}

/// Bar panels as a figure.
pub fn bar_chart(
    stem: String,
    title: String,
    panels: &[BarPanel],
) -> Result<Chart, Box<dyn Error>> {
    let (rows, cols) = grid(panels.len());
    let bars = panels.iter().map(|p| p.bars.len()).max().unwrap_or(1) as u32;
    let ph = 110 + 34 * bars.max(2);
    let size = (PANEL_W * cols as u32, 40 + ph * rows as u32);
    let t = title.clone();
    Ok(both!(stem, title, size, |root| draw_bar_figure(
        &root, &t, panels, ph
    )))
}

/// A line with intervals over categorical x positions.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Colour.
    pub colour: RGBColor,
    /// Reference style (dashed).
    pub dashed: bool,
    /// `(x index, median, lo, hi)`.
    pub points: Vec<(usize, f64, f64, f64)>,
}

/// One panel of lines.
#[derive(Clone, Debug)]
pub struct LinePanel {
    /// Caption.
    pub title: String,
    /// x tick labels (categorical positions 0..).
    pub x_labels: Vec<String>,
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
    if x >= 1000.0 {
        format!("{:.0}k", x / 1000.0)
    } else if x >= 1.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

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
    let (ymin, ymax) = if p.log_y {
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() {
            (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
        } else {
            (0.0, 1.0)
        }
    } else {
        let hi = vals.iter().copied().fold(0.0f64, f64::max);
        (0.0, if hi > 0.0 { hi * 1.15 } else { 1.0 })
    };
    let n = p.x_labels.len().max(1) as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, CAPTION))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(44)
        .y_label_area_size(64)
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
        .disable_x_mesh();
    let decade = |v: &f64| fmt_decade(*v);
    let plain = |v: &f64| fmt_num(*v);
    if p.log_y {
        mesh.y_labels((ymax - ymin) as usize + 1)
            .y_label_formatter(&decade);
    } else {
        mesh.y_labels(6).y_label_formatter(&plain);
    }
    mesh.draw()?;
    for s in &p.series {
        let pts: Vec<(SegmentValue<i32>, f64)> = s
            .points
            .iter()
            .filter(|q| q.1.is_finite())
            .map(|q| (SegmentValue::CenterOf(q.0 as i32), q.1))
            .collect();
        let style = s.colour.stroke_width(if s.dashed { 2 } else { 3 });
        let c = s.colour;
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))?
                .label(&s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))?
                .label(&s.label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.filled()));
        }
        chart.draw_series(
            pts.iter()
                .map(|(x, y)| Circle::new((x.clone(), *y), 4, c.filled())),
        )?;
        chart.draw_series(
            s.points
                .iter()
                .filter(|q| q.2.is_finite() && q.3.is_finite() && q.2 != q.3)
                .map(|q| {
                    ErrorBar::new_vertical(
                        SegmentValue::CenterOf(q.0 as i32),
                        q.2,
                        q.1,
                        q.3,
                        c.stroke_width(2),
                        8,
                    )
                }),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 12))
        .draw()?;
    Ok(())
}

fn draw_line_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[LinePanel],
) -> R
where
    DB::ErrorType: 'static,
{
    let (rows, cols) = grid(panels.len());
    let body = root.titled(title, (FONT, title_size(title, root.dim_in_pixel().0)))?;
    for (a, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
        draw_line_panel(a, p)?;
    }
    Ok(())
}

/// Line panels as a figure.
pub fn line_chart(
    stem: String,
    title: String,
    panels: &[LinePanel],
) -> Result<Chart, Box<dyn Error>> {
    let (rows, cols) = grid(panels.len());
    let size = (PANEL_W * cols as u32, 40 + 420 * rows as u32);
    let t = title.clone();
    Ok(both!(stem, title, size, |root| draw_line_figure(
        &root, &t, panels
    )))
}

/// A point with intervals on both axes.
#[derive(Clone, Debug)]
pub struct Point {
    /// Label next to it.
    pub label: String,
    /// Colour.
    pub colour: RGBColor,
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

fn draw_scatter_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &ScatterPanel) -> R
where
    DB::ErrorType: 'static,
{
    let xmax = p
        .points
        .iter()
        .flat_map(|q| [q.x.0, q.x.2])
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let ymax = p
        .points
        .iter()
        .flat_map(|q| [q.y.0, q.y.2])
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let xmax = if xmax > 0.0 { xmax * 1.25 } else { 1.0 };
    let ymax = if ymax > 0.0 { ymax * 1.2 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, CAPTION))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(44)
        .y_label_area_size(64)
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
        .draw()?;
    for q in &p.points {
        if !(q.x.0.is_finite() && q.y.0.is_finite()) {
            continue;
        }
        let c = q.colour;
        if q.x.1.is_finite() && q.x.2.is_finite() {
            chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                q.y.0,
                q.x.1,
                q.x.0,
                q.x.2,
                c.stroke_width(2),
                8,
            )))?;
        }
        if q.y.1.is_finite() && q.y.2.is_finite() {
            chart.draw_series(std::iter::once(ErrorBar::new_vertical(
                q.x.0,
                q.y.1,
                q.y.0,
                q.y.2,
                c.stroke_width(2),
                8,
            )))?;
        }
        chart.draw_series(std::iter::once(Circle::new((q.x.0, q.y.0), 6, c.filled())))?;
        chart.draw_series(std::iter::once(Text::new(
            q.label.clone(),
            (q.x.0 + xmax * 0.012, q.y.0 + ymax * 0.035),
            (FONT, 12).into_font(),
        )))?;
    }
    Ok(())
}

fn draw_scatter_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[ScatterPanel],
) -> R
where
    DB::ErrorType: 'static,
{
    let (rows, cols) = grid(panels.len());
    let body = root.titled(title, (FONT, title_size(title, root.dim_in_pixel().0)))?;
    for (a, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
        draw_scatter_panel(a, p)?;
    }
    Ok(())
}

/// Scatter panels as a figure.
pub fn scatter_chart(
    stem: String,
    title: String,
    panels: &[ScatterPanel],
) -> Result<Chart, Box<dyn Error>> {
    let (rows, cols) = grid(panels.len());
    let size = (PANEL_W * cols as u32, 40 + 440 * rows as u32);
    let t = title.clone();
    Ok(both!(stem, title, size, |root| draw_scatter_figure(
        &root, &t, panels
    )))
}

/// One cell of a coloured grid (the safety matrix).
#[derive(Clone, Debug)]
pub struct GridCell {
    /// Fill.
    pub colour: RGBColor,
    /// First line (the verdict).
    pub text: String,
    /// Second line (counts).
    pub detail: String,
}

/// A grid: rows × columns of cells, with a legend of colours.
#[derive(Clone, Debug)]
pub struct Grid {
    /// Row labels.
    pub rows: Vec<String>,
    /// Column labels.
    pub cols: Vec<String>,
    /// Row-major cells.
    pub cells: Vec<GridCell>,
    /// Legend: colour and meaning.
    pub legend: Vec<(RGBColor, String)>,
}

const CELL_W: i32 = 196;
const CELL_H: i32 = 46;

fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    g: &Grid,
    label_w: i32,
) -> R
where
    DB::ErrorType: 'static,
{
    let body = root.titled(title, (FONT, title_size(title, root.dim_in_pixel().0)))?;
    let font = |s: u32| (FONT, s).into_font();
    let top = 30;
    for (j, c) in g.cols.iter().enumerate() {
        let x = label_w + j as i32 * CELL_W + 8;
        body.draw(&Text::new(c.clone(), (x, 8), font(LABEL)))?;
    }
    for (i, r) in g.rows.iter().enumerate() {
        let y = top + i as i32 * CELL_H;
        body.draw(&Text::new(r.clone(), (8, y + CELL_H / 2 - 8), font(LABEL)))?;
        for j in 0..g.cols.len() {
            let Some(cell) = g.cells.get(i * g.cols.len() + j) else {
                continue;
            };
            let x = label_w + j as i32 * CELL_W;
            body.draw(&Rectangle::new(
                [(x + 1, y + 1), (x + CELL_W - 1, y + CELL_H - 1)],
                cell.colour.filled(),
            ))?;
            body.draw(&Rectangle::new(
                [(x + 1, y + 1), (x + CELL_W - 1, y + CELL_H - 1)],
                BLACK.mix(0.3),
            ))?;
            body.draw(&Text::new(cell.text.clone(), (x + 6, y + 6), font(13)))?;
            body.draw(&Text::new(cell.detail.clone(), (x + 6, y + 25), font(11)))?;
        }
    }
    let ly = top + g.rows.len() as i32 * CELL_H + 14;
    let mut lx = 8;
    for (c, t) in &g.legend {
        body.draw(&Rectangle::new([(lx, ly), (lx + 14, ly + 14)], c.filled()))?;
        body.draw(&Text::new(t.clone(), (lx + 18, ly), font(12)))?;
        lx += 26 + 7 * t.chars().count() as i32;
    }
    Ok(())
}

/// The grid as a figure.
pub fn grid_chart(stem: String, title: String, g: &Grid) -> Result<Chart, Box<dyn Error>> {
    let label_w = 24 + 8 * g.rows.iter().map(|r| r.chars().count()).max().unwrap_or(6) as i32;
    let legend_w: i32 = g
        .legend
        .iter()
        .map(|(_, t)| 26 + 7 * t.chars().count() as i32)
        .sum::<i32>()
        + 16;
    let w = (label_w + CELL_W * g.cols.len() as i32 + 16)
        .max(legend_w)
        .max(400);
    let h = 40 + 30 + CELL_H * g.rows.len() as i32 + 50;
    let t = title.clone();
    Ok(both!(stem, title, (w as u32, h as u32), |root| draw_grid(
        &root, &t, g, label_w
    )))
}

// ---- The run's charts, from a summary ----------------------------------------------------

fn mb(v: f64) -> f64 {
    v / 1e6
}

/// The words of a sweep point for titles.
pub fn config_words(c: &Config) -> String {
    let mut s = format!(
        "block {}, queue depth {}, files in flight {}, threads {}",
        human_size(c.block_size as u64),
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
        .filter_map(|(label, row, wl)| {
            let cell = cells_of(s, *wl, c).find(|x| x.engine == *row && x.n > 0)?;
            Some(RefLine {
                label: label.to_string(),
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
                colour: colour(&x.engine),
                median: mb(x.median_bps),
                lo: mb(x.ci.lo),
                hi: mb(x.ci.hi),
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        panels.push(BarPanel {
            title: format!("{w}: median and interval"),
            x_desc: "throughput, MB/s (10^6 bytes/s)".into(),
            bars,
            refs: reference_lines(s, w, c),
        });
    }
    bar_chart(
        stem,
        format!("Throughput per engine ({})", config_words(c)),
        &panels,
    )
}

/// Latency percentiles per op (p50, p90, p99, p99.9), log scale.
pub fn latency(s: &Summary, c: &Config, stem: String) -> Result<Option<Chart>, Box<dyn Error>> {
    let mut panels = Vec::new();
    for w in workloads_in(s) {
        // One panel per count of ops in flight: latencies measured at different concurrency
        // are never drawn side by side (see report.rs, `latency_tables`).
        let mut counts: Vec<Option<u64>> = cells_of(s, w, c).map(|x| x.ops_in_flight).collect();
        counts.sort();
        counts.dedup();
        for (op, pick, k) in counts
            .iter()
            .flat_map(|k| [("read", 0usize, *k), ("write", 1usize, *k)])
        {
            let series: Vec<Series> = cells_of(s, w, c)
                .filter(|x| !reference::is_reference(&x.engine) && x.ops_in_flight == k)
                .filter_map(|x| {
                    let p = if pick == 0 {
                        x.read_lat_ns
                    } else {
                        x.write_lat_ns
                    }?;
                    Some(Series {
                        label: x.engine.clone(),
                        colour: colour(&x.engine),
                        dashed: false,
                        points: p
                            .iter()
                            .enumerate()
                            .map(|(i, ns)| {
                                (i, (*ns as f64 / 1e3).max(0.001).log10(), f64::NAN, f64::NAN)
                            })
                            .collect(),
                    })
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let at = match k {
                Some(1) => "1 op in flight".to_string(),
                Some(n) => format!("{n} ops in flight"),
                None => "ops in flight not recorded".to_string(),
            };
            panels.push(LinePanel {
                title: format!("{w}: {op} op latency, {at}"),
                x_labels: ["p50", "p90", "p99", "p99.9"].map(String::from).to_vec(),
                x_desc: "percentile (all measured trials)".into(),
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
                    colour: colour(&x.engine),
                    x: (mb(x.median_bps), mb(x.ci.lo), mb(x.ci.hi)),
                    y: (cpu, ci.lo, ci.hi),
                })
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        panels.push(ScatterPanel {
            title: format!("{w}: throughput vs CPU cost"),
            x_desc: "throughput, MB/s".into(),
            y_desc: "CPU s per GB, timed section".into(),
            points,
        });
    }
    if panels.is_empty() {
        return Ok(None);
    }
    Ok(Some(scatter_chart(
        stem,
        format!(
            "Throughput and CPU cost, lower right is better ({})",
            config_words(c)
        ),
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
            Param::BlockSize => human_size(v),
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
                    colour: colour(e),
                    dashed: false,
                    points,
                });
            }
        }
        for (label, row, wl) in reference::targets(w) {
            let points: Vec<(usize, f64, f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let x = cells_of(s, *wl, &p.set(&base, *v))
                        .find(|x| x.engine == *row && x.n > 0)?;
                    Some((i, mb(x.median_bps), f64::NAN, f64::NAN))
                })
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    label: label.to_string(),
                    colour: ref_colour(label),
                    dashed: true,
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
    line_chart(
        stem,
        format!(
            "Throughput over {} ({fixed})",
            p.desc().split(" (").next().unwrap_or("")
        ),
        &panels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_fixed_per_engine_and_distinct_for_visible_engines() {
        assert_eq!(colour("compio"), colour("compio"));
        let vis: Vec<&str> = crate::plan::engines::ALL
            .iter()
            .copied()
            .filter(|e| crate::plan::engines::visible(e))
            .collect();
        let set: BTreeSet<(u8, u8, u8)> = vis
            .iter()
            .map(|e| {
                let c = colour(e);
                (c.0, c.1, c.2)
            })
            .collect();
        assert_eq!(set.len(), vis.len(), "two visible engines share a colour");
        assert_eq!(colour(reference::FIO), REF);
    }

    #[test]
    fn grid_and_bars_render_in_both_formats() {
        let g = Grid {
            rows: vec!["a".into(), "b".into()],
            cols: vec!["x".into()],
            cells: vec![
                GridCell {
                    colour: RGBColor(0, 200, 0),
                    text: "safe".into(),
                    detail: "1 dropped".into(),
                },
                GridCell {
                    colour: RGBColor(200, 0, 0),
                    text: "leak 1 fd".into(),
                    detail: String::new(),
                },
            ],
            legend: vec![(RGBColor(0, 200, 0), "safe".into())],
        };
        let c = grid_chart("g".into(), "grid".into(), &g).unwrap();
        assert!(c.svg.contains("<svg") && c.svg.contains("leak 1 fd"));
        assert_eq!(&c.png[..8], b"\x89PNG\r\n\x1a\n");
        let p = BarPanel {
            title: "t".into(),
            x_desc: "MB/s".into(),
            bars: vec![Bar {
                label: "e".into(),
                colour: colour("std"),
                median: 10.0,
                lo: 9.0,
                hi: 11.0,
            }],
            refs: vec![RefLine {
                label: "fio read".into(),
                value: 12.0,
                lo: 11.0,
                hi: 13.0,
            }],
        };
        let c = bar_chart("b".into(), "bars".into(), &[p]).unwrap();
        assert!(
            c.svg.contains("fio read 12.0"),
            "{}",
            &c.svg[..400.min(c.svg.len())]
        );
    }
}
