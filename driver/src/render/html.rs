//! `report.html`: one self-contained file per run folder, made from the very
//! markdown of report.md by a CommonMark parser (pulldown-cmark, tables extension), so the two
//! files always have the same sections, tables and words. What the HTML adds: the charts
//! inline (each `![..](plots/NAME.svg)` becomes the SVG itself, read from the run folder),
//! tables sortable by a click on a column header (a few lines of inline script), a contents
//! list of the sections, and a stylesheet for screen and print. Nothing is fetched from a
//! network: no external script, style, font or image.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Escape text for HTML element content and attribute values.
fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A heading's anchor: lower-case letters and digits, the rest as single hyphens; numbered
/// when two headings would share one.
fn slug(text: &str, taken: &mut Vec<String>) -> String {
    let mut s = String::new();
    for ch in text.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            s.push(ch);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let base = s.trim_end_matches('-').to_string();
    let base = if base.is_empty() {
        "section".to_string()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.push(id.clone());
    id
}

/// A chart of the run folder for a markdown image path, when it is one: only `plots/NAME.svg`
/// (no other folder, no `..`) is ever read.
fn chart_path(dest: &str) -> Option<&str> {
    let name = dest.strip_prefix("plots/")?.strip_suffix(".svg")?;
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains(".."))
    .then_some(dest)
}

