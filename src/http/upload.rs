//! The HTTPS side of XEP-0363: `PUT /upload/ID/NAME` stores a file into an
//! open slot, `GET`/`HEAD` serve it, `OPTIONS` answers CORS preflights for
//! web clients. Bodies stream through a 16 KiB buffer to DATA/uploads (a
//! temporary name, fsync, then the final name; every file system call runs
//! on a thread of `blocking`'s pool, never on the executor) and the record is committed
//! before the 201, so an acknowledged upload survives a power cut.
//!
//! Limits: `http_max_connections` and `http_max_connections_per_ip` (a
//! WebSocket session leaves the pool once upgraded: it is a c2s session; so
//! does a BOSH request once its body is read, `net::bosh`),
//! `http_max_request_bytes` (headers), `http_timeout` (from accept to the
//! end of the head, TLS included), `http_min_bytes_per_second` (bodies both
//! ways, measured over each `http_timeout`), and the upload settings.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_executor::LocalExecutor;
use async_net::{TcpListener, TcpStream};
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::TlsAcceptor;
use futures_rustls::server::TlsStream;

use super::media_type;
use super::pace::Pace;
use crate::config::Config;
use crate::features::upload::percent_encode;
use crate::net::per_ip::{Held, Pool};
use crate::server::Server;
use crate::store::Upload;

const CHUNK: usize = 16 * 1024;

/// Where uploaded files live.
pub fn dir(server: &Server) -> PathBuf {
	files_dir(&server.config)
}

/// Where the uploaded files are.
pub fn files_dir(config: &Config) -> PathBuf {
	config.data_dir.join("uploads")
}

/// Accepts HTTPS connections forever, one task each, within
/// `http_max_connections` and `http_max_connections_per_ip` (the rest are
/// closed at once: without a TLS handshake there is no way to say 503).
pub async fn serve(server: Rc<Server>, ex: Rc<LocalExecutor<'static>>, listener: TcpListener) {
	let pool = Pool::default();
	loop {
		let Ok((tcp, peer)) = listener.accept().await else {
			async_io::Timer::after(Duration::from_millis(100)).await;
			continue;
		};
		let l = &server.config.limits;
		let held = match pool.admit(peer.ip(), l.http_max_connections, l.http_max_connections_per_ip) {
			Ok(held) => held,
			Err(full) => {
				log::debug!("upload {peer}: refused ({full:?})");
				continue;
			}
		};
		let server = server.clone();
		ex.spawn(async move {
			if let Err(e) = connection(server, tcp, peer, held).await {
				log::debug!("upload {peer}: {e}");
			}
		})
		.detach();
	}
}

type Tls = TlsStream<TcpStream>;

fn timed_out() -> std::io::Error {
	std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out")
}

/// Runs `f`, or fails at `deadline`.
async fn until<T>(deadline: Instant, f: impl Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
	f.or(async {
		async_io::Timer::at(deadline).await;
		Err(timed_out())
	})
	.await
}

/// Runs `f`, or fails after `http_timeout` (small answers).
async fn timed<T>(server: &Server, f: impl Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
	until(Instant::now() + server.config.limits.http_timeout, f).await
}

/// Moves a body chunk with `f` (which says how many bytes it moved), or
/// fails when the body has fallen below `http_min_bytes_per_second`.
async fn paced(pace: &mut Pace, f: impl Future<Output = std::io::Result<usize>>) -> std::io::Result<usize> {
	let n = until(pace.deadline(), f).await?;
	pace.moved(n, Instant::now());
	Ok(n)
}

fn pace(server: &Server) -> Pace {
	let l = &server.config.limits;
	Pace::new(l.http_min_bytes_per_second, l.http_timeout, Instant::now())
}

fn https_config(server: &Server) -> Arc<futures_rustls::rustls::ServerConfig> {
	server.https_tls.borrow().clone()
}

pub struct Head {
	method: String,
	path: String,
	length: Option<u64>,
	content_type: Option<String>,
	/// Sec-WebSocket-Key of an upgrade request.
	ws_key: Option<String>,
	/// Sec-WebSocket-Protocol offers.
	ws_protocols: String,
}

