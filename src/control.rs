//! The control socket: how `xerra user ...`, `xerra config ...` and
//! `xerra status` reach a running server (which holds the database lock).
//! A Unix socket in the data directory, mode 0600; one request per
//! connection: a line of base64 fields separated by tabs, answered by
//! `ok` or `err` and a base64 text.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use async_executor::LocalExecutor;
use async_net::unix::{UnixListener, UnixStream};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_lite::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

use crate::admin::{Actor, Command, Engine};
use crate::server::App;

/// Longest request line accepted.
const MAX_REQUEST: u64 = 64 * 1024;

pub fn path(data_dir: &Path) -> PathBuf {
	data_dir.join("control.sock")
}

pub fn listen(data_dir: &Path) -> std::io::Result<UnixListener> {
	let p = path(data_dir);
	// A socket file left by a killed server: nobody answers on it.
	if p.exists() && std::os::unix::net::UnixStream::connect(&p).is_err() {
		std::fs::remove_file(&p)?;
	}
	let l = UnixListener::bind(&p)?;
	std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
	Ok(l)
}

pub fn remove(data_dir: &Path) {
	let _ = std::fs::remove_file(path(data_dir));
}

pub async fn serve(app: Rc<App>, ex: Rc<LocalExecutor<'static>>, listener: UnixListener) {
	while let Ok((conn, _)) = listener.accept().await {
		ex.spawn(answer(app.clone(), conn)).detach();
	}
}

async fn answer(app: Rc<App>, conn: UnixStream) {
	let mut line = String::new();
	let mut reader = futures_lite::io::BufReader::new(conn.clone()).take(MAX_REQUEST);
	if reader.read_line(&mut line).await.is_err() {
		return;
	}
	let reply = match decode(&line).and_then(|f| Command::from_fields(&f)) {
		// Setup goes through the app, which then starts XMPP in this process.
		Some(Command::SetupApply(answers)) => match app.finish_setup(&answers).await {
			Ok(plan) => Ok(crate::setup::summary(&plan, &app.ca.fingerprint())),
			Err(e) => Err(e.to_string()),
		},
		Some(Command::SetupStatus) => Ok(app.banner()),
		Some(Command::SetupRestore { file, secret }) => {
			let reply = app.restore_setup(&file, &secret).await;
			let mut conn = conn;
			let _ = conn.write_all(encode_reply(&reply).as_bytes()).await;
			let _ = conn.close().await;
			// Answered first: the process stops and starts again with the restored data.
			app.restart();
			return;
		}
		Some(cmd) => {
			let server = app.server.borrow().clone();
			let config = server.as_ref().map_or_else(|| app.config(), |s| s.config.clone());
			Engine { store: &app.store, config: &config, server: server.as_deref() }.run_text(&Actor::Root, cmd).await
		}
		None => Err("malformed control request".into()),
	};
	let mut conn = conn;
	let _ = conn.write_all(encode_reply(&reply).as_bytes()).await;
}

fn decode(line: &str) -> Option<Vec<String>> {
	line.trim_end_matches(['\n', '\r']).split('\t').map(|f| B64.decode(f).ok().and_then(|b| String::from_utf8(b).ok())).collect()
}

fn encode(fields: &[&str]) -> String {
	let mut s = fields.iter().map(|f| B64.encode(f)).collect::<Vec<_>>().join("\t");
	s.push('\n');
	s
}

fn encode_reply(r: &Result<String, String>) -> String {
	match r {
		Ok(t) => encode(&["ok", t]),
		Err(t) => encode(&["err", t]),
	}
}

/// Sends a command to the server running on `data_dir`; `None` if no server
/// is listening there.
pub fn request(data_dir: &Path, cmd: &Command) -> Option<Result<String, String>> {
	let mut conn = std::os::unix::net::UnixStream::connect(path(data_dir)).ok()?;
	if conn.write_all(encode(&cmd.to_fields().iter().map(String::as_str).collect::<Vec<_>>()).as_bytes()).is_err() {
		return Some(Err("the server closed the control connection".into()));
	}
	let mut line = String::new();
	if BufReader::new(conn).read_line(&mut line).is_err() {
		return Some(Err("no answer from the server".into()));
	}
	let fields = decode(&line).unwrap_or_default();
	Some(match fields.as_slice() {
		[status, text] if status == "ok" => Ok(text.clone()),
		[status, text] if status == "err" => Err(text.clone()),
		_ => Err("malformed answer from the server".into()),
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn fields_round_trip_with_tabs_and_newlines() {
		let line = encode(&["user-add", "a\tb", "pa ss\nword"]);
		assert_eq!(line.matches('\n').count(), 1);
		assert_eq!(decode(&line).unwrap(), vec!["user-add", "a\tb", "pa ss\nword"]);
		assert_eq!(decode("%%%"), None);
		// An empty last field (an empty answer) survives.
		assert_eq!(decode(&encode(&["ok", ""])).unwrap(), vec!["ok", ""]);
	}
}
