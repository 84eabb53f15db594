//! A small HTTP/1.1 server for the box's web page: httparse reads the
//! request, `pages` decides the answer, this file moves the bytes. One
//! request per connection (`Connection: close`): the page is a handful of
//! requests, so keep-alive would only hold memory.
//!
//! Limits (named settings): `http_max_connections` and
//! `http_max_connections_per_ip`, `http_max_request_bytes` (headers and
//! body together), `http_timeout` for the whole request.

pub mod chat;
pub mod framing;
pub mod media_type;
pub mod multipart;
pub mod pace;
pub mod pages;
pub mod restore;
pub mod upload;

use std::net::SocketAddr;
use std::rc::Rc;

use async_executor::LocalExecutor;
use async_net::{TcpListener, TcpStream};
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};

use crate::net::per_ip::Pool;
use crate::server::App;

/// Most header lines read; more is a 431.
const MAX_HEADERS: usize = 32;

#[derive(Debug)]
pub struct Request {
	pub method: String,
	pub path: String,
	pub query: String,
	pub headers: Vec<(String, String)>,
	pub body: Vec<u8>,
	pub peer: SocketAddr,
}

impl Request {
	pub fn header(&self, name: &str) -> Option<&str> {
		self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
	}
}

#[derive(Debug)]
pub struct Response {
	pub status: u16,
	pub content_type: &'static str,
	pub headers: Vec<(&'static str, String)>,
	pub body: Vec<u8>,
}

impl Response {
	pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
		Response { status, content_type, headers: Vec::new(), body: body.into() }
	}

	pub fn text(status: u16, body: &str) -> Response {
		Response::new(status, "text/plain; charset=utf-8", body)
	}

	pub fn redirect(to: &str) -> Response {
		let mut r = Response::text(303, "see other\n");
		r.headers.push(("Location", to.to_owned()));
		r
	}

	/// The bytes on the wire.
	pub fn encode(&self, head_only: bool) -> Vec<u8> {
		let mut out = format!(
			"HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
			self.status,
			reason(self.status),
			self.content_type,
			self.body.len()
		);
		// The page holds a setup code and passwords: never cached, never framed,
		// no scripts, forms only to ourselves.
		out.push_str("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n");
		out.push_str(
			"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'\r\n",
		);
		for (k, v) in &self.headers {
			out.push_str(&format!("{k}: {v}\r\n"));
		}
		out.push_str("Connection: close\r\n\r\n");
		let mut bytes = out.into_bytes();
		if !head_only {
			bytes.extend_from_slice(&self.body);
		}
		bytes
	}
}

fn reason(status: u16) -> &'static str {
	match status {
		200 => "OK",
		303 => "See Other",
		400 => "Bad Request",
		403 => "Forbidden",
		404 => "Not Found",
		405 => "Method Not Allowed",
		408 => "Request Timeout",
		409 => "Conflict",
		411 => "Length Required",
		413 => "Content Too Large",
		429 => "Too Many Requests",
		431 => "Request Header Fields Too Large",
		500 => "Internal Server Error",
		501 => "Not Implemented",
		503 => "Service Unavailable",
		_ => "",
	}
}

/// Result of looking at the bytes received so far.
#[derive(Debug)]
pub enum Parsed {
	/// Need more bytes.
	Partial,
	Complete(Request),
	/// Answer with this status and close.
	Reject(u16),
}

/// Parses one request from `buf` (sans-IO): headers with httparse, then a
/// body of exactly Content-Length bytes (`framing` says what is refused).
pub fn parse(buf: &[u8], max_bytes: usize, peer: SocketAddr) -> Parsed {
	let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
	let mut req = httparse::Request::new(&mut headers);
	let head_len = match req.parse(buf) {
		Ok(httparse::Status::Complete(n)) => n,
		Ok(httparse::Status::Partial) => return if buf.len() >= max_bytes { Parsed::Reject(431) } else { Parsed::Partial },
		Err(httparse::Error::TooManyHeaders) => return Parsed::Reject(431),
		Err(_) => return Parsed::Reject(400),
	};
	let length = match framing::check(&buf[..head_len], req.headers) {
		Ok(n) => usize::try_from(n.unwrap_or(0)).unwrap_or(usize::MAX),
		Err(status) => return Parsed::Reject(status),
	};
	let out_headers: Vec<(String, String)> =
		req.headers.iter().map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned())).collect();
	if head_len.saturating_add(length) > max_bytes {
		return Parsed::Reject(413);
	}
	if buf.len() < head_len + length {
		return Parsed::Partial;
	}
	let target = req.path.unwrap_or("/");
	let (path, query) = target.split_once('?').unwrap_or((target, ""));
	Parsed::Complete(Request {
		method: req.method.unwrap_or("GET").to_owned(),
		path: path.to_owned(),
		query: query.to_owned(),
		headers: out_headers,
		body: buf[head_len..head_len + length].to_vec(),
		peer,
	})
}