/// Reads and parses the request head by `deadline`; returns it with every
/// byte read (the head and the body bytes that came along) and the head's length.
async fn read_head(server: &Server, tls: &mut Tls, deadline: Instant) -> Result<(Head, Vec<u8>, usize), u16> {
	let max = server.config.limits.http_max_request_bytes;
	let mut buf = Vec::with_capacity(1024);
	let mut chunk = [0u8; 2048];
	loop {
		if let Some((head, n)) = parse_head(&buf, max)? {
			return Ok((head, buf, n));
		}
		match until(deadline, tls.read(&mut chunk)).await {
			Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Err(408),
			Ok(0) | Err(_) => return Err(400),
			Ok(n) => buf.extend_from_slice(&chunk[..n]),
		}
	}
}

/// The request head at the start of `buf` and its length, `None` while it
/// is incomplete, or the status to answer (sans-IO, for the fuzz target).
pub fn parse_head(buf: &[u8], max: usize) -> Result<Option<(Head, usize)>, u16> {
	let mut headers = [httparse::EMPTY_HEADER; 32];
	let mut req = httparse::Request::new(&mut headers);
	match req.parse(buf) {
		// However the reads cut it: a head longer than the limit never passes.
		Ok(httparse::Status::Complete(n)) if n > max => Err(431),
		Ok(httparse::Status::Complete(n)) => {
			let mut head = Head {
				method: req.method.unwrap_or("").to_owned(),
				path: req.path.unwrap_or("/").to_owned(),
				length: None,
				content_type: None,
				ws_key: None,
				ws_protocols: String::new(),
			};
			head.length = super::framing::check(&buf[..n], req.headers)?;
			for h in req.headers.iter() {
				let v = String::from_utf8_lossy(h.value).trim().to_owned();
				if h.name.eq_ignore_ascii_case("content-type") {
					head.content_type = Some(v);
				} else if h.name.eq_ignore_ascii_case("sec-websocket-key") {
					head.ws_key = Some(v);
				} else if h.name.eq_ignore_ascii_case("sec-websocket-protocol") {
					head.ws_protocols = v;
				}
			}
			Ok(Some((head, n)))
		}
		Ok(httparse::Status::Partial) if buf.len() < max => Ok(None),
		Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => Err(431),
		Err(_) => Err(400),
	}
}

fn reason(status: u16) -> &'static str {
	match status {
		200 => "OK",
		201 => "Created",
		204 => "No Content",
		400 => "Bad Request",
		404 => "Not Found",
		405 => "Method Not Allowed",
		408 => "Request Timeout",
		411 => "Length Required",
		413 => "Content Too Large",
		431 => "Request Header Fields Too Large",
		500 => "Internal Server Error",
		501 => "Not Implemented",
		_ => "",
	}
}

/// A response head; CORS is open (the URLs are the secret), and what is
/// served never runs as a page of ours. The fixed security headers come
/// first, before anything taken from stored data.
fn head(status: u16, length: u64, content_type: &str, extra: &str) -> String {
	format!(
		"HTTP/1.1 {status} {}\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'; sandbox\r\n\
		 Access-Control-Allow-Origin: *\r\nContent-Length: {length}\r\nContent-Type: {content_type}\r\n{extra}Connection: close\r\n\r\n",
		reason(status)
	)
}

async fn answer(server: &Server, tls: &mut Tls, status: u16) -> std::io::Result<()> {
	let text = format!("{} {}\n", status, reason(status));
	let h = head(status, text.len() as u64, "text/plain; charset=utf-8", "");
	timed(server, tls.write_all(format!("{h}{text}").as_bytes())).await?;
	timed(server, tls.flush()).await
}

