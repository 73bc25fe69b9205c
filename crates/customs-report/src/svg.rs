//! Inline SVG charts for the HTML report: horizontal bar charts and stacked bars, drawn by
//! hand. A charting crate would either pull in JavaScript or render to a raster; the report
//! needs a few rectangles and labels that print crisply, scale on a phone and load nothing,
//! so they are written here. Colours come from CSS classes in the page's stylesheet (so print
//! and dark styles can change them); every label is escaped.

use std::fmt::Write as _;

use crate::html::escape;

/// One bar: a label, its value, the text shown after it, and the CSS class that colours it.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label at the left (escaped here).
    pub label: String,
    /// Length of the bar, in the chart's unit.
    pub value: u64,
    /// Text after the bar (the value formatted, escaped here).
    pub text: String,
    /// CSS class of the bar (`sev-high`, `eco`).
    pub class: &'static str,
}

/// One segment of a stacked bar.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Length, in the chart's unit.
    pub value: u64,
    /// CSS class of the segment.
    pub class: &'static str,
    /// Tooltip text (`<title>`, escaped here).
    pub title: String,
}

const WIDTH: u32 = 600;
const LABEL: u32 = 150;
const VALUE: u32 = 110;
const ROW: u32 = 22;
/// Room for the caption after a stacked bar.
const CAPTION: u32 = 190;

fn scaled(value: u64, max: u64, room: u32) -> f64 {
    if max == 0 {
        0.0
    } else {
        value as f64 / max as f64 * f64::from(room)
    }
}

/// A horizontal bar chart, one row per bar, scaled to the largest value. `title` names the
/// chart for screen readers.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let height = ROW * bars.len().max(1) as u32;
    let room = WIDTH - LABEL - VALUE;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" preserveAspectRatio="xMinYMin meet"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i as u32 * ROW;
        let w = scaled(b.value, max, room);
        let _ = write!(
            out,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text><rect class="{}" x="{LABEL}" y="{}" width="{w:.1}" height="{}"><title>{}: {}</title></rect><text class="value" x="{}" y="{}">{}</text>"#,
            LABEL - 6,
            y + 15,
            escape(&b.label),
            b.class,
            y + 4,
            ROW - 8,
            escape(&b.label),
            escape(&b.text),
            f64::from(LABEL) + w + 6.0,
            y + 15,
            escape(&b.text),
        );
    }
    out.push_str("</svg>");
    out
}

/// One stacked bar of `segments`, its full width standing for `scale` units (so bars of
/// different charts compare), with `caption` after it.
pub fn stacked(title: &str, segments: &[Segment], scale: u64, caption: &str) -> String {
    let room = WIDTH - CAPTION;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart stacked" viewBox="0 0 {WIDTH} {ROW}" role="img" aria-label="{}" preserveAspectRatio="xMinYMin meet"><title>{}</title><rect class="track" x="0" y="4" width="{room}" height="{}"/>"#,
        escape(title),
        escape(title),
        ROW - 8
    );
    let mut x = 0.0;
    for s in segments.iter().filter(|s| s.value > 0) {
        let w = scaled(s.value, scale.max(1), room).max(1.0);
        let _ = write!(
            out,
            r#"<rect class="{}" x="{x:.1}" y="4" width="{w:.1}" height="{}"><title>{}</title></rect>"#,
            s.class,
            ROW - 8,
            escape(&s.title)
        );
        x += w;
    }
    let _ = write!(
        out,
        r#"<text class="value" x="{}" y="15">{}</text></svg>"#,
        room + 6,
        escape(caption)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let svg = bars(
            "t",
            &[
                Bar {
                    label: "<script>".into(),
                    value: 10,
                    text: "10".into(),
                    class: "eco",
                },
                Bar {
                    label: "b".into(),
                    value: 5,
                    text: "5".into(),
                    class: "eco",
                },
            ],
        );
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains(r#"width="340.0""#), "{svg}");
        assert!(svg.contains(r#"width="170.0""#), "{svg}");
    }

    #[test]
    fn empty_charts_draw_nothing_wide() {
        let svg = bars("none", &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        let svg = stacked("z", &[], 0, "0 B");
        assert!(svg.contains("0 B"));
    }
}
