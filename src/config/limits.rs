//! Settings: what a connection or a peer may make the server hold, and for how
//! long: stanza and memory budgets, connection counts, queues, timeouts, login
//! throttling, the web ports.

use super::*;

pub(super) static SETTINGS: &[Setting] = &[
	Setting {
		name: "max_stanza_bytes",
		default: "262144",
		doc: "largest stanza accepted; larger ones end the stream with policy-violation",
		apply: |c, v| {
			c.limits.max_stanza_bytes = num(v, 10_000, 16 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "max_depth",
		default: "32",
		doc: "deepest element nesting inside a stanza",
		apply: |c, v| {
			c.limits.max_depth = num(v, 4, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_attrs",
		default: "64",
		doc: "most attributes on one element",
		apply: |c, v| {
			c.limits.max_attrs = num(v, 8, 10_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_stanza_elements",
		default: "2048",
		doc: "most elements in one stanza (64 before login); more ends the stream with policy-violation",
		apply: |c, v| {
			c.limits.max_stanza_elements = num(v, 16, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_presence_bytes",
		default: "16384",
		doc: "largest presence stanza (it is kept per session and per room, and copied to every contact); larger gets policy-violation",
		apply: |c, v| {
			c.limits.max_presence_bytes = num(v, 1024, 16 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "max_memory_bytes",
		default: "auto",
		doc: "memory for stanzas being read, queued, unacknowledged or kept as room history, all together; auto = RAM/16 between 16 and 64 MiB",
		apply: |c, v| {
			c.limits.max_memory_bytes = if v.trim() == "auto" { crate::mem::default_limit() } else { num(v, 4 << 20, 1 << 40)? };
			Ok(())
		},
	},
	Setting {
		name: "max_connections",
		default: "20000",
		doc: "open client connections (c2s and WebSocket) in total; more are refused (policy-violation); peers and components have totals of their own",
		apply: |c, v| {
			c.limits.max_connections = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_connections_per_ip",
		default: "100",
		doc: "open client connections from one IPv4 address or IPv6 /64",
		apply: |c, v| {
			c.limits.max_connections_per_ip = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_max_connections",
		default: "500",
		doc: "open connections from other servers (federation) in total, apart from clients'; more are refused (policy-violation)",
		apply: |c, v| {
			c.limits.s2s_max_connections = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_max_connections_per_ip",
		default: "20",
		doc: "open connections from other servers at one IPv4 address or IPv6 /64",
		apply: |c, v| {
			c.limits.s2s_max_connections_per_ip = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "component_max_connections",
		default: "64",
		doc: "open connections to the component port (XEP-0114, loopback only), apart from clients'; more are refused (policy-violation)",
		apply: |c, v| {
			c.limits.component_max_connections = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "caps_cache_entries",
		default: "512",
		doc: "client feature sets (XEP-0115 caps) remembered; beyond it the oldest is forgotten and asked again",
		apply: |c, v| {
			c.limits.caps_cache_entries = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "mam_max_page",
		default: "100",
		doc: "most archived messages in one answer (XEP-0059 max); clients page for more",
		apply: |c, v| {
			c.limits.mam_max_page = num(v, 1, 10_000)?;
			Ok(())
		},
	},
	Setting {
		name: "mam_max_page_bytes",
		default: "262144",
		doc: "archived XML in one answer to an archive query (one message at least); a page is cut short there and marked incomplete",
		apply: |c, v| {
			c.limits.mam_max_page_bytes = num(v, 4096, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_slot_timeout",
		default: "300",
		doc: "seconds a client has to PUT a file after it got an upload slot",
		apply: |c, v| {
			c.limits.upload_slot_timeout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "session_queue_len",
		default: "512",
		doc: "stanzas queued for one slow client before it is disconnected",
		apply: |c, v| {
			c.limits.session_queue_len = num(v, 8, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "session_queue_bytes",
		default: "1048576",
		doc: "bytes queued for a client that does not read fast enough; beyond it the session ends and what waited goes to offline storage",
		apply: |c, v| {
			c.limits.session_queue_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_retries_per_connection",
		default: "3",
		doc: "failed SASL attempts before the stream is closed (RFC 6120 §6.4.5)",
		apply: |c, v| {
			c.limits.auth_retries_per_connection = num(v, 2, 5)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_failures_per_ip",
		default: "20",
		doc: "failed logins (and other SASL failures) from one IPv4 address or IPv6 /64 per window before logins from it are refused",
		apply: |c, v| {
			c.limits.auth_failures_per_ip = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_failures_per_account",
		default: "5",
		doc: "failed logins for one account from one address (IPv6 /64) before each further attempt from there waits auth_backoff, doubling",
		apply: |c, v| {
			c.limits.auth_failures_per_account = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_failure_window",
		default: "300",
		doc: "seconds a failed login counts against the address; also the longest backoff, and the quiet time that takes one failure off an account",
		apply: |c, v| {
			c.limits.auth_failure_window = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_backoff",
		default: "2",
		doc: "seconds the first attempt beyond auth_failures_per_account waits; twice as long after each further failure, up to auth_failure_window",
		apply: |c, v| {
			c.limits.auth_backoff = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "negotiation_timeout",
		default: "60",
		doc: "seconds a new connection has to authenticate and bind",
		apply: |c, v| {
			c.limits.negotiation_timeout = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "sm_resume_timeout",
		default: "300",
		doc: "seconds a lost stream-managed session waits for its client to resume (XEP-0198); then unacknowledged messages go to offline storage",
		apply: |c, v| {
			c.limits.sm_resume_timeout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "sm_max_unacked",
		default: "2000",
		doc: "stanzas a stream-managed client has not acknowledged, or that wait while it is away; beyond it the stream ends (policy-violation) or the waiting session ends",
		apply: |c, v| {
			c.limits.sm_max_unacked = num(v, 16, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "sm_max_unacked_bytes",
		default: "2097152",
		doc: "bytes of stanzas a stream-managed client has not acknowledged (or that wait while it is away); beyond it the stream ends, nothing is lost",
		apply: |c, v| {
			c.limits.sm_max_unacked_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "csi_max_held",
		default: "100",
		doc: "presence updates, chat states and PEP events kept back for an inactive client (XEP-0352); at the limit they all go",
		apply: |c, v| {
			c.limits.csi_max_held = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "csi_max_held_bytes",
		default: "262144",
		doc: "bytes kept back for an inactive client (XEP-0352); at the limit they all go",
		apply: |c, v| {
			c.limits.csi_max_held_bytes = num(v, 1024, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "idle_timeout",
		default: "900",
		doc: "seconds without any data from a client before connection-timeout (and both ways on a proxy stream before it is closed)",
		apply: |c, v| {
			c.limits.idle_timeout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "keepalive_interval",
		default: "60",
		doc: "seconds of silence after which the server sends a whitespace keepalive",
		apply: |c, v| {
			c.limits.keepalive_interval = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_max_connections",
		default: "64",
		doc: "connections to the proxy at once (a transfer takes two); more are closed at once",
		apply: |c, v| {
			c.limits.proxy_max_connections = num(v, 2, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_max_connections_per_ip",
		default: "16",
		doc: "connections to the proxy at once from one address (IPv6: one /64); more are closed at once",
		apply: |c, v| {
			c.limits.proxy_max_connections_per_ip = num(v, 2, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_timeout",
		default: "60",
		doc: "seconds from connecting to the proxy until the transfer is started; then the connection is closed",
		apply: |c, v| {
			c.limits.proxy_timeout = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_queue_len",
		default: "1000",
		doc: "most stanzas waiting for one other server (while connecting, or when it is slow); beyond it senders get remote-server-timeout",
		apply: |c, v| {
			c.limits.s2s_queue_len = num(v, 8, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_queue_bytes",
		default: "1048576",
		doc: "bytes waiting for one other server; beyond it senders get remote-server-timeout",
		apply: |c, v| {
			c.limits.s2s_queue_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "component_queue_len",
		default: "10000",
		doc: "most stanzas waiting for one external component; one that does not keep up is disconnected",
		apply: |c, v| {
			c.limits.component_queue_len = num(v, 8, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "component_queue_bytes",
		default: "4194304",
		doc: "bytes queued for one component; beyond it the component is disconnected and senders get remote-server-timeout",
		apply: |c, v| {
			c.limits.component_queue_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "setup_code_failures",
		default: "5",
		doc: "wrong setup codes from one address on the web wizard before it refuses that address for setup_lockout (other addresses go on; wrong codes overall are answered one per second)",
		apply: |c, v| {
			c.limits.setup_code_failures = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "setup_restore_max_bytes",
		default: "4294967296",
		doc: "largest backup file the web wizard's \"Restore from a backup\" takes (streamed to the data directory, never held in memory); larger: 413 before it is read",
		apply: |c, v| {
			c.limits.setup_restore_max_bytes = num(v, 1 << 20, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "setup_lockout",
		default: "60",
		doc: "seconds the web wizard refuses codes from an address after setup_code_failures wrong ones from it",
		apply: |c, v| {
			c.limits.setup_lockout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "http_max_connections",
		default: "32",
		doc: "simultaneous connections to the web page, and to the HTTPS port (TLS handshakes, uploads, downloads; not WebSocket sessions once open); the web page answers more with 503, the HTTPS port closes them",
		apply: |c, v| {
			c.limits.http_max_connections = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "http_max_connections_per_ip",
		default: "8",
		doc: "of those, from one address (IPv6: one /64); more are answered or closed as when all are taken",
		apply: |c, v| {
			c.limits.http_max_connections_per_ip = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "http_max_request_bytes",
		default: "16384",
		doc: "largest web request (headers and body); larger ones get 413/431",
		apply: |c, v| {
			c.limits.http_max_request_bytes = num(v, 1024, 1 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "http_timeout",
		default: "10",
		doc: "seconds a web client has from connecting to the end of its request head (TLS handshake included; the web page: and body), then 408; also the period of http_min_bytes_per_second",
		apply: |c, v| {
			c.limits.http_timeout = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "http_min_bytes_per_second",
		default: "4096",
		doc: "slowest upload or download body on the HTTPS port: one that moves less in any period of http_timeout is cut (an upload gets 408, its slot stays open)",
		apply: |c, v| {
			c.limits.http_min_bytes_per_second = num(v, 1, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "console_max_sessions",
		default: "16",
		doc: "web console logins kept at once (all admins together); one more logs out the one unused the longest",
		apply: |c, v| {
			c.limits.console_max_sessions = num(v, 1, 10_000)?;
			Ok(())
		},
	},
	Setting {
		name: "console_session_timeout",
		default: "3600",
		doc: "seconds a web console login lasts without being used; then the admin logs in again",
		apply: |c, v| {
			c.limits.console_session_timeout = secs(v, 60, 30 * 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "bosh_max_body_bytes",
		default: "327680",
		doc: "largest BOSH request body at /http-bind (its stanzas are held while it is read), and about the most a response carries; larger: 413",
		apply: |c, v| {
			c.limits.bosh_max_body_bytes = num(v, 4096, 16 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "bosh_max_wait",
		default: "60",
		doc: "seconds a BOSH request is held at most waiting for data (a client's larger wait is lowered to this); then it is answered empty",
		apply: |c, v| {
			c.limits.bosh_max_wait = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "bosh_max_hold",
		default: "1",
		doc: "BOSH requests held at once per session (a client's larger hold is lowered to this); one more and the oldest is answered at once",
		apply: |c, v| {
			c.limits.bosh_max_hold = num(v, 0, 2)?;
			Ok(())
		},
	},
	Setting {
		name: "bosh_inactivity",
		default: "60",
		doc: "seconds a BOSH session may go without a request held; then it ends (a stream-managed session waits to be resumed)",
		apply: |c, v| {
			c.limits.bosh_inactivity = secs(v, 1, 3600)?;
			Ok(())
		},
	},
];