/// One connection, holding its slot (`held`) until it ends or becomes a
/// WebSocket session. The TLS handshake and the request head share one
/// deadline, `http_timeout` from the accept.
async fn connection(rc: Rc<Server>, tcp: TcpStream, peer: SocketAddr, held: Held) -> std::io::Result<()> {
	let server = &*rc;
	let deadline = Instant::now() + server.config.limits.http_timeout;
	let mut tls = until(deadline, TlsAcceptor::from(https_config(server)).accept(tcp)).await?;
	let (head, buf, head_len) = match read_head(server, &mut tls, deadline).await {
		Ok(h) => h,
		Err(status) => return answer(server, &mut tls, status).await,
	};
	match (head.method.as_str(), head.path.as_str()) {
		("GET", "/xmpp-websocket") => return websocket(rc.clone(), tls, &head, peer, held).await,
		(method, "/http-bind") => {
			let method = method.to_owned();
			return crate::net::bosh::serve(rc.clone(), tls, &method, buf, head_len, head.length, peer, held, deadline).await;
		}
		("GET", "/.well-known/host-meta") => return host_meta(server, &mut tls, false).await,
		("GET", "/.well-known/host-meta.json") => return host_meta(server, &mut tls, true).await,
		// The web client (Converse.js): GETs only, the head is the request.
		(_, path) if super::chat::owns(path) => return super::chat::serve(server, &mut tls, buf, peer).await,
		// The web console (its body, if any, by the same deadline).
		(_, path) if crate::console::owns(path) => return crate::console::serve(server, &mut tls, buf, peer, deadline).await,
		_ => {}
	}
	let early = buf[head_len..].to_vec();
	let mut parts = head.path.trim_start_matches('/').splitn(3, '/');
	let (Some("upload"), Some(id), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
		return answer(server, &mut tls, 404).await;
	};
	let status = match head.method.as_str() {
		"OPTIONS" => {
			let h = head_cors();
			timed(server, tls.write_all(h.as_bytes())).await?;
			return timed(server, tls.flush()).await;
		}
		"PUT" => put(server, &mut tls, &head, id, name, early).await?,
		"GET" | "HEAD" => return get(server, &mut tls, id, name, head.method == "HEAD").await,
		_ => 405,
	};
	answer(server, &mut tls, status).await?;
	if status >= 400 && head.method == "PUT" {
		linger(&mut tls).await;
	}
	let _ = tls.close().await;
	Ok(())
}

/// After refusing a request whose body is still coming: read (and drop) a
/// little of it first, so closing does not reset the connection before the
/// client has read the answer.
async fn linger(tls: &mut Tls) {
	let mut buf = [0u8; 4096];
	let mut left = 1usize << 20;
	let drain = async {
		while left > 0 {
			match tls.read(&mut buf).await {
				Ok(0) | Err(_) => break,
				Ok(n) => left = left.saturating_sub(n),
			}
		}
	};
	drain
		.or(async {
			async_io::Timer::after(std::time::Duration::from_secs(1)).await;
		})
		.await;
}

/// The WebSocket endpoint (RFC 7395 §3.1): an upgrade with the "xmpp"
/// subprotocol becomes an XMPP session.
async fn websocket(server: Rc<Server>, mut tls: Tls, head: &Head, peer: SocketAddr, held: Held) -> std::io::Result<()> {
	let offers_xmpp = head.ws_protocols.split(',').any(|p| p.trim() == "xmpp");
	let Some(key) = head.ws_key.as_deref().filter(|_| offers_xmpp) else {
		return answer(&server, &mut tls, 400).await;
	};
	let reply = format!(
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
		crate::net::ws::accept_key(key)
	);
	timed(&server, tls.write_all(reply.as_bytes())).await?;
	timed(&server, tls.flush()).await?;
	// A c2s session from here on: it leaves the HTTP pool, and serve_ws
	// admits it like any c2s connection (max_connections, per address).
	drop(held);
	let cb = crate::net::tls::channel_binding(tls.get_ref().1);
	let ws = crate::net::ws::Ws::new(tls, crate::net::c2s::pre_auth_limits(&server)).await;
	crate::net::c2s::serve_ws(server, ws, peer, cb).await;
	Ok(())
}

/// XEP-0156: where the WebSocket endpoint is, for web clients.
async fn host_meta(server: &Server, tls: &mut Tls, json: bool) -> std::io::Result<()> {
	let (body, ty) = host_meta_document(server, json);
	timed(server, tls.write_all(format!("{}{body}", head(200, body.len() as u64, ty, "")).as_bytes())).await?;
	timed(server, tls.flush()).await
}

/// The WebSocket endpoint (RFC 7395) on the HTTPS port.
pub fn websocket_url(server: &Server) -> String {
	format!("wss://{}/xmpp-websocket", authority(server))
}

