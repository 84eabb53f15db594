//! The web console: the admin engine's face in a browser, on the HTTPS port
//! (the box's certificate). Plain server-rendered HTML forms that work on a
//! phone; no scripts, nothing loaded from elsewhere (the CSP says so too).
//!
//! - `/console/...`: the admin's pages, each behind a login (`login`,
//!   `session`); every form carries a token (`csrf`) and a POST without the
//!   right one gets 403.
//!
//! - `/invite/TOKEN` and `/reset/TOKEN`: the pages a newcomer or a person
//!   who forgot a password opens (`pages::landing`), no login.
//!
//! This file is the thin shell: it finishes reading the request the HTTPS
//! listener started (the same framing checks, size limit and deadline as
//! every request there), decides who asks, and writes the answer.

pub mod csrf;
pub mod html;
pub mod login;
pub mod pages;
pub mod qr;
pub mod session;

use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};

use crate::http::{Parsed, Request, Response};
use crate::server::Server;
use session::{Session, Sessions};

/// What the console keeps while the server runs.
pub struct State {
	pub sessions: Sessions,
	/// Signs the tokens of forms shown before a login; new at every start.
	pub key: ring::hmac::Key,
}

impl State {
	pub fn new(random: &mut dyn FnMut(&mut [u8])) -> State {
		let mut k = [0u8; 32];
		random(&mut k);
		State { sessions: Sessions::default(), key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k) }
	}
}

/// The paths the console answers on the HTTPS port.
pub fn owns(path: &str) -> bool {
	let path = path.split('?').next().unwrap_or(path);
	path == "/" || path == "/console" || ["/console/", "/invite/", "/reset/"].iter().any(|p| path.starts_with(p))
}

/// A submitted form's fields.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
	pub fn parse(body: &[u8]) -> Form {
		Form(form_urlencoded::parse(body).into_owned().collect())
	}

	pub fn get(&self, name: &str) -> Option<&str> {
		self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
	}

	/// A checkbox: sent ("on") or not.
	pub fn checked(&self, name: &str) -> bool {
		self.get(name).is_some()
	}
}

