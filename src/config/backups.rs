//! Settings: backups, free disk space, moving accounts in.

use super::*;

pub(super) static SETTINGS: &[Setting] = &[
	Setting {
		name: "import_max_account_bytes",
		default: "67108864",
		doc: "bytes of one account (or of the rooms) in a file given to `xerra import`; a larger one is skipped and reported",
		apply: |c, v| {
			c.limits.import_max_account_bytes = num(v, 1 << 16, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "disk_free_warning_bytes",
		default: "104857600",
		doc: "free space on the data directory's file system below which the log warns and `xerra status` says low",
		apply: |c, v| {
			c.limits.disk_free_warning_bytes = num(v, 0, 1 << 60)?;
			Ok(())
		},
	},
	Setting {
		name: "backup_reserve_bytes",
		default: "67108864",
		doc: "free space a backup must leave on its destination's file system (estimated first); less: the backup is refused, nothing written",
		apply: |c, v| {
			c.limits.backup_reserve_bytes = num(v, 0, 1 << 60)?;
			Ok(())
		},
	},
	Setting {
		name: "backup_recipient",
		default: "",
		doc: "the recovery key's public half (age1...), set by `xerra backup key`; backups are encrypted to it; empty = ask for a passphrase",
		apply: |c, v| {
			let v = v.trim();
			if !v.is_empty() && !crate::backup::valid_recipient(v) {
				return Err("not a recovery key's public half (age1...); `xerra backup key` makes one".into());
			}
			c.backup_recipient = v.to_owned();
			Ok(())
		},
	},
	Setting {
		name: "backup_dir",
		default: "",
		doc: "folder for scheduled backups (a USB stick's mount point, say); empty = DATA_DIR/backups, on the same card as the data: copy them off the box too",
		apply: |c, v| {
			c.backup_dir = path(v);
			Ok(())
		},
	},
	Setting {
		name: "backup_time",
		default: "03:30",
		doc: "when the daily backup is made, HH:MM local time, or off; it is encrypted to the recovery key and skipped (with a warning) while there is none; missed while the box was off: made at the next start",
		apply: |c, v| {
			c.backup_time = daily_time(v)?;
			Ok(())
		},
	},
	Setting {
		name: "backup_keep",
		default: "7",
		doc: "scheduled backups kept in backup_dir; after a new one succeeds the oldest beyond this many are deleted (never before, and never other files)",
		apply: |c, v| {
			c.backup_keep = num(v, 1, 1000)?;
			Ok(())
		},
	},
];