/// The BOSH endpoint (XEP-0206) on the HTTPS port.
pub fn bosh_url(server: &Server) -> String {
	format!("https://{}/http-bind", authority(server))
}

/// DOMAIN, or DOMAIN:PORT when the HTTPS port is not the default one.
fn authority(server: &Server) -> String {
	match server.upload_port.get() {
		// The default port of https, as browsers write it.
		Some(443) | None => server.config.domain.clone(),
		Some(port) => format!("{}:{port}", server.config.domain),
	}
}

/// The XEP-0156 document (XRD, or JRD when `json`) naming the WebSocket
/// endpoint, and its media type; the box's web page serves it too.
pub fn host_meta_document(server: &Server, json: bool) -> (String, &'static str) {
	let url = websocket_url(server);
	if json {
		(format!("{{\"links\":[{{\"rel\":\"urn:xmpp:alt-connections:websocket\",\"href\":\"{url}\"}}]}}"), "application/json")
	} else {
		(
			format!(
				"<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'><Link rel='urn:xmpp:alt-connections:websocket' href='{url}'/></XRD>\n"
			),
			"application/xrd+xml",
		)
	}
}

fn head_cors() -> String {
	"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, HEAD, PUT, OPTIONS\r\n\
	 Access-Control-Allow-Headers: Content-Type, Authorization\r\nAccess-Control-Max-Age: 86400\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
		.to_owned()
}

/// Stores the body into slot `id`; the status to answer.
async fn put(server: &Server, tls: &mut Tls, head: &Head, id: &str, name: &str, early: Vec<u8>) -> std::io::Result<u16> {
	let Some(slot) = server.upload_slots.borrow_mut().take(id) else { return Ok(404) };
	let refuse = |status| {
		// The client may try again with a correct request while the slot lasts.
		server.upload_slots.borrow_mut().restore(id.to_owned(), slot.clone());
		Ok(status)
	};
	if name != percent_encode(&slot.filename) {
		return refuse(404);
	}
	match head.length {
		None => return refuse(411),
		Some(n) if n > slot.size => return refuse(413),
		Some(n) if n != slot.size => return refuse(400),
		Some(_) => {}
	}
	if head.content_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case(&slot.content_type)) {
		return refuse(400);
	}
	let dir = dir(server);
	let (tmp, done) = (dir.join(format!(".part-{id}")), dir.join(id));
	let written = async {
		let file = unblock_path(&tmp, |p| {
			std::fs::create_dir_all(p.parent().unwrap_or(p))?;
			std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(p)
		})
		.await?;
		// Writes go through a pipe to a thread of `blocking`'s pool: the
		// executor only copies bytes into it.
		let mut file = blocking::Unblock::with_capacity(CHUNK, file);
		let mut left = slot.size;
		let first = early.len().min(left as usize);
		file.write_all(&early[..first]).await?;
		left -= first as u64;
		let mut buf = vec![0u8; CHUNK];
		let mut pace = pace(server);
		while left > 0 {
			let want = buf.len().min(left as usize);
			let n = paced(&mut pace, tls.read(&mut buf[..want])).await?;
			if n == 0 {
				return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the upload stopped half-way"));
			}
			file.write_all(&buf[..n]).await?;
			left -= n as u64;
		}
		file.flush().await?;
		let file = file.into_inner().await;
		let (from, to) = (tmp.clone(), done.clone());
		// On disk before we say so (kill -9 and power cuts keep what was acknowledged).
		blocking::unblock(move || {
			file.sync_all()?;
			std::fs::rename(from, to)
		})
		.await
	}
	.await;
	if let Err(e) = written {
		remove_files(vec![tmp]).await;
		server.upload_slots.borrow_mut().restore(id.to_owned(), slot);
		if e.kind() == std::io::ErrorKind::TimedOut {
			log::info!("upload: a body slower than http_min_bytes_per_second was cut");
			return Ok(408);
		}
		return Err(e);
	}
	let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
	let record = Upload {
		user: slot.user.clone(),
		filename: slot.filename.clone(),
		size: slot.size,
		content_type: slot.content_type.clone(),
		created,
	};
	let key = id.to_owned();
	match server.store.write(move |tx| tx.put_upload(&key, &record)).await {
		Ok(true) => {
			log::info!("upload: {} stored {} bytes", slot.user, slot.size);
			Ok(201)
		}
		Ok(false) => {
			log::info!("upload: {} was deleted during its upload", slot.user);
			remove_files(vec![done]).await;
			Ok(403)
		}
		Err(e) => {
			log::error!("upload: {e}");
			remove_files(vec![done]).await;
			Ok(500)
		}
	}
}

