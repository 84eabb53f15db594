//! Test harness: starts the real `xerra` binary on ephemeral loopback ports
//! with a temporary data directory, and a small blocking XMPP client that
//! speaks to it over real TCP and TLS.

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod client;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use client::Client;

pub const DOMAIN: &str = "example.test";
pub const PASSWORD: &str = "correct horse";

/// A running server process.
pub struct Server {
	child: Option<Child>,
	pub dir: PathBuf,
	pub port: u16,
	pub tls_port: u16,
	/// Every listener as printed by the server: (kind, address).
	pub listeners: Vec<(String, std::net::SocketAddr)>,
	settings: Vec<String>,
	/// Server log (stderr) lines, collected by a thread.
	log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn fresh_dir() -> PathBuf {
	static N: AtomicU32 = AtomicU32::new(0);
	let dir = std::env::temp_dir().join(format!("xerra-it-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).unwrap();
	dir
}

pub fn bin() -> &'static str {
	env!("CARGO_BIN_EXE_xerra")
}

impl Server {
	/// Starts a server for `DOMAIN` with extra `name=value` settings.
	pub fn start(settings: &[&str]) -> Server {
		let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
		Server::start_in(fresh_dir(), settings)
	}

	/// Starts a server on an existing data directory (removed when dropped).
	pub fn start_in(dir: PathBuf, settings: Vec<String>) -> Server {
		Server::start_wrapped(dir, settings, &[])
	}

	/// Like `start_in`, with the server run by `wrapper` (a command that
	/// ends by executing its arguments, e.g. `unshare -m ... sh -c '...; exec "$@"'`).
	pub fn start_wrapped(dir: PathBuf, settings: Vec<String>, wrapper: &[&str]) -> Server {
		Server::spawn(dir, settings, wrapper, false)
	}

	/// Like `start`, as systemd runs it with its output going to journald:
	/// `JOURNAL_STREAM` names the device and inode of the server's stderr.
	pub fn start_under_journald(settings: &[&str]) -> Server {
		let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
		Server::spawn(fresh_dir(), settings, &[], true)
	}

	fn spawn(dir: PathBuf, settings: Vec<String>, wrapper: &[&str], journald: bool) -> Server {
		// Federation is off unless a test turns it on (with `s2s_hosts` for
		// every domain it uses): a server must never ask the machine's DNS
		// about test domains.
		let mut cmd = match wrapper.split_first() {
			Some((first, rest)) => {
				let mut c = Command::new(first);
				c.args(rest).arg(bin());
				c
			}
			None => Command::new(bin()),
		};
		cmd.arg("--data-dir").arg(&dir).arg("--log").arg("debug").arg("run");
		for s in [
			"listen=127.0.0.1",
			"c2s_port=0",
			"c2s_tls_port=0",
			"http_port=0",
			"upload_port=0",
			"component_port=0",
			"proxy_port=0",
			"s2s_port=off",
			&format!("domain={DOMAIN}"),
		] {
			cmd.arg("--set").arg(s);
		}
		for s in &settings {
			cmd.arg("--set").arg(s);
		}
		// The test runner may itself run under journald: only `journald` says so.
		cmd.env_remove("JOURNAL_STREAM");
		let (reader, writer) = std::io::pipe().expect("pipe");
		if journald {
			use std::os::unix::fs::MetadataExt as _;
			let fd: std::os::fd::OwnedFd = writer.try_clone().unwrap().into();
			let meta = std::fs::File::from(fd).metadata().unwrap();
			cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
		}
		let mut child = cmd.stdout(Stdio::piped()).stderr(writer).spawn().expect("start xerra");
		// Our copy of the write end must go, or the reader never sees the end.
		drop(cmd);
		let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
		let stderr = reader;
		let sink = log.clone();
		std::thread::spawn(move || {
			for line in BufReader::new(stderr).lines().map_while(Result::ok) {
				sink.lock().unwrap().push(line);
			}
		});
		// Read on a thread of its own (which keeps draining stdout so the
		// server never blocks on a full pipe): a server that hangs before
		// printing `ready` fails at the deadline instead of blocking here.
		let stdout = BufReader::new(child.stdout.take().unwrap());
		let (lines, next_line) = std::sync::mpsc::channel();
		std::thread::spawn(move || {
			for line in stdout.lines().map_while(Result::ok) {
				let _ = lines.send(line);
			}
		});
		let (mut port, mut tls_port) = (0, 0);
		let mut listeners = Vec::new();
		let deadline = Instant::now() + Duration::from_secs(20);
		loop {
			let line = match next_line.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
				Ok(line) => line,
				Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
					let _ = child.kill();
					let _ = child.wait();
					panic!("server did not start within 20 s: {:?}", log.lock().unwrap());
				}
				Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
					panic!("server exited during start-up: {:?}", log.lock().unwrap())
				}
			};
			let addr_port = |l: &str| l.rsplit(':').next().unwrap().trim().parse::<u16>().unwrap();
			if let Some(rest) = line.strip_prefix("listening ") {
				let (kind, addr) = rest.trim().split_once(' ').unwrap();
				listeners.push((kind.to_string(), addr.parse().unwrap()));
			}
			if let Some(rest) = line.strip_prefix("listening c2s_tls ") {
				tls_port = addr_port(rest);
			} else if let Some(rest) = line.strip_prefix("listening c2s ") {
				port = addr_port(rest);
			} else if line.starts_with("ready ") {
				break;
			}
		}
		Server { child: Some(child), dir, port, tls_port, listeners, settings, log }
	}

	/// Runs `xerra --data-dir DIR args...` (the control socket reaches the
	/// running server); returns (success, stdout + stderr).
	pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> (bool, String) {
		cli(&self.dir, args, stdin)
	}

	pub fn add_user(&self, name: &str) {
		let (ok, out) = self.cli(&["user", "add", name, "--password-stdin"], Some(PASSWORD));
		assert!(ok, "user add {name}: {out}");
	}

	pub fn jid(name: &str) -> String {
		format!("{name}@{DOMAIN}")
	}

	/// Logs in `name` (created if needed is not done here) on the STARTTLS port.
	pub fn login(&self, name: &str) -> Client {
		Client::login(self.port, name, PASSWORD)
	}

	/// Logs in and sends initial presence; waits for the own presence echo.
	pub fn online(&self, name: &str) -> Client {
		let mut c = self.login(name);
		c.send("<presence/>");
		let me = c.jid.clone();
		c.wait_for(|s| s.name() == "presence" && s.attr("from") == Some(me.as_str()));
		c
	}

	pub fn pid(&self) -> u32 {
		self.child.as_ref().unwrap().id()
	}

	pub fn log_text(&self) -> String {
		self.log.lock().unwrap().join("\n")
	}

	/// Sends SIGHUP (reload the certificate).
	pub fn hup(&self) {
		let _ = Command::new("kill").arg("-HUP").arg(self.pid().to_string()).status();
	}

	/// SIGKILL: no chance to flush anything.
	pub fn kill9(&mut self) {
		if let Some(mut c) = self.child.take() {
			let _ = c.kill();
			let _ = c.wait();
		}
	}

	/// SIGTERM and wait for a clean exit; true if it exited successfully.
	pub fn stop(&mut self) -> bool {
		let Some(mut c) = self.child.take() else { return false };
		let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
		let deadline = Instant::now() + Duration::from_secs(10);
		while Instant::now() < deadline {
			if let Ok(Some(status)) = c.try_wait() {
				return status.success();
			}
			std::thread::sleep(Duration::from_millis(20));
		}
		let _ = c.kill();
		false
	}

	/// Starts a new server process on the same data directory and settings.
	pub fn restart(mut self) -> Server {
		self.stop();
		let dir = self.dir.clone();
		let settings = std::mem::take(&mut self.settings);
		// Keep the directory: this `self` must not delete it when dropped.
		self.dir = PathBuf::new();
		Server::start_in(dir, settings)
	}

	/// Starts again on the same data after a `kill9`.
	pub fn restart_after_kill(mut self) -> Server {
		let dir = std::mem::take(&mut self.dir);
		let settings = std::mem::take(&mut self.settings);
		Server::start_in(dir, settings)
	}
}

