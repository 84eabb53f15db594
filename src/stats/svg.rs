//! Plots as SVG text, drawn on the server: axes, a grid with value labels,
//! time labels (UTC), the line with gaps where nothing is known, and the
//! newest value in the title. Pure (no I/O); no fonts, scripts or anything
//! else fetched: a generic font family, sized for a phone when the image
//! is shown at the width of the screen (it scales with its `viewBox`).

use std::fmt::Write as _;

use super::rings::{Range, Series, Unit};
use crate::xmpp::element::{escape, escape_attr};

/// Drawing size in SVG units (the image scales to its container).
#[derive(Debug, Clone, Copy)]
pub struct Size {
	pub width: u32,
	pub height: u32,
}

/// What the console uses: text about 12 px high on a phone 360 px wide.
pub const DEFAULT_SIZE: Size = Size { width: 400, height: 220 };

const FONT: u32 = 13;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 22.0;
const LINE: &str = "#1565c0";

/// A plot of `points` ((unix seconds, value), oldest first, NaN = unknown)
/// of `series` over `range`.
pub fn svg(series: Series, points: &[(u64, f32)], range: Range, size: Size) -> String {
	svg_titled(series.title(), series.unit(), series.is_count(), points, range, size)
}

/// The same for any title (escaped here) and unit; `count`: values are
/// events per point (the title says per how long).
pub fn svg_titled(name: &str, unit: Unit, count: bool, points: &[(u64, f32)], range: Range, size: Size) -> String {
	let (w, h) = (f64::from(size.width.max(200)), f64::from(size.height.max(120)));
	let (x0, x1, y0, y1) = (LEFT, w - RIGHT, h - BOTTOM, TOP);
	let known = || points.iter().map(|p| f64::from(p.1)).filter(|v| v.is_finite());
	let max = known().fold(0.0f64, f64::max);
	let top = nice_ceiling(max, unit);
	let latest = points.iter().rev().map(|p| p.1).find(|v| v.is_finite());
	let (t0, t1) = match (points.first(), points.last()) {
		(Some(a), Some(b)) if b.0 > a.0 => (a.0, b.0),
		_ => (0, 1),
	};
	let x = |t: u64| x0 + (t.saturating_sub(t0)) as f64 / (t1 - t0) as f64 * (x1 - x0);
	let y = |v: f64| y0 - v / top * (y0 - y1);

	let mut title = format!("{name} · {}", range_label(range));
	if let Some(v) = latest {
		let _ = write!(title, " · now {}", value_label(f64::from(v), unit));
	}
	if count {
		let _ = write!(title, " (per {})", per_label(range));
	}
	let mut out = String::with_capacity(4096);
	let _ = write!(
		out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"{}\" \
		 font-family=\"sans-serif\" font-size=\"{FONT}\">",
		escape_attr(&title)
	);
	let _ = write!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>");
	let _ = write!(out, "<text x=\"4\" y=\"{}\" font-weight=\"bold\">{}</text>", FONT + 4, escape(&title));
	// Grid and value labels.
	for i in 0..=4 {
		let v = top * f64::from(i) / 4.0;
		let yy = y(v);
		let _ = write!(out, "<line x1=\"{x0}\" y1=\"{yy:.1}\" x2=\"{x1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>");
		let _ = write!(
			out,
			"<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444\">{}</text>",
			x0 - 4.0,
			yy + f64::from(FONT) / 3.0,
			escape(&value_label(v, unit))
		);
	}
	// Time labels, on round times.
	let step = label_step(range);
	let mut t = t0.div_ceil(step) * step;
	while t <= t1 {
		let xx = x(t);
		let _ = write!(out, "<line x1=\"{xx:.1}\" y1=\"{y0}\" x2=\"{xx:.1}\" y2=\"{}\" stroke=\"#999\"/>", y0 + 4.0);
		let _ = write!(
			out,
			"<text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
			h - 5.0,
			escape(&time_label(t, range))
		);
		t += step;
	}
	let _ = write!(out, "<path d=\"M{x0} {y1}V{y0}H{x1}\" fill=\"none\" stroke=\"#666\"/>");
	// The line: a new segment after every gap; a lone point is a dot.
	let mut d = String::new();
	let mut run = 0;
	for (i, &(t, v)) in points.iter().enumerate() {
		if !v.is_finite() {
			run = 0;
			continue;
		}
		let (px, py) = (x(t), y(f64::from(v)));
		let _ = write!(d, "{}{px:.1} {py:.1}", if run == 0 { 'M' } else { 'L' });
		run += 1;
		let next_known = points.get(i + 1).is_some_and(|p| p.1.is_finite());
		if run == 1 && !next_known {
			let _ = write!(out, "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2\" fill=\"{LINE}\"/>");
		}
	}
	if !d.is_empty() {
		let _ = write!(out, "<path d=\"{d}\" fill=\"none\" stroke=\"{LINE}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>");
	} else {
		let _ = write!(
			out,
			"<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#888\">no data yet</text>",
			(x0 + x1) / 2.0,
			(y0 + y1) / 2.0
		);
	}
	out.push_str("</svg>");
	out
}

fn range_label(r: Range) -> &'static str {
	match r {
		Range::Day => "24 hours",
		Range::Week => "7 days",
		Range::Month => "30 days",
	}
}

fn per_label(r: Range) -> &'static str {
	match r {
		Range::Day => "5 min",
		Range::Week => "hour",
		Range::Month => "6 hours",
	}
}

fn label_step(r: Range) -> u64 {
	match r {
		Range::Day => 6 * 3600,
		Range::Week => 86_400,
		Range::Month => 7 * 86_400,
	}
}