/// Runs a file system call on `path` on a thread of `blocking`'s pool, never
/// on the executor (an SD card can take seconds).
async fn unblock_path<T: Send + 'static>(
	path: &std::path::Path,
	f: impl FnOnce(&std::path::Path) -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
	let path = path.to_owned();
	blocking::unblock(move || f(&path)).await
}

/// Deletes files off the executor; ones already gone do not matter.
pub async fn remove_files(paths: Vec<PathBuf>) {
	blocking::unblock(move || {
		for p in paths {
			let _ = std::fs::remove_file(p);
		}
	})
	.await
}

async fn get(server: &Server, tls: &mut Tls, id: &str, name: &str, head_only: bool) -> std::io::Result<()> {
	let record = server.store.snapshot().ok().and_then(|s| s.upload(id).ok().flatten());
	let Some(u) = record.filter(|u| name == percent_encode(&u.filename)) else { return answer(server, tls, 404).await };
	let Ok(file) = unblock_path(&dir(server).join(id), |p| std::fs::File::open(p)).await else { return answer(server, tls, 404).await };
	// Stored before types were checked, a type could hold anything: such a
	// file goes out as bytes.
	let ty = if media_type::is_valid(&u.content_type) { u.content_type.as_str() } else { "application/octet-stream" };
	// Only what a browser shows without running it is shown in its window.
	let disposition = if media_type::is_passive(ty) { "inline" } else { "attachment" };
	let extra = format!(
		"Content-Disposition: {disposition}; filename*=UTF-8''{}\r\nCache-Control: private, max-age=86400\r\n",
		percent_encode(&u.filename)
	);
	timed(server, tls.write_all(head(200, u.size, ty, &extra).as_bytes())).await?;
	if !head_only {
		// Read ahead by a thread of `blocking`'s pool, one chunk at most.
		let mut file = blocking::Unblock::with_capacity(CHUNK, file);
		let mut buf = vec![0u8; CHUNK];
		let mut pace = pace(server);
		loop {
			let n = file.read(&mut buf).await?;
			if n == 0 {
				break;
			}
			paced(&mut pace, async { tls.write_all(&buf[..n]).await.map(|()| n) }).await?;
		}
		// Closed where it was read (a close can wait for the disk too).
		let file = file.into_inner().await;
		blocking::unblock(move || drop(file)).await;
	} else {
		blocking::unblock(move || drop(file)).await;
	}
	timed(server, tls.flush()).await?;
	let _ = tls.close().await;
	Ok(())
}

/// Deletes uploads older than `upload_expiry_days` (0 keeps them).
pub async fn expire(server: &Server) {
	let days = server.config.limits.upload_expiry_days;
	if days == 0 {
		return;
	}
	let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
	let cutoff = now.saturating_sub(u64::from(days) * 86_400);
	match server.store.write(move |tx| tx.expire_uploads(cutoff)).await {
		Ok(ids) => {
			let n = ids.len();
			remove_files(ids.iter().map(|id| dir(server).join(id)).collect()).await;
			if n > 0 {
				log::info!("upload: {n} files older than {days} days deleted");
			}
		}
		Err(e) => log::error!("upload expiry: {e}"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_head_over_the_limit_is_refused_however_it_arrives() {
		let head = format!("PUT /upload/id/a.txt HTTP/1.1\r\nContent-Length: 1\r\nX-Pad: {}\r\n\r\n", "a".repeat(300));
		// Read in small pieces: still incomplete at the limit.
		assert_eq!(parse_head(&head.as_bytes()[..256], 256).err(), Some(431));
		// Read at once (one read takes up to 2 KiB): complete, but as long.
		assert_eq!(parse_head(head.as_bytes(), 256).err(), Some(431));
		assert!(parse_head(head.as_bytes(), head.len()).is_ok_and(|h| h.is_some_and(|(_, n)| n == head.len())));
	}
}
