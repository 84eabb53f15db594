//! mDNS/DNS-SD (RFC 6762/6763): the box answers for `NAME.local` and
//! announces its web page (`_http._tcp`) and, once set up, its client port
//! (`_xmpp-client._tcp`), so people find it on a LAN without any DNS setup.
//! The responder is the mdns-sd crate, which runs one thread of its own.

use mdns_sd::{ServiceDaemon, ServiceInfo};

use crate::config::Config;

pub struct Announcer {
	daemon: ServiceDaemon,
	host: String,
}

/// The mDNS host name: a `.local` chat domain (so addresses resolve by
/// themselves), else the `hostname` setting, else the system's host name.
pub fn host_name(config: &Config) -> String {
	if let Some(label) = config.domain.strip_suffix(".local").filter(|l| !l.is_empty() && !l.contains('.')) {
		return label.to_owned();
	}
	if !config.hostname.is_empty() {
		return config.hostname.clone();
	}
	let system = nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_default();
	let first = system.split('.').next().unwrap_or_default().to_ascii_lowercase();
	if first.is_empty() { "xerra".to_owned() } else { first }
}

impl Announcer {
	/// Starts the responder if the `mdns` setting is on.
	pub fn start(config: &Config) -> Option<Announcer> {
		if !config.mdns {
			return None;
		}
		let daemon = match ServiceDaemon::new() {
			Ok(d) => d,
			Err(e) => {
				log::warn!("mDNS off: {e}");
				return None;
			}
		};
		// Announcing on loopback would only confuse browsers on this host.
		let _ = daemon.disable_interface(mdns_sd::IfKind::LoopbackV4);
		let _ = daemon.disable_interface(mdns_sd::IfKind::LoopbackV6);
		Some(Announcer { daemon, host: host_name(config) })
	}

	pub fn host(&self) -> &str {
		&self.host
	}

	/// Announces (or re-announces) a service on this host.
	pub fn announce(&self, service: &str, instance: &str, port: u16, txt: &[(&str, &str)]) {
		let host = format!("{}.local.", self.host);
		let info = ServiceInfo::new(service, instance, &host, "", port, txt).map(ServiceInfo::enable_addr_auto);
		match info.and_then(|i| self.daemon.register(i)) {
			Ok(()) => log::info!("mDNS: {instance} {service} on {host} port {port}"),
			Err(e) => log::warn!("mDNS: cannot announce {service}: {e}"),
		}
	}

	/// Says goodbye on the LAN (RFC 6762 §10.1) before the process ends.
	pub fn stop(self) {
		if let Ok(done) = self.daemon.shutdown() {
			let _ = done.recv_timeout(std::time::Duration::from_secs(1));
		}
	}
}
