//! Settings: what one account may keep: offline messages, roster, PEP,
//! archives, rooms, uploads, invitations, devices.

use super::*;

pub(super) static SETTINGS: &[Setting] = &[
	Setting {
		name: "max_resources_per_account",
		default: "16",
		doc: "sessions one account may have at once",
		apply: |c, v| {
			c.limits.max_resources_per_account = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_offline_messages",
		default: "1000",
		doc: "messages stored for one offline account (XEP-0160)",
		apply: |c, v| {
			c.limits.max_offline_messages = num(v, 0, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_offline_bytes",
		default: "8388608",
		doc: "bytes of messages stored for one offline account; beyond it the sender gets service-unavailable, as past max_offline_messages",
		apply: |c, v| {
			c.limits.max_offline_bytes = num(v, 1024, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pending_subscriptions",
		default: "100",
		doc: "subscription requests (RFC 6121 §3.1) waiting for one account's answer; one more is refused with resource-constraint",
		apply: |c, v| {
			c.limits.max_pending_subscriptions = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_subscription_status_bytes",
		default: "1024",
		doc: "longest <status/> text of a subscription request; a longer one is cut to this (on a character boundary), delivered and kept so",
		apply: |c, v| {
			c.limits.max_subscription_status_bytes = num(v, 0, 65536)?;
			Ok(())
		},
	},
	Setting {
		name: "max_roster_items",
		default: "2000",
		doc: "contacts in one roster",
		apply: |c, v| {
			c.limits.max_roster_items = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_private_bytes",
		default: "65536",
		doc: "private XML storage (XEP-0049) per account; beyond it a set gets resource-constraint",
		apply: |c, v| {
			c.limits.max_private_bytes = num(v, 0, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "max_vcard_bytes",
		default: "131072",
		doc: "largest vCard (XEP-0054, photo included) an account may store; larger gets not-acceptable",
		apply: |c, v| {
			c.limits.max_vcard_bytes = num(v, 1024, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_nodes",
		default: "64",
		doc: "PEP nodes (XEP-0163) per account; publishing to one more gets resource-constraint",
		apply: |c, v| {
			c.limits.max_pep_nodes = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_items",
		default: "256",
		doc: "items kept per PEP node at most (what a node's max_items \"max\" means); older ones are dropped",
		apply: |c, v| {
			c.limits.max_pep_items = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_bytes",
		default: "1048576",
		doc: "all PEP items of one account (avatars, OMEMO keys, bookmarks); beyond it a publish gets resource-constraint",
		apply: |c, v| {
			c.limits.max_pep_bytes = num(v, 1024, 1 << 34)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_subscriptions",
		default: "256",
		doc: "explicit subscriptions to PEP nodes (XEP-0060 §6.1) one account may hold; one more gets policy-violation",
		apply: |c, v| {
			c.limits.max_pep_subscriptions = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_blocklist_items",
		default: "1000",
		doc: "JIDs one account may block (XEP-0191); more gets resource-constraint",
		apply: |c, v| {
			c.limits.max_blocklist_items = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_push_registrations",
		default: "8",
		doc: "push notification services (XEP-0357) one account may register, one per phone app",
		apply: |c, v| {
			c.limits.max_push_registrations = num(v, 0, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_archive_messages",
		default: "20000",
		doc: "messages kept in one account's archive (XEP-0313); the oldest go first",
		apply: |c, v| {
			c.limits.max_archive_messages = num(v, 1, 100_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_archive_bytes",
		default: "67108864",
		doc: "bytes kept in one account's (or room's) archive (XEP-0313); the oldest go first",
		apply: |c, v| {
			c.limits.max_archive_bytes = num(v, 1 << 20, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "mam_retention_days",
		default: "365",
		doc: "archived messages older than this are deleted (checked daily); 0 keeps them",
		apply: |c, v| {
			c.limits.mam_retention_days = num(v, 0, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_max_rooms",
		default: "1000",
		doc: "rooms on the service (XEP-0045); joining a new one beyond it gets not-allowed",
		apply: |c, v| {
			c.limits.muc_max_rooms = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_max_rooms_per_account",
		default: "20",
		doc: "rooms one account may make and own at once (XEP-0045); making one more gets not-allowed",
		apply: |c, v| {
			c.limits.muc_max_rooms_per_account = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_max_occupants",
		default: "200",
		doc: "the most occupants a room may allow (its maxusers is capped to it); joining a full room gets service-unavailable",
		apply: |c, v| {
			c.limits.muc_max_occupants = num(v, 2, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_max_sessions_per_occupant",
		default: "8",
		doc: "sessions (devices) one account may be in a room with under one nick (XEP-0045 §7.2.9); one more gets conflict",
		apply: |c, v| {
			c.limits.muc_max_sessions_per_occupant = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_history_messages",
		default: "20",
		doc: "recent room messages sent to someone who joins",
		apply: |c, v| {
			c.limits.muc_history_messages = num(v, 0, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_history_bytes",
		default: "262144",
		doc: "room history kept per room in bytes; the oldest messages go first",
		apply: |c, v| {
			c.limits.muc_history_bytes = num(v, 0, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_max_bytes",
		default: "104857600",
		doc: "largest file one HTTP upload (XEP-0363) may carry; a bigger slot request gets not-acceptable with file-too-large",
		apply: |c, v| {
			c.limits.upload_max_bytes = num(v, 1, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_quota_bytes",
		default: "1073741824",
		doc: "what one account's uploads may take on disk until they expire; beyond it a slot request gets resource-constraint",
		apply: |c, v| {
			c.limits.upload_quota_bytes = num(v, 1, 1 << 50)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_expiry_days",
		default: "30",
		doc: "uploaded files are deleted this many days later (checked at start and daily); 0 keeps them",
		apply: |c, v| {
			c.limits.upload_expiry_days = num(v, 0, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "fast_token_ttl",
		default: "1814400",
		doc: "seconds a FAST token (XEP-0484) lives from its issue (21 days, as Prosody); then the app logs in with its password again",
		apply: |c, v| {
			c.limits.fast_token_ttl = secs(v, 2, 31_536_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_devices_per_account",
		default: "20",
		doc: "devices (SASL2 user-agent ids) kept per account, each with at most two FAST tokens; a new one beyond drops the one seen longest ago",
		apply: |c, v| {
			c.limits.max_devices_per_account = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "invite_expiry_days",
		default: "7",
		doc: "days an invitation (XEP-0401) stays good; each is used once",
		apply: |c, v| {
			c.limits.invite_expiry_days = num(v, 1, 3650)?;
			Ok(())
		},
	},
	Setting {
		name: "max_invite_uses",
		default: "100",
		doc: "accounts one admin invitation may make (`xerra invite add --uses N`, the console); more is refused",
		apply: |c, v| {
			c.limits.max_invite_uses = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "reset_expiry_hours",
		default: "24",
		doc: "hours a password reset link (`xerra user reset`, the console) stays good; each is used once",
		apply: |c, v| {
			c.limits.reset_expiry_hours = num(v, 1, 720)?;
			Ok(())
		},
	},
	Setting {
		name: "max_reset_tokens",
		default: "100",
		doc: "open password reset links on the box (one per account; a new one replaces the older); one more is refused",
		apply: |c, v| {
			c.limits.max_reset_tokens = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_invites_per_account",
		default: "10",
		doc: "open invitations one account may have made from its app (XEP-0401 \"Invite someone\"); one more gets resource-constraint",
		apply: |c, v| {
			c.limits.max_invites_per_account = num(v, 0, 100_000)?;
			Ok(())
		},
	},
];
