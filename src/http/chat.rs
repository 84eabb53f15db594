//! The web client on the HTTPS port: Converse.js (its `dist/` files, in
//! `web_client_dir`, put there by the appliance image) at `/chat/`.
//!
//! - `/chat/`: a page of ours naming the box's domain, WebSocket (or, with
//!   `?transport=bosh`, BOSH) endpoint and rooms service; its settings are a
//!   JSON data block read by `/chat/start.js`, so no inline script runs.
//! - `/chat/dist/TAG/PATH`: a file of the folder. TAG follows Converse's
//!   version and `converse.min.js`'s size and time, so files under the current TAG
//!   never change (immutable); all carry an ETag and Last-Modified (304).
//!
//! Only file names of a plain alphabet and known types are served; every
//! file system call runs on `blocking`'s pool, and a file goes out a chunk
//! at a time at the port's minimum rate.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};

use crate::http::{Parsed, Request};
use crate::server::Server;

const CHUNK: usize = 16 * 1024;
/// Longest path below the folder we look at.
const MAX_PATH: usize = 200;
const START_JS: &str = include_str!("chat.js");

/// Where Converse.js runs: the least it works under in Chromium (each
/// source left out was seen to break it; README, "The web client"). Its own
/// scripts, and WebAssembly compiled (OMEMO's curve25519; this is not JS
/// eval); 'unsafe-inline' styles, since its components insert <style>
/// elements; data: images (its CSS's icons); fonts from the box; XMPP
/// (WebSocket, BOSH) and uploads on this origin only.
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
	img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The paths this module answers.
pub fn owns(path: &str) -> bool {
	let path = path.split('?').next().unwrap_or(path);
	path == "/chat" || path.starts_with("/chat/")
}

/// What a request asks for (sans-IO).
#[derive(Debug, PartialEq)]
pub enum Target {
	/// `/chat`: to `/chat/`.
	Slash,
	/// The page; over BOSH instead of WebSocket when asked.
	Index {
		bosh: bool,
	},
	Start,
	/// A file below the folder, asked for under this tag.
	File {
		tag: String,
		rel: String,
	},
	NotFound,
}

pub fn target(path: &str, query: &str) -> Target {
	match path {
		"/chat" => Target::Slash,
		"/chat/" | "/chat/index.html" => {
			Target::Index { bosh: form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "transport" && v == "bosh") }
		}
		"/chat/start.js" => Target::Start,
		_ => {
			let Some(rest) = path.strip_prefix("/chat/dist/") else { return Target::NotFound };
			let Some((tag, rel)) = rest.split_once('/') else { return Target::NotFound };
			match safe(rel) {
				Some(rel) if media_type(rel).is_some() => Target::File { tag: tag.to_owned(), rel: rel.to_owned() },
				_ => Target::NotFound,
			}
		}
	}
}

/// `rel` if it names a file below the folder: segments of letters, digits
/// and `-_.`, none empty or starting with a dot (no `..`, no hidden files,
/// no percent-encoding to decode).
pub fn safe(rel: &str) -> Option<&str> {
	let ok = !rel.is_empty()
		&& rel.len() <= MAX_PATH
		&& rel
			.split('/')
			.all(|s| !s.is_empty() && !s.starts_with('.') && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
	ok.then_some(rel)
}

/// The types of what Converse's `dist/` holds; anything else is not served.
pub fn media_type(rel: &str) -> Option<&'static str> {
	Some(match rel.rsplit_once('.')?.1 {
		"js" => "text/javascript; charset=utf-8",
		"css" => "text/css; charset=utf-8",
		"json" => "application/json",
		"wasm" => "application/wasm",
		"png" => "image/png",
		"svg" => "image/svg+xml",
		"ico" => "image/x-icon",
		"ttf" => "font/ttf",
		"woff" => "font/woff",
		"woff2" => "font/woff2",
		"mp3" => "audio/mpeg",
		"ogg" => "audio/ogg",
		_ => return None,
	})
}