impl Drop for Server {
	fn drop(&mut self) {
		if std::thread::panicking() {
			// What the server saw is what explains a failure.
			eprintln!("--- server log ---\n{}\n--- end of server log ---", self.log_text());
		}
		if let Some(mut c) = self.child.take() {
			let _ = c.kill();
			let _ = c.wait();
		}
		if !self.dir.as_os_str().is_empty() {
			let _ = std::fs::remove_dir_all(&self.dir);
		}
	}
}

/// Runs the CLI on a data directory.
pub fn cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
	use std::io::Write as _;
	let mut child = Command::new(bin())
		.arg("--data-dir")
		.arg(dir)
		.args(args)
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.expect("run xerra cli");
	if let Some(input) = stdin {
		child.stdin.take().unwrap().write_all(format!("{input}\n").as_bytes()).unwrap();
	}
	drop(child.stdin.take());
	let out = output_within(child, CHILD_DEADLINE, &format!("xerra {}", args.join(" ")));
	let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
	(out.status.success(), text)
}

/// Makes a server with users `names`, all with `PASSWORD`.
pub fn server_with_users(names: &[&str], settings: &[&str]) -> Server {
	let s = Server::start(settings);
	for n in names {
		s.add_user(n);
	}
	s
}

pub const ROSTER: &str = "jabber:iq:roster";