/// The SVG document as an inline element: whatever precedes the root (an XML declaration,
/// a comment) dropped, the root labelled for screen readers.
fn inline_svg(svg: &str, label: &str) -> Option<String> {
    let start = svg.find("<svg")?;
    let body = svg[start..].trim_end();
    let rest = body.strip_prefix("<svg")?;
    Some(format!(
        "<svg role=\"img\" aria-label=\"{}\"{rest}",
        escape(label)
    ))
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; background: #fff; max-width: 1400px; margin: 0 auto; padding: 1em 2em 4em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.35em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
h3 { font-size: 1.1em; margin-top: 1.6em; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f5f5f5; padding: 0.8em; overflow-x: auto; }
.table { overflow-x: auto; margin: 0.8em 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; vertical-align: top; }
th { background: #f0f0f0; cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \25B2"; }
th[aria-sort="descending"]::after { content: " \25BC"; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
nav.contents { font-size: 14px; background: #f7f7f7; border: 1px solid #ddd; padding: 0.4em 1em; display: inline-block; }
nav.contents ol { margin: 0.3em 0; padding-left: 1.4em; }
.hint { color: #555; font-size: 13px; }
@media print {
  body { font-size: 10pt; max-width: none; padding: 0; }
  nav.contents, .hint { display: none; }
  th { cursor: auto; background: #eee; }
  th[aria-sort]::after { content: none; }
  .table { overflow: visible; }
  table, figure, pre { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  pre { white-space: pre-wrap; }
}
"#;

/// Click a header to sort its table's body rows; again to reverse. A cell sorts by its
/// standing (win, tie, lose), by the number it starts with, "safe" before any finding count,
/// then as text; empty and "–" cells always last.
const SCRIPT: &str = r#"
(function () {
  function key(td) {
    var t = (td ? td.textContent : "").trim();
    if (t === "" || t === "–" || t === "-") return null;
    var m = /^(win|tie|lose\*?|only)\s+(-?[\d.]+)/.exec(t);
    if (m) return { n: ["win", "tie", "only", "lose", "lose*"].indexOf(m[1]) * 1e12 - parseFloat(m[2]) };
    if (/^safe\b/.test(t)) return { n: 0 };
    m = /^-?\d+(\.\d+)?/.exec(t);
    if (m) return { n: parseFloat(m[0]) };
    return { s: t.toLowerCase() };
  }
  function cmp(a, b) {
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    if ("n" in a && "n" in b) return a.n - b.n;
    if ("n" in a) return -1;
    if ("n" in b) return 1;
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }
  document.querySelectorAll("table").forEach(function (table) {
    var head = table.tHead, body = table.tBodies[0];
    if (!head || !body) return;
    var ths = head.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      function sort() {
        var down = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(ths, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
          return { r: r, k: key(r.cells[col]), i: i };
        });
        rows.sort(function (a, b) {
          var c = cmp(a.k, b.k);
          if (down && a.k !== null && b.k !== null) c = -c;
          return c || a.i - b.i;
        });
        rows.forEach(function (x) { body.appendChild(x.r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  });
})();
"#;

/// report.html from report.md's markdown. `title` is the page's title; `svg(path)` gives the
/// SVG text of a chart the markdown shows (`plots/NAME.svg`), `None` when the file is missing
/// (the figure then says so in place of the chart).
pub fn render(title: &str, markdown: &str, svg: &dyn Fn(&str) -> Option<String>) -> String {
    let mut events: Vec<Event> = Parser::new_ext(markdown, Options::ENABLE_TABLES).collect();

    // Anchors for the headings, and the contents list of the second-level ones.
    let mut taken = Vec::new();
    let mut contents: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, .. }) = &events[i] {
            let level = *level;
            let mut text = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            let id = slug(&text, &mut taken);
            if level == HeadingLevel::H2 {
                contents.push((id.clone(), text));
            }
            if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[i] {
                *slot = Some(CowStr::from(id));
            }
        }
        i += 1;
    }

    let mut out_events: Vec<Event> = Vec::with_capacity(events.len());
    let mut iter = events.into_iter();
    while let Some(e) = iter.next() {
        match e {
            Event::Start(Tag::Image { dest_url, .. }) => {
                // The alt text, up to the image's end, becomes the chart's label.
                let mut alt = String::new();
                for inner in iter.by_ref() {
                    match inner {
                        Event::End(TagEnd::Image) => break,
                        Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                        _ => {}
                    }
                }
                let figure = match chart_path(&dest_url)
                    .and_then(svg)
                    .and_then(|s| inline_svg(&s, &alt))
                {
                    Some(s) => format!("<figure class=\"chart\">{s}</figure>"),
                    None => format!(
                        "<span class=\"missing\">[chart {} is not in this folder]</span>",
                        escape(&dest_url)
                    ),
                };
                out_events.push(Event::InlineHtml(figure.into()));
            }
            Event::Start(Tag::Table(a)) => {
                out_events.push(Event::Html("<div class=\"table\">\n".into()));
                out_events.push(Event::Start(Tag::Table(a)));
            }
            Event::End(TagEnd::Table) => {
                out_events.push(Event::End(TagEnd::Table));
                out_events.push(Event::Html("</div>\n".into()));
            }
            // The report's markdown holds no intended HTML: anything that parses as such
            // (a `<` in an error message) is shown as the text it is.
            Event::Html(t) | Event::InlineHtml(t) => out_events.push(Event::Text(t)),
            e => out_events.push(e),
        }
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, out_events.into_iter());

    let mut nav = String::new();
    if !contents.is_empty() {
        nav.push_str("<nav class=\"contents\"><strong>Contents</strong><ol>\n");
        for (id, text) in &contents {
            nav.push_str(&format!(
                "<li><a href=\"#{}\">{}</a></li>\n",
                escape(id),
                escape(text)
            ));
        }
        nav.push_str("</ol></nav>\n<p class=\"hint\">Click a column header to sort a table.</p>\n");
    }
    // The contents go after the first heading (the report's title) and its lead paragraph.
    let at = body.find("<h2").unwrap_or(body.len());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"ringbench\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}{nav}{}<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title),
        &body[..at],
        &body[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_the_data_is_text() {
        let html = render(
            "a <b> & c",
            "# t\n\nerror: <script>alert(1)</script> at <dir>\n",
            &|_| None,
        );
        assert!(html.contains("<title>a &lt;b&gt; &amp; c</title>"));
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert_eq!(html.matches("<script>").count(), 1, "only the sorter");
    }
}
