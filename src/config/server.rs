//! Settings: the box's identity, its ports and services: the domain, where it
//! listens, certificates, federation, components, the proxy, registration,
//! statistics, the web client.

use super::*;

pub(super) static SETTINGS: &[Setting] = &[
	Setting {
		name: "domain",
		default: "",
		doc: "the chat domain: user JIDs are name@domain; empty = not set up yet (the first-boot wizard runs)",
		apply: |c, v| {
			c.domain = if v.trim().is_empty() { String::new() } else { domain(v)? };
			Ok(())
		},
	},
	Setting {
		name: "listen",
		default: "0.0.0.0,::",
		doc: "comma-separated IP addresses to listen on (IPv4 and IPv6)",
		apply: |c, v| {
			c.listen = addrs(v)?;
			Ok(())
		},
	},
	Setting {
		name: "c2s_port",
		default: "5222",
		doc: "client port with STARTTLS (RFC 6120); off = none, 0 = any free port",
		apply: |c, v| {
			c.c2s_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "c2s_tls_port",
		default: "5223",
		doc: "client port with direct TLS (XEP-0368); off = none, 0 = any free port",
		apply: |c, v| {
			c.c2s_tls_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "tls_cert",
		default: "",
		doc: "PEM certificate chain; empty = one signed by the box's own CA, kept in the data directory",
		apply: |c, v| {
			c.tls_cert = path(v);
			Ok(())
		},
	},
	Setting {
		name: "tls_key",
		default: "",
		doc: "PEM private key for tls_cert",
		apply: |c, v| {
			c.tls_key = path(v);
			Ok(())
		},
	},
	Setting {
		name: "scram_iterations",
		default: "4096",
		doc: "PBKDF2 iterations for new passwords (RFC 7677 minimum 4096)",
		apply: |c, v| {
			c.scram_iterations = num(v, 4096, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "db_cache_bytes",
		default: "4194304",
		doc: "database page cache in bytes",
		apply: |c, v| {
			c.db_cache_bytes = num(v, 65536, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "http_port",
		default: "5280",
		doc: "web page port (first-boot wizard, CA download); off = none; `run --appliance` uses 80",
		apply: |c, v| {
			c.http_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_port",
		default: "5443",
		doc: "HTTPS port for file transfer (XEP-0363 HTTP upload), on the box's certificate; off = no file transfer",
		apply: |c, v| {
			c.upload_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_port",
		default: "7777",
		doc: "SOCKS5 bytestreams proxy (XEP-0065) for file transfers between clients that cannot reach each other; off = no proxy",
		apply: |c, v| {
			c.proxy_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_host",
		default: "",
		doc: "the host name or IP address clients are told to connect to for the proxy; empty = the chat domain",
		apply: |c, v| {
			let v = v.trim();
			if v.chars().any(|ch| ch.is_whitespace() || ch == '/' || ch == '\\') {
				return Err("a host name or IP address".into());
			}
			c.proxy_host = v.to_owned();
			Ok(())
		},
	},
	Setting {
		name: "s2s_port",
		default: "5269",
		doc: "server-to-server port (federation with other XMPP servers, RFC 6120); off = no federation at all",
		apply: |c, v| {
			c.s2s_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_hosts",
		default: "",
		doc: "where other servers listen when DNS does not say (a LAN): domain=host:port entries, comma-separated",
		apply: |c, v| {
			c.s2s_hosts = crate::net::dns::parse_static(v)?;
			Ok(())
		},
	},
	Setting {
		name: "component_port",
		default: "5347",
		doc: "port for external components (XEP-0114; `xerra component add`), on 127.0.0.1 and ::1 only; off = none",
		apply: |c, v| {
			c.component_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "registration",
		default: "invite",
		doc: "in-band registration (XEP-0077): off, invite (only with an invitation, XEP-0401/0445) or open (anyone)",
		apply: |c, v| {
			c.registration = match v.trim() {
				"off" => Registration::Off,
				"invite" => Registration::Invite,
				"open" => Registration::Open,
				_ => return Err("must be off, invite or open".into()),
			};
			Ok(())
		},
	},
	Setting {
		name: "mam_default",
		default: "always",
		doc: "message history (XEP-0313) for accounts that chose nothing: always, roster (only with contacts) or never",
		apply: |c, v| {
			c.mam_default = crate::store::MamDefault::parse(v.trim()).ok_or("must be always, roster or never")?;
			Ok(())
		},
	},
	Setting {
		name: "mdns",
		default: "off",
		doc: "announce NAME.local and _xmpp-client._tcp on the LAN (mDNS/DNS-SD); `run --appliance` turns it on",
		apply: |c, v| {
			c.mdns = switch(v)?;
			Ok(())
		},
	},
	Setting {
		name: "hostname",
		default: "",
		doc: "host name announced over mDNS as NAME.local; empty = the system host name",
		apply: |c, v| {
			let v = v.trim();
			if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
				return Err("letters, digits and - only".into());
			}
			c.hostname = v.to_ascii_lowercase();
			Ok(())
		},
	},
	Setting {
		name: "banner_file",
		default: "",
		doc: "file that also gets the first-boot banner (URL, setup code, CA fingerprint), e.g. on the boot partition",
		apply: |c, v| {
			c.banner_file = path(v);
			Ok(())
		},
	},
	Setting {
		name: "contact_addresses",
		default: "",
		doc: "whom to ask about this server (XEP-0157), kind=URI entries, comma-separated, kinds admin, support, abuse, security, feedback, sales, status; the first-boot wizard sets admin, support and abuse to xmpp:ADMIN@DOMAIN",
		apply: |c, v| {
			c.contact_addresses = parse_contacts(v)?;
			Ok(())
		},
	},
	Setting {
		name: "statistics",
		default: "on",
		doc: "keep statistics: a point every 5 minutes (24 h at 5 min, 7 days hourly, 30 days at 6 h; one database write each) for the console's plots, and /metrics; off = neither (404)",
		apply: |c, v| {
			c.statistics = switch(v)?;
			Ok(())
		},
	},
	Setting {
		name: "metrics_allow",
		default: "",
		doc: "addresses besides loopback that may read OpenMetrics at /metrics on http_port: comma-separated CIDR blocks or addresses (10.0.0.0/8, fd00::/8, 192.168.1.5); others get 403",
		apply: |c, v| {
			c.metrics_allow = crate::stats::cidr::parse_list(v)?;
			Ok(())
		},
	},
	Setting {
		name: "web_client_dir",
		default: "/usr/share/xerra/chat",
		doc: "folder holding Converse.js's dist/ files, served with a page of ours at /chat/ on the HTTPS port; missing: /chat/ says the web client is not installed; empty = off (404)",
		apply: |c, v| {
			c.web_client_dir = path(v);
			Ok(())
		},
	},
];