/// A file's validator: the installed version's tag, its size and modification time.
pub fn etag(tag: &str, len: u64, mtime: SystemTime) -> String {
	let t = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
	format!("\"{tag}-{len:x}-{:x}.{:x}\"", t.as_secs(), t.subsec_nanos())
}

/// The tag of the installed version: Converse's version (from its
/// `manifest.json`; npm's tarballs give every file one fixed mtime) and
/// `converse.min.js`'s size and time.
pub fn version_tag(version: &str, len: u64, mtime: SystemTime) -> String {
	let t = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
	let v: String = version.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').take(32).collect();
	format!("{v}-{:x}{len:x}", t.as_secs())
}

/// The `version` of a `manifest.json`, if it says one.
pub fn manifest_version(json: &str) -> Option<&str> {
	let after = json.split("\"version\"").nth(1)?.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
	after.split('"').next()
}

/// IMF-fixdate (RFC 9110 §5.6.7).
pub fn http_date(t: SystemTime) -> String {
	let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
	let fmt = time::macros::format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
	time::OffsetDateTime::from_unix_timestamp(secs as i64).ok().and_then(|d| d.format(&fmt).ok()).unwrap_or_default()
}

/// Whether the client's copy is current (RFC 9110 §13.1): If-None-Match
/// decides when present, else an If-Modified-Since equal to ours.
pub fn not_modified(req: &Request, etag: &str, last_modified: &str) -> bool {
	if let Some(tags) = req.header("if-none-match") {
		return tags.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == etag || t == "*");
	}
	req.header("if-modified-since").is_some_and(|d| d.trim() == last_modified)
}

/// What the page needs to know about the box.
pub struct Facts<'a> {
	pub domain: &'a str,
	pub websocket_url: &'a str,
	pub bosh_url: &'a str,
	pub tag: &'a str,
	pub bosh: bool,
}

/// The page: Converse's stylesheet and script from the box, our settings as
/// a JSON data block, and start.js.
pub fn index_html(f: &Facts) -> String {
	let assets = format!("/chat/dist/{}/", f.tag);
	let mut settings = vec![
		("domain", f.domain.to_owned()),
		("muc_domain", crate::features::muc::service_domain(f.domain)),
		("assets_path", assets.clone()),
	];
	if f.bosh {
		settings.push(("bosh_service_url", f.bosh_url.to_owned()));
	} else {
		settings.push(("websocket_url", f.websocket_url.to_owned()));
	}
	let json = settings.iter().map(|(k, v)| format!("\"{k}\":\"{}\"", json_in_html(v))).collect::<Vec<_>>().join(",");
	format!(
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
		 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
		 <title>Chat - {d}</title><link rel=\"icon\" href=\"{assets}images/favicon.ico\">\
		 <link rel=\"stylesheet\" href=\"{assets}converse.min.css\">\
		 <script type=\"application/json\" id=\"xerra-chat\">{{{json}}}</script>\
		 <script type=\"module\" src=\"{assets}converse.min.js\"></script>\
		 <script type=\"module\" src=\"/chat/start.js\"></script></head>\
		 <body class=\"converse-fullscreen\"><noscript>The chat needs JavaScript.</noscript></body></html>\n",
		d = crate::xmpp::element::escape(f.domain),
	)
}

/// A JSON string's content that cannot end the data block it is in.
fn json_in_html(v: &str) -> String {
	let mut out = String::with_capacity(v.len());
	for c in v.chars() {
		match c {
			'"' | '\\' => {
				out.push('\\');
				out.push(c);
			}
			'<' | '>' | '&' | '\u{0}'..='\u{1f}' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
			c => out.push(c),
		}
	}
	out
}

/// A plain page of ours (not installed, not found).
fn notice(status: u16, title: &str, text: &str) -> (u16, &'static str, String) {
	let body = format!(
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
		 <title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>\n"
	);
	(status, "text/html; charset=utf-8", body)
}

