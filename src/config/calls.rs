//! Settings: calls: STUN/TURN (XEP-0215) and the box's coturn
//! (`features::turn`, `features::coturn`).

use super::*;

pub(super) static SETTINGS: &[Setting] = &[
	Setting {
		name: "turn",
		default: "off",
		doc: "STUN/TURN for calls (XEP-0215): off; local = the box's coturn, run from the file at turn_config; external = another server sharing turn_secret",
		apply: |c, v| {
			c.turn.mode = crate::features::turn::parse_mode(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_host",
		default: "",
		doc: "the host name or IP address clients are told to use for STUN/TURN; empty = the chat domain",
		apply: |c, v| {
			let v = v.trim();
			if v.chars().any(|ch| ch.is_whitespace() || ch == '/' || ch == '\\') {
				return Err("a host name or IP address".into());
			}
			c.turn.host = v.to_owned();
			Ok(())
		},
	},
	Setting {
		name: "turn_port",
		default: "3478",
		doc: "the STUN/TURN port, UDP and TCP",
		apply: |c, v| {
			c.turn.port = num(v, 1, 65535)?;
			Ok(())
		},
	},
	Setting {
		name: "turns_port",
		default: "0",
		doc: "TURN over TLS port (coturn uses the server's certificate); 0 = none",
		apply: |c, v| {
			let p: u16 = num(v, 0, 65535)?;
			c.turn.tls_port = (p != 0).then_some(p);
			Ok(())
		},
	},
	Setting {
		name: "turn_secret",
		default: "",
		doc: "secret shared with the TURN server (coturn's static-auth-secret); empty with turn=local = generated at start and stored here; never logged",
		apply: |c, v| {
			c.turn.secret = crate::features::turn::parse_secret(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_credential_ttl",
		default: "86400",
		doc: "seconds a TURN credential handed out is valid; past it the TURN server refuses it (401)",
		apply: |c, v| {
			c.turn.credential_ttl = secs(v, 1, 30 * 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_relay_ports",
		default: "49152-65535",
		doc: "UDP ports the TURN server relays calls on, MIN-MAX (coturn's min-port/max-port); a call needs one per party",
		apply: |c, v| {
			c.turn.relay_ports = crate::features::turn::parse_range(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_external_ip",
		default: "",
		doc: "the box's public address when behind NAT, PUBLIC or PUBLIC/PRIVATE (coturn's external-ip); empty = none",
		apply: |c, v| {
			c.turn.external_ip = crate::features::turn::parse_external_ip(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_listen",
		default: "",
		doc: "comma-separated addresses the box's coturn listens on (listening-ip); empty = all",
		apply: |c, v| {
			c.turn.listen = addrs(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_config",
		default: "",
		doc: "where the server writes coturn's configuration when turn=local (0600); empty = DATA_DIR/turnserver.conf",
		apply: |c, v| {
			c.turn.config_file = path(v);
			Ok(())
		},
	},
];