/// Accepts web connections forever, one task each, at most
/// `http_max_connections` at a time and `http_max_connections_per_ip` from
/// one address (the rest get 503).
pub async fn serve(app: Rc<App>, ex: Rc<LocalExecutor<'static>>, listener: TcpListener) {
	let pool = Pool::default();
	loop {
		let (tcp, peer) = match listener.accept().await {
			Ok(c) => c,
			Err(e) => {
				log::warn!("web accept: {e}");
				async_io::Timer::after(std::time::Duration::from_millis(100)).await;
				continue;
			}
		};
		let limits = app.limits();
		let held = match pool.admit(peer.ip(), limits.http_max_connections, limits.http_max_connections_per_ip) {
			Ok(held) => held,
			Err(full) => {
				log::debug!("web {peer}: busy ({full:?})");
				let mut tcp = tcp;
				let busy = async move {
					let _ = tcp.write_all(&Response::text(503, "busy, try again\n").encode(false)).await;
				};
				// Not held by a slot, so bounded in time instead.
				let late = async move {
					async_io::Timer::after(limits.http_timeout).await;
				};
				ex.spawn(busy.or(late)).detach();
				continue;
			}
		};
		let app = app.clone();
		ex.spawn(async move {
			connection(&app, tcp, peer, &limits).await;
			drop(held);
		})
		.detach();
	}
}

async fn connection(app: &App, mut tcp: TcpStream, peer: SocketAddr, limits: &crate::config::Limits) {
	let setup_open = app.setup_open();
	let mut upload = None;
	let read = async {
		let mut buf = Vec::with_capacity(1024);
		let mut chunk = [0u8; 2048];
		loop {
			// The wizard's restore form: its body is streamed, not held (`restore`).
			if setup_open && let Some(head) = restore::head(&buf) {
				return match head {
					Ok(h) => {
						upload = Some((buf.clone(), h));
						Parsed::Partial
					}
					Err(status) => Parsed::Reject(status),
				};
			}
			match parse(&buf, limits.http_max_request_bytes, peer) {
				Parsed::Partial => {}
				done => return done,
			}
			match tcp.read(&mut chunk).await {
				Ok(0) | Err(_) => return Parsed::Reject(400),
				Ok(n) => buf.extend_from_slice(&chunk[..n]),
			}
		}
	};
	let timeout = async {
		async_io::Timer::after(limits.http_timeout).await;
		Parsed::Reject(408)
	};
	let parsed = read.or(timeout).await;
	if let (Parsed::Partial, Some((buf, (head_len, length, ty)))) = (&parsed, upload.take()) {
		let (response, restart) = restore::upload(app, &mut tcp, &buf[head_len..], length, &ty, peer).await;
		let bytes = response.encode(false);
		let _ = tcp
			.write_all(&bytes)
			.or(async {
				async_io::Timer::after(limits.http_timeout).await;
				Ok(())
			})
			.await;
		let _ = tcp.close().await;
		if restart {
			app.restart();
		}
		return;
	}
	let (response, head_only) = match parsed {
		Parsed::Complete(req) => {
			let head = req.method == "HEAD";
			(pages::route(app, req).await, head)
		}
		Parsed::Reject(status) => (Response::text(status, "bad request\n"), false),
		Parsed::Partial => unreachable!("the read loop returns only complete or rejected requests"),
	};
	let bytes = response.encode(head_only);
	let write = tcp.write_all(&bytes);
	let _ = write
		.or(async {
			async_io::Timer::after(limits.http_timeout).await;
			Ok(())
		})
		.await;
	let _ = tcp.close().await;
}

#[cfg(test)]
mod tests {
	use super::*;

	fn peer() -> SocketAddr {
		"127.0.0.1:1".parse().unwrap()
	}

	#[test]
	fn parses_get_and_post_with_body() {
		let Parsed::Complete(r) = parse(b"GET /ca.pem?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", 1024, peer()) else { panic!() };
		assert_eq!((r.method.as_str(), r.path.as_str(), r.query.as_str()), ("GET", "/ca.pem", "x=1"));
		let req = b"POST /setup HTTP/1.1\r\nContent-Length: 5\r\n\r\na=1&b";
		assert!(matches!(parse(&req[..req.len() - 1], 1024, peer()), Parsed::Partial));
		let Parsed::Complete(r) = parse(req, 1024, peer()) else { panic!() };
		assert_eq!(r.body, b"a=1&b");
		assert_eq!(r.header("content-length"), Some("5"));
	}

	#[test]
	fn refuses_what_it_does_not_take() {
		assert!(matches!(parse(b"GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", 1024, peer()), Parsed::Reject(413)));
		assert!(matches!(parse(&[b'a'; 2000], 1024, peer()), Parsed::Reject(431)));
		assert!(matches!(parse(b"G\x01T / HTTP/1.1\r\n\r\n", 1024, peer()), Parsed::Reject(400)));
		assert!(matches!(parse(b"GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 40, peer()), Parsed::Reject(431)));
		assert!(matches!(parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1024, peer()), Parsed::Reject(411)));
		assert!(matches!(parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 1024, peer()), Parsed::Reject(400)));
	}
}