fn reason(status: u16) -> &'static str {
	match status {
		200 => "OK",
		301 => "Moved Permanently",
		304 => "Not Modified",
		400 => "Bad Request",
		404 => "Not Found",
		405 => "Method Not Allowed",
		408 => "Request Timeout",
		413 => "Content Too Large",
		431 => "Request Header Fields Too Large",
		503 => "Service Unavailable",
		_ => "",
	}
}

fn head(status: u16, ty: &str, len: u64, extra: &str) -> String {
	format!(
		"HTTP/1.1 {status} {}\r\nContent-Type: {ty}\r\nContent-Length: {len}\r\nX-Content-Type-Options: nosniff\r\n\
		 Referrer-Policy: no-referrer\r\nContent-Security-Policy: {CSP}\r\n{extra}Connection: close\r\n\r\n",
		reason(status)
	)
}

/// A file's facts, read on the blocking pool.
struct Found {
	file: std::fs::File,
	len: u64,
	mtime: SystemTime,
	tag: String,
}

/// The installed version's tag, or None when Converse is not in `dir`.
fn installed(dir: &Path) -> Option<String> {
	let js = std::fs::metadata(dir.join("converse.min.js")).ok()?;
	std::fs::metadata(dir.join("converse.min.css")).ok()?;
	// A small file; one bigger than a manifest is not read.
	let manifest = std::fs::File::open(dir.join("manifest.json")).ok().and_then(|f| {
		let mut s = String::new();
		std::io::Read::read_to_string(&mut std::io::Read::take(f, 4096), &mut s).ok().map(|_| s)
	});
	let version = manifest.as_deref().and_then(manifest_version).unwrap_or("");
	Some(version_tag(version, js.len(), js.modified().ok()?))
}

/// Opens `rel` below `dir`, if it is a plain file that really is below it
/// (a link out of the folder is not followed).
fn open(dir: &Path, rel: &str) -> Option<Found> {
	let tag = installed(dir)?;
	let root = std::fs::canonicalize(dir).ok()?;
	let path = std::fs::canonicalize(dir.join(rel)).ok()?;
	if !path.starts_with(&root) {
		return None;
	}
	let file = std::fs::File::open(&path).ok()?;
	let meta = file.metadata().ok()?;
	meta.is_file().then_some(())?;
	Some(Found { file, len: meta.len(), mtime: meta.modified().ok()?, tag })
}

/// Answers one request on the HTTPS port whose head the listener has read
/// (`buf`, within its deadline), and closes.
pub async fn serve<S>(server: &Server, tls: &mut S, buf: Vec<u8>, peer: SocketAddr) -> std::io::Result<()>
where
	S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
{
	let (bytes, head_only) = match crate::http::parse(&buf, server.config.limits.http_max_request_bytes, peer) {
		Parsed::Complete(req) => {
			let head_only = req.method == "HEAD";
			match answer(server, &req).await {
				Answer::Bytes(b) => (b, head_only),
				Answer::File(found, tag, rel) => return file(server, tls, &req, found, &tag, &rel, head_only).await,
			}
		}
		Parsed::Reject(status) => (page(notice(status, "Bad request", "This request is not understood.")), false),
		// A GET has no body: the head the listener read is the whole request.
		Parsed::Partial => (page(notice(400, "Bad request", "A body is not taken here.")), false),
	};
	let bytes = if head_only { strip_body(bytes) } else { bytes };
	let t = server.config.limits.http_timeout;
	let written = tls.write_all(&bytes).or(async {
		async_io::Timer::after(t).await;
		Err(std::io::ErrorKind::TimedOut.into())
	});
	let written = written.await;
	finish(written, tls).await
}

enum Answer {
	Bytes(Vec<u8>),
	/// A file that is there, asked for under a tag, at a path.
	File(Found, String, String),
}

