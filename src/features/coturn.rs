//! The box's own TURN server is Debian's coturn, configured from Xerra's
//! settings: with `turn = local` the server writes coturn's configuration
//! (the contract with the image: /work/wt/notes/CALLS.md, README "Calls").
//! [`render`] is sans-IO; [`write`] and [`remove`] block and run on a thread.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::turn::{Mode, TurnSettings};

/// Peers a relay may never reach: the box itself through loopback, "this
/// network", link-local, and IPv4-mapped IPv6 (no detour around the IPv4
/// rules). coturn 4.6 refuses loopback peers by default; the lines say so
/// again. Private LAN ranges stay allowed: the office's phones have such
/// addresses and a remote phone's relay must reach them.
const DENIED_PEERS: [&str; 6] = [
	"0.0.0.0-0.255.255.255",
	"127.0.0.0-127.255.255.255",
	"169.254.0.0-169.254.255.255",
	"::1",
	"fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"::ffff:0.0.0.0-::ffff:255.255.255.255",
];

/// What coturn's configuration is made of.
pub struct CoturnConf<'a> {
	pub domain: &'a str,
	pub turn: &'a TurnSettings,
	/// The certificate chain and key for TURN over TLS (the server's own).
	pub tls: Option<(&'a Path, &'a Path)>,
	/// The box's own addresses: a relay must not reach the box itself.
	pub own: &'a [IpAddr],
}

/// coturn's configuration file, one option a line.
pub fn render(c: &CoturnConf) -> String {
	let t = c.turn;
	let mut lines = vec![
		"# Written by Xerra from its settings (turn*); edits are overwritten.".to_owned(),
		format!("realm={}", c.domain),
		"use-auth-secret".to_owned(),
		format!("static-auth-secret={}", t.secret),
		format!("listening-port={}", t.port),
	];
	lines.extend(t.listen.iter().map(|ip| format!("listening-ip={ip}")));
	if !t.external_ip.is_empty() {
		lines.push(format!("external-ip={}", t.external_ip));
	}
	lines.push(format!("min-port={}", t.relay_ports.0));
	lines.push(format!("max-port={}", t.relay_ports.1));
	for opt in [
		"fingerprint",
		"no-cli",
		"no-multicast-peers",
		// Relays carry UDP only, so they cannot reach the box's TCP services.
		"no-tcp-relay",
		"no-rfc5780",
		"no-stun-backward-compatibility",
		"no-software-attribute",
		"stale-nonce=600",
	] {
		lines.push(opt.to_owned());
	}
	lines.extend(DENIED_PEERS.iter().map(|r| format!("denied-peer-ip={r}")));
	lines.extend(c.own.iter().filter(|ip| !ip.is_loopback()).map(|ip| format!("denied-peer-ip={ip}")));
	lines.push("syslog".to_owned());
	match (t.tls_port, c.tls) {
		(Some(port), Some((cert, key))) => {
			lines.push(format!("tls-listening-port={port}"));
			lines.push(format!("cert={}", cert.display()));
			lines.push(format!("pkey={}", key.display()));
		}
		_ => {
			lines.push("no-tls".to_owned());
			lines.push("no-dtls".to_owned());
		}
	}
	let mut out = lines.join("\n");
	out.push('\n');
	out
}

/// Where the configuration goes.
pub fn path(turn: &TurnSettings, data_dir: &Path) -> PathBuf {
	turn.config_file.clone().unwrap_or_else(|| data_dir.join("turnserver.conf"))
}

/// Puts `content` at `path` (mode 0600) if it differs from what is there:
/// a temporary file beside it, fsync, rename. Returns whether it changed.
/// Blocking.
pub fn write(path: &Path, content: &str) -> std::io::Result<bool> {
	use std::os::unix::fs::OpenOptionsExt as _;
	if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
		return Ok(false);
	}
	let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
	let name = path.file_name().ok_or_else(|| std::io::Error::other("turn_config names no file"))?;
	let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
	let _ = std::fs::remove_file(&tmp);
	let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
	f.write_all(content.as_bytes())?;
	f.sync_all()?;
	drop(f);
	std::fs::rename(&tmp, path)?;
	std::fs::File::open(dir)?.sync_all()?;
	Ok(true)
}

/// With `turn = local` and no secret yet: makes one (kept by [`apply`]).
pub fn ensure_secret(config: &mut crate::config::Config) -> Option<String> {
	if config.turn.mode != Mode::Local || !config.turn.secret.is_empty() {
		return None;
	}
	config.turn.secret = super::turn::new_secret();
	Some(config.turn.secret.clone())
}

/// At XMPP start: stores a generated secret, then writes coturn's
/// configuration (`turn = local`) or removes it (otherwise), on a thread.
pub async fn apply(server: std::rc::Rc<crate::server::Server>, generated: Option<String>) {
	if let Some(secret) = generated {
		// Stored before coturn can see it, so both always agree.
		if let Err(e) = server.store.write(move |tx| tx.set_setting("turn_secret", &secret)).await {
			log::error!("turn: cannot store the generated secret ({e}); the box's coturn is not configured");
			return;
		}
		log::info!("turn: generated a TURN secret (setting turn_secret)");
	}
	let config = server.config.clone();
	if config.turn.mode == Mode::External && config.turn.secret.is_empty() {
		log::warn!("turn = external without turn_secret: only STUN is offered, no TURN credentials");
	}
	refresh(config).await;
}

