//! Statistics: the server's plots over 24 hours, 7 days or 30 days, drawn
//! on the server as SVG (`crate::stats`) and put inline in the page.

use super::super::html::e;
use super::Cx;
use crate::http::Response;
use crate::stats::rings::{Range, Series};
use crate::stats::svg::DEFAULT_SIZE;

pub fn page(cx: &Cx<'_>) -> Response {
	let range = form_urlencoded::parse(cx.req.query.as_bytes())
		.find(|(k, _)| k == "range")
		.and_then(|(_, v)| Range::parse(&v))
		.unwrap_or(Range::Day);
	let Some(stats) = cx.server.stats.as_ref() else {
		let body = "<p id=\"off\">Statistics are off on this box (setting <code>statistics</code>).</p>";
		return cx.page(200, "Statistics", "statistics", body);
	};
	let mut body = String::from("<p class=\"ranges\">");
	for r in Range::ALL {
		let label = match r {
			Range::Day => "24 hours",
			Range::Week => "7 days",
			Range::Month => "30 days",
		};
		if r == range {
			body.push_str(&format!("<b id=\"range\">{label}</b> · "));
		} else {
			body.push_str(&format!("<a href=\"/console/statistics?range={}\">{label}</a> · ", e(r.name())));
		}
	}
	body.truncate(body.len() - " · ".len());
	body.push_str("</p><div class=\"plots\">");
	for series in Series::ALL {
		body.push_str(&format!(
			"<figure class=\"plot card\" id=\"plot-{}\">{}</figure>",
			e(series.name()),
			stats.plot(series, range, DEFAULT_SIZE)
		));
	}
	body.push_str("</div><p><small>A point every 5 minutes (24 hours), hour (7 days) or 6 hours (30 days); gaps where the server was not running.</small></p>");
	cx.page(200, "Statistics", "statistics", &body)
}