async fn answer(server: &Server, req: &Request) -> Answer {
	if req.method != "GET" && req.method != "HEAD" {
		return Answer::Bytes(page(notice(405, "Method not allowed", "Only GET and HEAD.")));
	}
	let Some(dir) = server.config.web_client_dir.clone() else {
		return Answer::Bytes(page(notice(404, "No web client", "The web client is turned off on this box.")));
	};
	let not_installed = || {
		page(notice(
			503,
			"Web client not installed",
			"The web client is not installed on this box. Use a chat app (Conversations, Gajim, Dino, Monal, …) instead, or ask your admin.",
		))
	};
	Answer::Bytes(match target(&req.path, &req.query) {
		Target::Slash => head(301, "text/plain; charset=utf-8", 0, "Location: /chat/\r\n").into_bytes(),
		Target::Index { bosh } => match blocking::unblock(move || installed(&dir)).await {
			None => not_installed(),
			Some(tag) => {
				let ws = crate::http::upload::websocket_url(server);
				let bosh_url = crate::http::upload::bosh_url(server);
				let html = index_html(&Facts { domain: &server.config.domain, websocket_url: &ws, bosh_url: &bosh_url, tag: &tag, bosh });
				let mut b = head(200, "text/html; charset=utf-8", html.len() as u64, "Cache-Control: no-cache\r\n").into_bytes();
				b.extend_from_slice(html.as_bytes());
				b
			}
		},
		Target::Start => {
			let mut b = head(200, "text/javascript; charset=utf-8", START_JS.len() as u64, "Cache-Control: no-cache\r\n").into_bytes();
			b.extend_from_slice(START_JS.as_bytes());
			b
		}
		Target::File { tag, rel } => {
			let r = rel.clone();
			match blocking::unblock(move || (open(&dir, &r), installed(&dir).is_some())).await {
				(Some(found), _) => return Answer::File(found, tag, rel),
				(None, false) => not_installed(),
				(None, true) => page(notice(404, "Not found", "No such file.")),
			}
		}
		Target::NotFound => page(notice(404, "Not found", "No such page. The chat is at <a href=\"/chat/\">/chat/</a>.")),
	})
}

fn page((status, ty, body): (u16, &'static str, String)) -> Vec<u8> {
	let mut b = head(status, ty, body.len() as u64, "Cache-Control: no-store\r\n").into_bytes();
	b.extend_from_slice(body.as_bytes());
	b
}

fn strip_body(mut bytes: Vec<u8>) -> Vec<u8> {
	if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
		bytes.truncate(i + 4);
	}
	bytes
}

async fn finish<S: futures_lite::AsyncWrite + Unpin>(written: std::io::Result<()>, tls: &mut S) -> std::io::Result<()> {
	written?;
	let _ = tls.flush().await;
	let _ = tls.close().await;
	Ok(())
}

