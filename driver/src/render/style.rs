//! The look of every chart in one place (criterion keeps its style constants at the top of its
//! plotters backend): font and sizes, the Okabe–Ito palette, one fixed colour + marker + line
//! pattern per engine, the reference lines' greys and dashes, and the safety verdicts' fills and
//! hatch patterns.
//!
//! Colour is never the only carrier of meaning: every engine also has its own marker shape (and
//! engines that share a colour differ in shape and line pattern), every reference its own dash,
//! and every safety verdict its own hatch, so a chart printed in greyscale or read by a
//! colour-blind reader still tells them apart. Okabe & Ito's eight colours ("Color Universal
//! Design", 2008) stay distinct under the common colour-vision deficiencies.

use plotters::style::RGBColor;

use crate::analysis::reference;

/// Family name the embedded font is registered under in plotters (which measures text with it)
/// and the one SVG text asks for.
pub const FONT: &str = "sans-serif";
/// The embedded font: text is measured and rasterised with the same glyphs on every machine,
/// fonts installed or not.
pub const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// Its family name inside the file (what resvg's font database matches).
pub const FONT_FAMILY: &str = "DejaVu Sans";
/// The `font-family` SVG text gets: the embedded font first; Verdana (the metrics DejaVu Sans
/// inherits from Bitstream Vera) where a browser lacks it, so label widths barely move.
pub const SVG_FONT_FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";

// Text sizes are plotters sizes: its SVG backend writes `font-size` as size / 1.24, so 18 is
// 14.5 px of text.
/// Figure title size.
pub const TITLE: u32 = 28;
/// Subtitle (what the marks mean) size.
pub const SUBTITLE: u32 = 18;
/// Panel caption size.
pub const CAPTION: u32 = 22;
/// Axis label and tick size.
pub const LABEL: u32 = 18;
/// Value labels, legend entries.
pub const SMALL: u32 = 17;
/// Width of one panel: two panels side by side make a 1200 px figure, which a blog column
/// (700–900 px) shows at 60–75 %, leaving the 14 px labels at 9–10 px.
pub const PANEL_W: u32 = 600;

/// Okabe–Ito: black, orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple.
pub const BLACK: RGBColor = RGBColor(0, 0, 0);
/// Okabe–Ito orange.
pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
/// Okabe–Ito sky blue.
pub const SKY: RGBColor = RGBColor(86, 180, 233);
/// Okabe–Ito bluish green.
pub const GREEN: RGBColor = RGBColor(0, 158, 115);
/// Okabe–Ito yellow (only as a fill: too light for lines on white).
pub const YELLOW: RGBColor = RGBColor(240, 228, 66);
/// Okabe–Ito blue.
pub const BLUE: RGBColor = RGBColor(0, 114, 178);
/// Okabe–Ito vermillion.
pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
/// Okabe–Ito reddish purple.
pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
/// The palette's line colours in the order unknown engines get them.
const LINE_COLOURS: [RGBColor; 7] = [BLACK, ORANGE, SKY, GREEN, VERMILLION, BLUE, PURPLE];

/// Greys of the reference rows (kernel copy, fio), lighter than any engine colour's luminance
/// extremes so a dashed grey line reads as "a reference, not an engine".
pub const REF: RGBColor = RGBColor(110, 110, 110);

/// A marker shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// Circle.
    Circle,
    /// Square.
    Square,
    /// Triangle pointing up.
    Triangle,
    /// Diamond.
    Diamond,
    /// Triangle pointing down.
    TriangleDown,
    /// Pentagon.
    Pentagon,
    /// Hexagon.
    Hexagon,
}

const SHAPES: [Shape; 7] = [
    Shape::Circle,
    Shape::Square,
    Shape::Triangle,
    Shape::Diamond,
    Shape::TriangleDown,
    Shape::Pentagon,
    Shape::Hexagon,
];