pub fn now_secs() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Finishes reading a request whose first bytes are `buf` (the head read by
/// the HTTPS listener and whatever came with it) by `deadline`, answers it
/// and closes. The body counts against `http_max_request_bytes` with the head.
pub async fn serve<S>(server: &Server, tls: &mut S, mut buf: Vec<u8>, peer: SocketAddr, deadline: Instant) -> std::io::Result<()>
where
	S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
{
	let max = server.config.limits.http_max_request_bytes;
	let mut chunk = [0u8; 2048];
	let parsed = loop {
		match crate::http::parse(&buf, max, peer) {
			Parsed::Partial => {}
			done => break done,
		}
		let read = tls.read(&mut chunk).or(async {
			async_io::Timer::at(deadline).await;
			Err(std::io::ErrorKind::TimedOut.into())
		});
		match read.await {
			Ok(0) => break Parsed::Reject(400),
			Ok(n) => buf.extend_from_slice(&chunk[..n]),
			Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break Parsed::Reject(408),
			Err(e) => return Err(e),
		}
	};
	let (response, head_only) = match parsed {
		Parsed::Complete(req) if req.method == "GET" && req.path == "/console/backups/download" => {
			return download(server, tls, &req).await;
		}
		Parsed::Complete(req) => {
			let head = req.method == "HEAD";
			(route(server, req).await, head)
		}
		Parsed::Reject(status) => (Response::text(status, "bad request\n"), false),
		Parsed::Partial => unreachable!("the loop ends only on a complete or refused request"),
	};
	let write = async {
		tls.write_all(&response.encode(head_only)).await?;
		tls.flush().await
	};
	let timeout = server.config.limits.http_timeout;
	write
		.or(async {
			async_io::Timer::after(timeout).await;
			Err(std::io::ErrorKind::TimedOut.into())
		})
		.await?;
	let _ = tls.close().await;
	Ok(())
}

/// A backup file of `backup_dir` (one of ours, by name) to a logged-in
/// admin, streamed from disk: read by the blocking pool a chunk ahead, sent
/// at the HTTPS port's minimum rate (`http_min_bytes_per_second`) or cut.
async fn download<S>(server: &Server, tls: &mut S, req: &Request) -> std::io::Result<()>
where
	S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
{
	const CHUNK: usize = 16 * 1024;
	let name = form_urlencoded::parse(req.query.as_bytes()).find(|(k, _)| k == "name").map(|(_, v)| v.into_owned()).unwrap_or_default();
	let refuse = |status: u16, why: &str| {
		let r = if status == 403 { forbidden(why) } else { html::bare(status, "Backups", &html::notice("error", why)) };
		r.encode(false)
	};
	let answer = if current(server, req).is_none() {
		Some(Response::redirect("/console/login").encode(false))
	} else if !crate::autobackup::is_ours(&name) {
		Some(refuse(404, "No such backup."))
	} else {
		None
	};
	let t = server.config.limits.http_timeout;
	if let Some(bytes) = answer {
		within(t, tls.write_all(&bytes)).await?;
		let _ = tls.close().await;
		return Ok(());
	}
	let path = server.config.backups().join(&name);
	let opened = blocking::unblock(move || std::fs::File::open(&path).and_then(|f| f.metadata().map(|m| (f, m.len())))).await;
	let Ok((file, len)) = opened else {
		within(t, tls.write_all(&refuse(404, "No such backup."))).await?;
		let _ = tls.close().await;
		return Ok(());
	};
	let head = format!(
		"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\
		 Content-Disposition: attachment; filename=\"{name}\"\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
		 Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
	);
	within(t, tls.write_all(head.as_bytes())).await?;
	log::info!("console: backup {name} downloaded by {}", req.peer);
	let mut file = blocking::Unblock::with_capacity(CHUNK, file);
	let mut buf = vec![0u8; CHUNK];
	let limits = &server.config.limits;
	let mut pace = crate::http::pace::Pace::new(limits.http_min_bytes_per_second, limits.http_timeout, Instant::now());
	let sent = async {
		loop {
			let n = file.read(&mut buf).await?;
			if n == 0 {
				return Ok(());
			}
			let write = tls.write_all(&buf[..n]).or(async {
				async_io::Timer::at(pace.deadline()).await;
				Err(std::io::ErrorKind::TimedOut.into())
			});
			write.await?;
			pace.moved(n, Instant::now());
		}
	};
	let result: std::io::Result<()> = sent.await;
	// Closed where it was read (a close can wait for the disk too).
	let file = file.into_inner().await;
	blocking::unblock(move || drop(file)).await;
	result?;
	within(t, tls.flush()).await?;
	let _ = tls.close().await;
	Ok(())
}

/// `f`, or a time-out after `t`.
async fn within<T>(t: std::time::Duration, f: impl std::future::Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
	f.or(async {
		async_io::Timer::after(t).await;
		Err(std::io::ErrorKind::TimedOut.into())
	})
	.await
}

/// Decides the answer to one request.
pub async fn route(server: &Server, req: Request) -> Response {
	let method = if req.method == "HEAD" { "GET" } else { req.method.as_str() };
	if method != "GET" && method != "POST" {
		return Response::text(405, "method not allowed\n");
	}
	if method == "POST" && !same_origin(&req) {
		return forbidden("This form was sent from another site.");
	}
	let path = req.path.clone();
	let form = if method == "POST" { Form::parse(&req.body) } else { Form::default() };
	match (method, path.as_str()) {
		("GET", "/" | "/console") => return Response::redirect("/console/"),
		(_, p) if p.starts_with("/invite/") || p.starts_with("/reset/") => return pages::landing::route(server, &req, &form).await,
		("GET", "/console/login") => {
			return match current(server, &req) {
				Some(_) => Response::redirect("/console/"),
				None => login::form(server, None, ""),
			};
		}
		("POST", "/console/login") => {
			if !csrf::verify(&server.console.borrow().key, "/console/login", form.get("csrf").unwrap_or(""), now_secs()) {
				return forbidden("The login form was too old or not ours: load it again.");
			}
			return login::submit(server, &req, &form).await;
		}
		_ => {}
	}
	// Everything else is for a logged-in account: admins, or a person on
	// their own page.
	let Some((id, session)) = current(server, &req) else {
		return match method {
			"GET" => Response::redirect("/console/login"),
			_ => forbidden("Not logged in."),
		};
	};
	if method == "POST" && !csrf::matches(&session.csrf, form.get("csrf")) {
		return forbidden("This form has no valid token. Load the page again and retry.");
	}
	if path == "/console/logout" && method == "POST" {
		server.console.borrow_mut().sessions.close(&id);
		log::info!("console: {} logged out", session.user);
		let mut r = Response::redirect("/console/login");
		r.headers.push(("Set-Cookie", session::clear_cookie()));
		return r;
	}
	let mut r = if session.admin {
		pages::route(server, &id, &session, &req, &form).await
	} else {
		pages::me::route(server, &session, &req, &form).await
	};
	// Each use renews the session, and so the cookie's life.
	r.headers.push(("Set-Cookie", session::set_cookie(&id, server.config.limits.console_session_timeout)));
	r
}

/// The logged-in session of this request, if its cookie names one that is
/// still good, its account is still there and not locked, and an admin's
/// still is one (a deleted, locked or demoted admin's sessions end at their
/// next request).
fn current(server: &Server, req: &Request) -> Option<(String, Session)> {
	let id = req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("cookie")).find_map(|(_, v)| session::id_from_cookies(v))?;
	let limits = &server.config.limits;
	let session = server.console.borrow_mut().sessions.touch(id, Instant::now(), limits.console_session_timeout)?;
	let snap = server.store.snapshot().ok()?;
	let there = snap.account(&session.user).ok().flatten().is_some() && !snap.is_locked(&session.user).unwrap_or(true);
	let still = there && (!session.admin || snap.is_admin(&session.user).unwrap_or(false));
	if !still {
		server.console.borrow_mut().sessions.close_user(&session.user);
		return None;
	}
	Some((id.to_owned(), session))
}