/// Sends a file (or 304), read a chunk ahead by the blocking pool.
async fn file<S>(server: &Server, tls: &mut S, req: &Request, found: Found, tag: &str, rel: &str, head_only: bool) -> std::io::Result<()>
where
	S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
{
	let Found { file, len, mtime, tag: current } = found;
	let (etag, modified) = (etag(&current, len, mtime), http_date(mtime));
	// Under the current tag the bytes cannot change without the tag changing.
	let cache = if tag == current { "public, max-age=31536000, immutable" } else { "no-cache" };
	let extra = format!("ETag: {etag}\r\nLast-Modified: {modified}\r\nCache-Control: {cache}\r\n");
	let fresh = not_modified(req, &etag, &modified);
	let ty = media_type(rel).unwrap_or("application/octet-stream");
	let h = if fresh { head(304, ty, 0, &extra).replace("Content-Length: 0\r\n", "") } else { head(200, ty, len, &extra) };
	let limits = &server.config.limits;
	let t = limits.http_timeout;
	let write_head = tls.write_all(h.as_bytes()).or(async {
		async_io::Timer::after(t).await;
		Err(std::io::ErrorKind::TimedOut.into())
	});
	let result = write_head.await;
	let mut file = blocking::Unblock::with_capacity(CHUNK, file);
	let sent: std::io::Result<()> = async {
		result?;
		if fresh || head_only {
			return Ok(());
		}
		let mut buf = vec![0u8; CHUNK];
		let mut pace = crate::http::pace::Pace::new(limits.http_min_bytes_per_second, t, Instant::now());
		let mut left = len;
		while left > 0 {
			let n = file.read(&mut buf).await?;
			if n == 0 {
				break;
			}
			let n = n.min(usize::try_from(left).unwrap_or(usize::MAX));
			let write = tls.write_all(&buf[..n]).or(async {
				async_io::Timer::at(pace.deadline()).await;
				Err(std::io::ErrorKind::TimedOut.into())
			});
			write.await?;
			pace.moved(n, Instant::now());
			left -= n as u64;
		}
		Ok(())
	}
	.await;
	// Closed where it was read (a close can wait for the disk too).
	let file = file.into_inner().await;
	blocking::unblock(move || drop(file)).await;
	finish(sent, tls).await
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_plain_names_of_known_types_are_files() {
		assert_eq!(target("/chat", ""), Target::Slash);
		assert_eq!(target("/chat/", ""), Target::Index { bosh: false });
		assert_eq!(target("/chat/", "transport=bosh"), Target::Index { bosh: true });
		assert_eq!(target("/chat/dist/abc/converse.min.js", ""), Target::File { tag: "abc".into(), rel: "converse.min.js".into() });
		assert_eq!(
			target("/chat/dist/abc/chunkjs/locales/de-LC_MESSAGES-converse-po.js", ""),
			Target::File { tag: "abc".into(), rel: "chunkjs/locales/de-LC_MESSAGES-converse-po.js".into() }
		);
		for bad in [
			"/chat/dist/abc/../../../etc/passwd.js",
			"/chat/dist/abc/%2e%2e/x.js",
			"/chat/dist/abc/.hidden.js",
			"/chat/dist/abc//x.js",
			"/chat/dist/abc/x.js.map",
			"/chat/dist/abc/converse",
			"/chat/dist/abc",
			"/chat/dist/a/b\\c.js",
			"/chat/other",
		] {
			assert_eq!(target(bad, ""), Target::NotFound, "{bad}");
		}
		assert!(safe(&"a".repeat(MAX_PATH + 1)).is_none());
	}

	#[test]
	fn validators_and_dates() {
		let t = UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
		assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
		let tag = etag("v", 10, t);
		assert_eq!(manifest_version("{\"name\": \"x\", \"version\": \"14.0.0\","), Some("14.0.0"));
		assert!(version_tag("14.0.0</x>", 1, t).starts_with("14.0.0x-"));
		let req = |h: &[(&str, &str)]| Request {
			method: "GET".into(),
			path: "/".into(),
			query: String::new(),
			headers: h.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
			body: Vec::new(),
			peer: "127.0.0.1:1".parse().unwrap(),
		};
		assert!(not_modified(&req(&[("If-None-Match", &format!("\"x\", W/{tag}"))]), &tag, "d"));
		assert!(!not_modified(&req(&[("If-None-Match", "\"x\""), ("If-Modified-Since", "d")]), &tag, "d"), "the ETag decides");
		assert!(not_modified(&req(&[("If-Modified-Since", "d")]), &tag, "d"));
		assert!(!not_modified(&req(&[]), &tag, "d"));
	}

	#[test]
	fn the_page_cannot_be_broken_out_of() {
		let f = Facts { domain: "a.test", websocket_url: "wss://a.test/x</script><script>", bosh_url: "b", tag: "t", bosh: false };
		let html = index_html(&f);
		assert!(!html.contains("</script><script>"), "{html}");
		assert!(html.contains("\"muc_domain\":\"rooms.a.test\""), "{html}");
		assert!(html.contains("\"websocket_url\"") && !html.contains("bosh_service_url"), "{html}");
		let html = index_html(&Facts { bosh: true, ..f });
		assert!(html.contains("\"bosh_service_url\":\"b\"") && !html.contains("websocket_url"), "{html}");
	}
}