impl Shape {
    /// The outline of the shape around (0, 0), `r` pixels from centre to corner, as a closed
    /// polygon (y grows downwards).
    pub fn outline(self, r: f64) -> Vec<(i32, i32)> {
        let poly = |n: usize, start_deg: f64, r: f64| -> Vec<(i32, i32)> {
            (0..n)
                .map(|k| {
                    let a = (start_deg + 360.0 * k as f64 / n as f64).to_radians();
                    ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
                })
                .collect()
        };
        match self {
            Shape::Circle => poly(16, 0.0, r * 0.9),
            Shape::Square => poly(4, 45.0, r),
            Shape::Triangle => poly(3, -90.0, r * 1.15),
            Shape::Diamond => poly(4, 0.0, r * 1.1),
            Shape::TriangleDown => poly(3, 90.0, r * 1.15),
            Shape::Pentagon => poly(5, -90.0, r),
            Shape::Hexagon => poly(6, 0.0, r),
        }
    }
}

/// How one series (an engine or a reference row) is drawn in every chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    /// Colour of its line, marker and bar.
    pub colour: RGBColor,
    /// Marker shape.
    pub shape: Shape,
    /// Hollow marker (white inside): the second engine of a colour.
    pub hollow: bool,
    /// Line dash `(on, off)` in pixels; `None` is solid.
    pub dash: Option<(u32, u32)>,
}

impl Look {
    const fn solid(colour: RGBColor, shape: Shape) -> Look {
        Look {
            colour,
            shape,
            hollow: false,
            dash: None,
        }
    }

    /// A second engine of a colour: hollow marker, dotted line.
    const fn variant(colour: RGBColor, shape: Shape) -> Look {
        Look {
            colour,
            shape,
            hollow: true,
            dash: Some((3, 4)),
        }
    }
}

/// The dash of a reference line: long dashes for the kernel copy, shorter ones for fio.
fn ref_look(label: &str) -> Look {
    // A fio line's label may name the engine that drew it: "fio write (psync)".
    let (colour, dash) = match label {
        "kernel-copy" => (RGBColor(60, 60, 60), (10, 5)),
        l if l.starts_with("fio write") => (RGBColor(140, 140, 140), (4, 4)),
        _ => (REF, (7, 4)),
    };
    Look {
        colour,
        shape: Shape::Square,
        hollow: true,
        dash: Some(dash),
    }
}

/// The fixed look of an engine (or of a reference row: a grey dashed line): the same in every
/// chart of every run, so a reader learns it once. The runtimes a default run shows get the
/// seven line colours of the palette with seven shapes; a runtime's variant (tokio-uring with
/// fixed buffers, another compio release) shares its colour with a hollow marker and a dotted
/// line.
pub fn look(engine: &str) -> Look {
    if reference::is_reference(engine) {
        return ref_look(engine);
    }
    match engine {
        "std" => Look::solid(BLACK, Shape::Circle),
        "tokio" => Look::solid(ORANGE, Shape::Square),
        "tokio-io-uring" => Look::solid(SKY, Shape::Triangle),
        "compio" => Look::solid(GREEN, Shape::Diamond),
        "tokio-uring" => Look::solid(VERMILLION, Shape::TriangleDown),
        "tokio-uring-fixed" => Look::variant(VERMILLION, Shape::Square),
        "monoio" => Look::solid(BLUE, Shape::Pentagon),
        "glommio" => Look::solid(PURPLE, Shape::Hexagon),
        "safer-ring" => Look::variant(BLUE, Shape::Circle),
        // The floor (no runtime): black like the std baseline, hollow and dotted, as a
        // reference-like row.
        "io-uring-raw" => Look::variant(BLACK, Shape::Diamond),
        e if crate::plan::engines::other_release(e) => {
            // Another release of a runtime: its family's colour, hollow, a shape by label.
            let base = look(crate::plan::engines::runtime_family(e));
            let h = hash(e);
            Look::variant(base.colour, SHAPES[h % SHAPES.len()])
        }
        e => {
            // An engine with no assigned look (test engines, an old run's engine): a stable
            // hash of its name picks colour and shape, hollow so it is not mistaken for a
            // runtime above.
            let h = hash(e);
            Look::variant(
                LINE_COLOURS[h % LINE_COLOURS.len()],
                SHAPES[(h / LINE_COLOURS.len()) % SHAPES.len()],
            )
        }
    }
}

fn hash(s: &str) -> usize {
    s.bytes()
        .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
}

/// The look of a reference line by its label (`kernel-copy`, `fio read`, `fio write`).
pub fn reference_look(label: &str) -> Look {
    ref_look(label)
}