/// Writes coturn's configuration (`turn = local`) or removes it
/// (otherwise), on a thread; again from housekeeping, so a new address of
/// the box (DHCP) is denied to relays too. The file changes only when its
/// content does.
pub async fn refresh(config: crate::config::Config) {
	let result = blocking::unblock(move || {
		let file = path(&config.turn, &config.data_dir);
		if config.turn.mode != Mode::Local {
			return remove(&file).map(|gone| (file, gone, "removed"));
		}
		let paths = match config.turn.tls_port {
			Some(_) => Some(crate::net::tls::cert_paths(&config).map_err(|e| std::io::Error::other(e.to_string()))?),
			None => None,
		};
		let tls = paths.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
		let own = own_addresses();
		let content = render(&CoturnConf { domain: &config.domain, turn: &config.turn, tls, own: &own });
		write(&file, &content).map(|changed| (file, changed, "written"))
	})
	.await;
	match result {
		Ok((file, true, what)) => log::info!("turn: coturn's configuration {what}: {}", file.display()),
		Ok(_) => {}
		Err(e) => log::error!("turn: coturn's configuration: {e}"),
	}
}

/// Every address of the box's interfaces (blocking: asks the kernel).
fn own_addresses() -> Vec<IpAddr> {
	let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
	let mut out: Vec<IpAddr> = addrs
		.filter_map(|a| a.address)
		.filter_map(|s| s.as_sockaddr_in().map(|v4| IpAddr::V4(v4.ip())).or_else(|| s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))))
		.collect();
	out.sort();
	out.dedup();
	out
}

/// Removes the file when the box's coturn is not wanted. Blocking.
pub fn remove(path: &Path) -> std::io::Result<bool> {
	match std::fs::remove_file(path) {
		Ok(()) => Ok(true),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
		Err(e) => Err(e),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn settings() -> TurnSettings {
		TurnSettings { mode: Mode::Local, secret: "0123456789abcdef0123456789abcdef".into(), ..TurnSettings::default() }
	}

	#[test]
	fn renders_what_the_image_relies_on() {
		let t = settings();
		let own: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "192.168.1.20".parse().unwrap(), "fd00::20".parse().unwrap()];
		let out = render(&CoturnConf { domain: "office.lan", turn: &t, tls: None, own: &own });
		let lines: Vec<&str> = out.lines().collect();
		assert!(lines[0].starts_with('#'));
		for want in [
			"realm=office.lan",
			"use-auth-secret",
			"static-auth-secret=0123456789abcdef0123456789abcdef",
			"listening-port=3478",
			"min-port=49152",
			"max-port=65535",
			"fingerprint",
			"no-cli",
			"no-multicast-peers",
			"no-tcp-relay",
			"denied-peer-ip=127.0.0.0-127.255.255.255",
			"denied-peer-ip=::1",
			// The box itself, on the LAN.
			"denied-peer-ip=192.168.1.20",
			"denied-peer-ip=fd00::20",
			"no-tls",
			"no-dtls",
		] {
			assert!(lines.contains(&want), "{want} missing in\n{out}");
		}
		assert!(!out.contains("listening-ip") && !out.contains("external-ip") && !out.contains("allow-loopback"));
		assert!(!out.contains("10.0.0.0") && !out.contains("192.168.0.0"), "LAN phones must stay reachable");
		assert!(!lines.contains(&"denied-peer-ip=127.0.0.1"), "loopback is denied whole already");
		assert!(out.ends_with('\n'));
	}

	#[test]
	fn optional_lines_follow_the_settings() {
		let mut t = settings();
		t.listen = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
		t.external_ip = "203.0.113.5/192.168.1.2".into();
		t.relay_ports = (50000, 50099);
		t.port = 3479;
		t.tls_port = Some(5349);
		let (cert, key) = (Path::new("/var/lib/xerra/tls/office.lan.crt"), Path::new("/var/lib/xerra/tls/office.lan.key"));
		let out = render(&CoturnConf { domain: "office.lan", turn: &t, tls: Some((cert, key)), own: &[] });
		let lines: Vec<&str> = out.lines().collect();
		for want in [
			"listening-ip=127.0.0.1",
			"listening-ip=::1",
			"external-ip=203.0.113.5/192.168.1.2",
			"min-port=50000",
			"max-port=50099",
			"listening-port=3479",
			"tls-listening-port=5349",
			"cert=/var/lib/xerra/tls/office.lan.crt",
			"pkey=/var/lib/xerra/tls/office.lan.key",
		] {
			assert!(lines.contains(&want), "{want} missing in\n{out}");
		}
		assert!(!lines.contains(&"no-tls"));
		// Same settings, same bytes (the file is rewritten only on a change).
		assert_eq!(out, render(&CoturnConf { domain: "office.lan", turn: &t, tls: Some((cert, key)), own: &[] }));
	}

	#[test]
	fn written_0600_only_when_changed_and_removed() {
		use std::os::unix::fs::PermissionsExt as _;
		let dir = std::env::temp_dir().join(format!("xerra-coturn-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let p = dir.join("turnserver.conf");
		assert!(write(&p, "a\n").unwrap());
		assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
		assert!(!write(&p, "a\n").unwrap(), "same content: untouched");
		assert!(write(&p, "b\n").unwrap());
		assert_eq!(std::fs::read_to_string(&p).unwrap(), "b\n");
		assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
		assert!(remove(&p).unwrap());
		assert!(!remove(&p).unwrap());
		std::fs::remove_dir_all(&dir).unwrap();
	}
}