fn time_label(t: u64, r: Range) -> String {
	let Ok(dt) = time::OffsetDateTime::from_unix_timestamp(t as i64) else { return String::new() };
	match r {
		Range::Day => format!("{:02}:{:02}", dt.hour(), dt.minute()),
		Range::Week | Range::Month => format!("{} {}", &dt.month().to_string()[..3], dt.day()),
	}
}

/// The smallest round number (1, 2 or 5 times a power of ten; for bytes a
/// power-of-two unit times that) at or above `max`, and at least one unit.
fn nice_ceiling(max: f64, unit: Unit) -> f64 {
	let scale = match unit {
		Unit::Bytes => byte_unit(max).0,
		_ => 1.0,
	};
	let m = (max / scale).max(1.0);
	let p = 10f64.powf(m.log10().floor());
	let n = [1.0, 2.0, 5.0, 10.0].into_iter().map(|k| k * p).find(|v| *v >= m - 1e-9).unwrap_or(10.0 * p);
	n * scale
}

fn byte_unit(v: f64) -> (f64, &'static str) {
	const UNITS: [(f64, &str); 4] = [(1_073_741_824.0, "GiB"), (1_048_576.0, "MiB"), (1024.0, "KiB"), (1.0, "B")];
	UNITS.into_iter().find(|(s, _)| v >= *s).unwrap_or((1.0, "B"))
}

/// A value as people read it: 3, 2.5k, 12 MiB, 4.2 %.
pub fn value_label(v: f64, unit: Unit) -> String {
	let short = |x: f64| {
		if x == x.round() || x >= 100.0 { format!("{}", x.round()) } else { format!("{:.1}", x).trim_end_matches(".0").to_owned() }
	};
	match unit {
		Unit::Bytes => {
			let (s, name) = byte_unit(v);
			format!("{} {name}", short(v / s))
		}
		Unit::Percent => format!("{} %", short(v)),
		Unit::Count if v >= 1e6 => format!("{}M", short(v / 1e6)),
		Unit::Count if v >= 1e4 => format!("{}k", short(v / 1e3)),
		Unit::Count => short(v),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn day_points(f: impl Fn(u64) -> f32) -> Vec<(u64, f32)> {
		// 2026-12-07 00:00 UTC, in 5-minute steps.
		let start = 1_796_601_600;
		(0..288).map(|i| (start + i * 300, f(i))).collect()
	}

	#[test]
	fn a_plot_has_axes_labels_and_a_line_with_gaps() {
		let pts = day_points(|i| if (100..110).contains(&i) { f32::NAN } else { (i % 7) as f32 });
		let s = svg(Series::Sessions, &pts, Range::Day, DEFAULT_SIZE);
		assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{s}");
		assert!(s.ends_with("</svg>"));
		assert!(s.contains("viewBox=\"0 0 400 220\""));
		assert!(s.contains(">Sessions · 24 hours · now 0<"), "{s}");
		for label in ["06:00", "12:00", "18:00"] {
			assert!(s.contains(&format!(">{label}</text>")), "time label {label}: {s}");
		}
		// Values 0..=6 fit under a round 10, labelled in quarters.
		for label in [">0<", ">2.5<", ">5<", ">10<"] {
			assert!(s.contains(label), "value label {label}");
		}
		assert_eq!(s.matches("<path d=\"M").count(), 2, "axes and one line");
		let line = s.split("stroke=\"#1565c0\"").next().unwrap();
		assert_eq!(line.rsplit("<path d=\"").next().unwrap().matches('M').count(), 2, "a gap starts a new segment");
		assert!(!s.contains("NaN") && !s.contains("inf"));
		assert!(!s.contains("http://") || s.matches("http://").count() == 1, "nothing fetched: only the namespace");
		assert!(!s.contains("<script") && !s.contains("href"));
	}

	#[test]
	fn bytes_and_counts_are_labelled_for_people() {
		let s = svg(Series::RssBytes, &day_points(|_| 9.5 * 1_048_576.0), Range::Day, DEFAULT_SIZE);
		assert!(s.contains("now 9.5 MiB"), "{s}");
		assert!(s.contains(">10 MiB<"), "{s}");
		let s = svg(Series::Messages, &day_points(|i| i as f32), Range::Day, DEFAULT_SIZE);
		assert!(s.contains("(per 5 min)"));
		assert_eq!(value_label(25_000.0, Unit::Count), "25k");
		assert_eq!(value_label(3.25, Unit::Percent), "3.2 %");
		assert_eq!(value_label(2048.0, Unit::Bytes), "2 KiB");
	}

	#[test]
	fn week_and_month_have_day_labels_and_an_empty_plot_says_so() {
		let start = 1_796_601_600u64;
		let pts: Vec<(u64, f32)> = (0..168).map(|i| (start + i * 3600, f32::NAN)).collect();
		let s = svg(Series::Active7d, &pts, Range::Week, Size { width: 360, height: 200 });
		assert!(s.contains(">no data yet<"), "{s}");
		assert!(s.contains(">Dec 8<"), "{s}");
		assert!(!s.contains("NaN"));
	}

	#[test]
	fn text_is_escaped() {
		let s = svg_titled("<script>alert(1)</script> & \"q\"", Unit::Count, false, &[], Range::Month, DEFAULT_SIZE);
		assert!(!s.contains("<script") && !s.contains("\"q\""), "{s}");
		assert!(s.contains(">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; · 30 days<"), "{s}");
		assert!(s.contains("aria-label=\"&lt;script&gt;"), "{s}");
	}
}