/// A hatch drawn over a safety verdict's swatch, so verdicts differ without colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hatch {
    /// No lines.
    None,
    /// Lines rising to the right.
    Diagonal,
    /// Lines falling to the right.
    BackDiagonal,
    /// Both diagonals.
    Cross,
    /// Horizontal lines.
    Horizontal,
    /// Vertical lines.
    Vertical,
    /// A grid of dots.
    Dots,
}

/// How a safety verdict is drawn: a light tint behind the text of the cell and a swatch at its
/// left edge (full colour and hatch), the same swatch as in the legend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Swatch colour.
    pub colour: RGBColor,
    /// Swatch hatch.
    pub hatch: Hatch,
    /// Share of the colour in the cell's background (the rest white), light enough for black
    /// text.
    pub tint: f64,
}

/// The look of a verdict kind (`safe`, `leak`, ... as `analysis::safety::kind_name` names them);
/// `not_in_flight`: a safe cell whose op had already finished (nothing was tested).
pub fn verdict(kind: &str, not_in_flight: bool) -> Verdict {
    let v = |colour, hatch, tint| Verdict {
        colour,
        hatch,
        tint,
    };
    match kind {
        "safe" if not_in_flight => v(RGBColor(190, 225, 210), Hatch::None, 0.25),
        "safe" => v(GREEN, Hatch::None, 0.3),
        "leak" => v(YELLOW, Hatch::Diagonal, 0.45),
        "data-loss" => v(ORANGE, Hatch::BackDiagonal, 0.35),
        "ghost-write" => v(PURPLE, Hatch::Horizontal, 0.35),
        "use-after-free" => v(VERMILLION, Hatch::Cross, 0.45),
        "crash" => v(BLACK, Hatch::None, 0.2),
        "hang" => v(SKY, Hatch::Vertical, 0.4),
        "unvalidated" => v(RGBColor(255, 255, 255), Hatch::Dots, 0.0),
        _ => v(RGBColor(200, 200, 200), Hatch::None, 0.35),
    }
}

/// `c` mixed with white: `share` of `c`.
pub fn tint(c: RGBColor, share: f64) -> RGBColor {
    let m = |v: u8| (v as f64 * share + 255.0 * (1.0 - share)).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

/// Perceived lightness of a colour (0 black … 1 white, Rec. 709 weights): whether text or
/// hatch lines on it should be white.
pub fn lightness(c: RGBColor) -> f64 {
    (0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64) / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn visible_engines_differ_in_colour_shape_or_fill() {
        let vis: Vec<&str> = crate::plan::engines::ALL
            .iter()
            .copied()
            .filter(|e| crate::plan::engines::visible(e))
            .collect();
        let set: BTreeSet<_> = vis
            .iter()
            .map(|e| {
                let l = look(e);
                ((l.colour.0, l.colour.1, l.colour.2), l.shape, l.hollow)
            })
            .collect();
        assert_eq!(set.len(), vis.len(), "two visible engines look the same");
        // Shape alone tells the default selection apart (greyscale).
        let shapes: BTreeSet<_> = vis
            .iter()
            .filter(|e| crate::plan::engines::default_selected(e))
            .map(|e| (look(e).shape, look(e).hollow))
            .collect();
        assert_eq!(
            shapes.len(),
            vis.iter()
                .filter(|e| crate::plan::engines::default_selected(e))
                .count()
        );
        assert_eq!(look("compio@0.16").colour, look("compio").colour);
        assert!(look(reference::FIO).dash.is_some());
    }

    #[test]
    fn verdicts_differ_without_colour() {
        let kinds = [
            "safe",
            "leak",
            "data-loss",
            "ghost-write",
            "use-after-free",
            "crash",
            "hang",
            "unvalidated",
        ];
        // In greyscale a verdict is its hatch and its lightness; no two may share both.
        let seen: BTreeSet<(String, u32)> = kinds
            .iter()
            .map(|k| {
                let v = verdict(k, false);
                (
                    format!("{:?}", v.hatch),
                    (lightness(v.colour) * 10.0) as u32,
                )
            })
            .collect();
        assert_eq!(seen.len(), kinds.len());
    }
}
