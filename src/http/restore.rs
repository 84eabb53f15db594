//! The web face of the wizard's "Restore from a backup": a form posting
//! the setup code, the key or passphrase and the backup file
//! (`multipart/form-data`) to `/setup/restore`. The body is streamed to a
//! file in the data directory (written by the blocking pool, never held in
//! memory), at most `setup_restore_max_bytes` (more: 413 before anything
//! is read), at the web page's minimum rate; then the same engine as the
//! console's face (`App::restore_setup`) checks and stages it.

use std::net::SocketAddr;
use std::time::Instant;

use async_net::TcpStream;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};

use super::multipart::{Event, Reader};
use super::pace::Pace;
use super::{Response, framing};
use crate::server::App;

/// Most bytes kept of the code and the key fields.
const MAX_FIELD: usize = 1024;

/// A request head for the restore form: (head length, body length, Content-Type).
pub fn head(buf: &[u8]) -> Option<Result<(usize, u64, String), u16>> {
	let mut headers = [httparse::EMPTY_HEADER; 32];
	let mut req = httparse::Request::new(&mut headers);
	let Ok(httparse::Status::Complete(n)) = req.parse(buf) else { return None };
	if req.method != Some("POST") || req.path != Some("/setup/restore") {
		return None;
	}
	let length = match framing::check(&buf[..n], req.headers) {
		Ok(Some(len)) => len,
		Ok(None) => return Some(Err(411)),
		Err(status) => return Some(Err(status)),
	};
	let ty =
		req.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-type")).map(|h| String::from_utf8_lossy(h.value).into_owned());
	Some(Ok((n, length, ty.unwrap_or_default())))
}

/// Reads the restore form's body (`early`: what came with the head) and
/// answers; `true` when a restore was staged (the caller restarts the box
/// once the answer is out).
pub async fn upload(app: &App, tcp: &mut TcpStream, early: &[u8], length: u64, content_type: &str, peer: SocketAddr) -> (Response, bool) {
	let limits = app.limits();
	if length > limits.setup_restore_max_bytes {
		let why =
			format!("The backup file is larger than setup_restore_max_bytes ({}).", crate::store::mib(limits.setup_restore_max_bytes));
		return (super::pages::restore_form(app, Some(&why), 413), false);
	}
	let Some(boundary) = super::multipart::boundary(content_type) else {
		return (super::pages::restore_form(app, Some("The form was not sent as a file upload."), 400), false);
	};
	let path = app.config().data_dir.join(".restore-upload");
	let result = receive(app, tcp, early, length, &boundary, &path, peer).await;
	let answer = match result {
		Ok(secret) => app.restore_setup(&path.display().to_string(), &secret).await.map_err(|e| (e, 400)),
		Err(e) => Err(e),
	};
	let p = path.clone();
	blocking::unblock(move || std::fs::remove_file(p)).await.ok();
	match answer {
		Ok(text) => {
			log::info!("setup: restored from a backup uploaded from {}", peer.ip());
			(super::pages::restored(&text), true)
		}
		Err((why, status)) => (super::pages::restore_form(app, Some(&why), status), false),
	}
}

/// The body into `path` once the setup code (which comes first: nothing
/// of a file is stored before it is checked) is right; the secret field.
async fn receive(
	app: &App,
	tcp: &mut TcpStream,
	early: &[u8],
	length: u64,
	boundary: &str,
	path: &std::path::Path,
	peer: SocketAddr,
) -> Result<String, (String, u16)> {
	let limits = app.limits();
	let p = path.to_owned();
	let file = blocking::unblock(move || {
		use std::os::unix::fs::OpenOptionsExt as _;
		std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(p)
	})
	.await
	.map_err(|e| (format!("Cannot store the upload: {e}."), 500))?;
	let mut file = blocking::Unblock::with_capacity(64 * 1024, file);
	let mut reader = Reader::new(boundary);
	let (mut code, mut secret, mut field) = (Vec::new(), Vec::new(), String::new());
	let (mut got_file, mut code_ok) = (false, false);
	let mut left = length;
	let mut pace = Pace::new(limits.http_min_bytes_per_second, limits.http_timeout, Instant::now());
	let mut chunk = vec![0u8; 16 * 1024];
	let mut pending: Vec<u8> = early.iter().copied().take(usize::try_from(length).unwrap_or(usize::MAX)).collect();
	left -= pending.len() as u64;
	loop {
		let events = reader.feed(&pending).map_err(|_| ("The upload was not a well-formed form.".to_owned(), 400))?;
		for e in events {
			match e {
				Event::Part(name) => field = name,
				Event::Data(d) => match field.as_str() {
					"code" if code.len() + d.len() <= MAX_FIELD => code.extend(d),
					"secret" if secret.len() + d.len() <= MAX_FIELD => secret.extend(d),
					"file" if !code_ok => return Err(("The setup code must come before the file.".into(), 400)),
					"file" => {
						got_file = true;
						file.write_all(&d).await.map_err(|e| (format!("Cannot store the upload: {e}."), 507))?;
					}
					_ => {}
				},
				Event::PartEnd if field == "code" => {
					let given = String::from_utf8_lossy(&code).into_owned();
					app.check_code(&given, peer.ip()).await.map_err(|e| (e.to_string(), 403))?;
					code_ok = true;
				}
				Event::PartEnd | Event::Done => {}
			}
		}
		if reader.done() || left == 0 {
			break;
		}
		let want = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
		let read = tcp.read(&mut chunk[..want]).or(async {
			async_io::Timer::at(pace.deadline()).await;
			Err(std::io::ErrorKind::TimedOut.into())
		});
		let n = match read.await {
			Ok(0) => return Err(("The upload ended early.".into(), 400)),
			Ok(n) => n,
			Err(e) => {
				log::info!("setup: restore upload from {peer} stopped: {e}");
				return Err(("The upload was too slow or broke off.".into(), 408));
			}
		};
		pace.moved(n, Instant::now());
		left -= n as u64;
		pending = chunk[..n].to_vec();
	}
	file.flush().await.map_err(|e| (format!("Cannot store the upload: {e}."), 507))?;
	let file = file.into_inner().await;
	blocking::unblock(move || file.sync_all()).await.map_err(|e| (format!("Cannot store the upload: {e}."), 507))?;
	if !reader.done() || !got_file {
		return Err(("No backup file came with the form.".into(), 400));
	}
	Ok(String::from_utf8_lossy(&secret).into_owned())
}