/// A POST from a page of another origin is refused whatever it carries.
/// Browsers say where a request comes from with `Sec-Fetch-Site`, and with
/// `Origin` (which is `null` on our pages: they send no referrer).
fn same_origin(req: &Request) -> bool {
	if req.header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none") {
		return false;
	}
	match (req.header("origin"), req.header("host")) {
		(None | Some("null"), _) => true,
		(Some(origin), Some(host)) => origin.strip_prefix("https://").is_some_and(|o| o.eq_ignore_ascii_case(host)),
		(Some(_), None) => false,
	}
}

pub fn forbidden(why: &str) -> Response {
	html::bare(403, "Forbidden", &format!("{}<p><a href=\"/console/\">Back to the console</a></p>", html::notice("error", why)))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_console_owns_its_paths_only() {
		for p in ["/", "/console", "/console/", "/console/people", "/invite/abc", "/reset/x?y"] {
			assert!(owns(p), "{p}");
		}
		for p in ["/upload/a/b", "/xmpp-websocket", "/.well-known/host-meta", "/consoles", "/favicon.ico"] {
			assert!(!owns(p), "{p}");
		}
	}

	#[test]
	fn posts_from_another_origin_are_refused() {
		let req = |origin: Option<&str>| {
			let mut headers = vec![("Host".to_owned(), "box.lan:5443".to_owned())];
			if origin == Some("https://evil.example") {
				headers.push(("Sec-Fetch-Site".to_owned(), "cross-site".to_owned()));
			}
			if let Some(o) = origin {
				headers.push(("Origin".to_owned(), o.to_owned()));
			}
			Request {
				method: "POST".into(),
				path: "/console/people".into(),
				query: String::new(),
				headers,
				body: Vec::new(),
				peer: "127.0.0.1:1".parse().unwrap(),
			}
		};
		assert!(same_origin(&req(None)));
		assert!(same_origin(&req(Some("https://box.lan:5443"))));
		assert!(!same_origin(&req(Some("https://evil.example"))));
		assert!(!same_origin(&req(Some("http://box.lan:5443"))));
		assert!(same_origin(&req(Some("null"))), "our own pages send no referrer");
	}
}