/// A roster push (RFC 6121 §2.1.6)?
pub fn is_push(e: &xerra::xmpp::element::Element) -> bool {
	e.name() == "iq" && e.attr("type") == Some("set") && e.child("query", ROSTER).is_some()
}

/// The next roster push's single item, acknowledged like a client would.
pub fn push_item(c: &mut Client) -> xerra::xmpp::element::Element {
	let push = c.wait_for(is_push);
	let id = push.attr("id").unwrap().to_string();
	c.send(&format!("<iq type='result' id='{id}'/>"));
	push.child("query", ROSTER).unwrap().children().next().unwrap().clone()
}

/// How long a child process of a test may take unless the test says otherwise.
pub const CHILD_DEADLINE: Duration = Duration::from_secs(120);

/// Waits for `child` until `deadline` has passed; past it, kills it and
/// panics naming `what`, so a hang fails the test instead of the CI run.
pub fn wait_within(child: &mut Child, deadline: Duration, what: &str) -> std::process::ExitStatus {
	let end = Instant::now() + deadline;
	loop {
		if let Some(status) = child.try_wait().expect("try_wait") {
			return status;
		}
		if Instant::now() >= end {
			let _ = child.kill();
			let _ = child.wait();
			panic!("{what} (pid {}) did not finish within {deadline:?}; killed", child.id());
		}
		std::thread::sleep(Duration::from_millis(20));
	}
}

/// `wait_with_output` with a deadline (see [`wait_within`]): stdout and
/// stderr, if piped, are read as they come so the child never blocks on them.
pub fn output_within(mut child: Child, deadline: Duration, what: &str) -> std::process::Output {
	fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
		std::thread::spawn(move || {
			let mut buf = Vec::new();
			if let Some(mut p) = pipe {
				let _ = p.read_to_end(&mut buf);
			}
			buf
		})
	}
	let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
	let status = wait_within(&mut child, deadline, what);
	// A grandchild that kept the pipes open must not hang us either.
	let join = |h: std::thread::JoinHandle<Vec<u8>>| {
		let end = Instant::now() + Duration::from_secs(10);
		while !h.is_finished() {
			assert!(Instant::now() < end, "{what}: its output pipes stayed open after it exited");
			std::thread::sleep(Duration::from_millis(20));
		}
		h.join().unwrap()
	};
	std::process::Output { status, stdout: join(out), stderr: join(err) }
}

/// `Command::output()` with a deadline (see [`wait_within`]).
pub fn run_within(cmd: &mut Command, deadline: Duration, what: &str) -> std::io::Result<std::process::Output> {
	let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
	Ok(output_within(child, deadline, what))
}

/// strace (`-f -y -e trace=EXPR`) attached to every thread of `pid`,
/// writing to `out`; returns once it says it is attached, so what follows
/// is traced. Kill it when done.
pub fn strace(pid: u32, expr: &str, out: &std::path::Path) -> Child {
	let mut strace = Command::new("strace")
		.args(["-f", "-y", "-e", &format!("trace={expr}"), "-o"])
		.arg(out)
		.args(["-p", &pid.to_string()])
		.stderr(Stdio::piped())
		.spawn()
		.expect("strace (tests/setup installs it)");
	let mut attached = String::new();
	let mut err = BufReader::new(strace.stderr.take().unwrap());
	while !attached.contains(&format!("Process {pid} attached")) {
		assert!(err.read_line(&mut attached).unwrap() > 0, "strace: {attached}");
	}
	std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
	strace
}
