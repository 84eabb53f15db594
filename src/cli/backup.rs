//! `xerra backup create|key|verify|restore`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use crate::admin::Command;
use crate::backup::{BackupError, Manifest, Secret};

pub(super) const HELP: &str = "\
Usage: xerra backup create [FILE|DIR] [--passphrase-file F]
       xerra backup key
       xerra backup verify FILE [--key-file F]
       xerra backup restore FILE [--key-file F] [--force]

A backup is one file holding everything the box needs to come back the same:
the database (accounts, rosters, vCards, offline messages, archives, rooms,
departments, invitations, settings), the uploaded files, and the box's
certificate authority with its keys, so clients reconnect without noticing.
It is compressed and encrypted with age (https://age-encryption.org).

create   writes a backup while the server runs (a consistent snapshot) or
         while it is stopped. FILE, or a dated file in DIR (default: the
         current directory). It is encrypted to the recovery key if one is
         set, else with the passphrase in F (first line), else with one typed
         twice at a terminal. Refused, with nothing written, if it would
         leave less than backup_reserve_bytes free.
key      makes a recovery key and shows it once: print it or write it down
         and keep it away from the box. The box keeps only its public half
         (the setting backup_recipient), so backups need no passphrase and
         only the key's holder can open them. A new key replaces the old one
         for backups made from then on.
verify   decrypts FILE and checks every part of it without restoring.
restore  puts FILE in place of this box's data, all or nothing. The server
         must be stopped; a box that already has accounts is replaced only
         with --force. Start the server afterwards.

The key or passphrase is read from F (--key-file), else asked at a terminal.
";

pub(super) fn command(data_dir: &Path, args: &[String]) -> Result<(), String> {
	let (flags, words) = parse(args)?;
	let flag = |name: &str| flags.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
	match words.first().map(String::as_str) {
		Some("create") if words.len() <= 2 => create(data_dir, words.get(1).map(String::as_str).unwrap_or("."), flag("--passphrase-file")),
		Some("key") if words.len() == 1 => key(data_dir),
		Some("verify") if words.len() == 2 => {
			let secret = secret(flag("--key-file"))?;
			let file = PathBuf::from(&words[1]);
			let m = crate::backup::verify(&file, &secret).map_err(|e| fail(&file, &e))?;
			println!("{}: a good backup. {}", file.display(), summary(&m));
			Ok(())
		}
		Some("restore") if words.len() == 2 => {
			if crate::control::request(data_dir, &Command::Status).is_some() {
				return Err(BackupError::ServerRunning.to_string());
			}
			let secret = secret(flag("--key-file"))?;
			let file = PathBuf::from(&words[1]);
			let force = flags.iter().any(|(n, _)| n == "--force");
			let m = crate::backup::restore(&file, &secret, data_dir, force).map_err(|e| fail(&file, &e))?;
			println!("restored into {}: {}", data_dir.display(), summary(&m));
			println!("Start the server (systemctl start xerra, or xerra run).");
			Ok(())
		}
		_ => Err("usage: xerra backup create [FILE|DIR] | key | verify FILE | restore FILE; see `xerra backup --help`".into()),
	}
}

/// (option, value) pairs.
type Flags = Vec<(String, String)>;

/// Options with a value, `--force`, and the words.
fn parse(args: &[String]) -> Result<(Flags, Vec<String>), String> {
	let (mut flags, mut words) = (Vec::new(), Vec::new());
	let mut it = args.iter();
	while let Some(a) = it.next() {
		match a.as_str() {
			"--passphrase-file" | "--key-file" => flags.push((a.clone(), it.next().ok_or_else(|| format!("{a} needs a file"))?.clone())),
			"--force" => flags.push((a.clone(), String::new())),
			o if o.starts_with("--") => return Err(format!("unknown option {o:?} for backup")),
			_ => words.push(a.clone()),
		}
	}
	Ok((flags, words))
}

fn fail(file: &Path, e: &BackupError) -> String {
	match e {
		BackupError::Io { .. } | BackupError::NotEmpty { .. } | BackupError::ServerRunning | BackupError::NoKey => e.to_string(),
		_ => format!("{}: {e}", file.display()),
	}
}

fn read_first_line(path: &str) -> Result<String, String> {
	let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
	Ok(text.lines().next().unwrap_or("").to_owned())
}

fn create(data_dir: &Path, dest: &str, passphrase_file: Option<String>) -> Result<(), String> {
	let dest = std::path::absolute(dest).map_err(|e| format!("{dest}: {e}"))?;
	let dest = dest.to_str().ok_or("the destination's path is not UTF-8")?.to_owned();
	let passphrase = passphrase_file.as_deref().map(read_first_line).transpose()?;
	if passphrase.as_deref() == Some("") {
		return Err("the passphrase file's first line is empty".into());
	}
	let given = passphrase.is_some();
	match super::admin_text(data_dir, Command::BackupCreate { dest: dest.clone(), passphrase }) {
		Err(e) if !given && e == BackupError::NoKey.to_string() && std::io::stdin().is_terminal() => {
			println!("No recovery key is set (`xerra backup key` makes one); encrypting with a passphrase.");
			let passphrase = super::password("the backup", false, true).map_err(|e| e.replace("--password-stdin", "--passphrase-file"))?;
			if passphrase.is_empty() {
				return Err("the passphrase is empty".into());
			}
			println!("{}", super::admin_text(data_dir, Command::BackupCreate { dest, passphrase: Some(passphrase) })?);
			Ok(())
		}
		r => {
			println!("{}", r?);
			Ok(())
		}
	}
}

fn key(data_dir: &Path) -> Result<(), String> {
	let key = crate::backup::generate_key();
	// Stored before it is shown: a key shown but not in use would mislead.
	super::admin_text(data_dir, Command::ConfigSet { name: crate::backup::RECIPIENT_SETTING.into(), value: key.recipient.clone() })?;
	println!(
		"\
This box's backup recovery key (shown once; the box does not keep it):

    {}

Print this page or write the key down, and keep it away from the box.
Backups made from now on are encrypted to it: `xerra backup restore FILE`
or the first-boot wizard asks for it. Without it they cannot be opened.
Backups made before still need the key or passphrase they were made with.

(Its public half, stored as backup_recipient: {})",
		key.secret, key.recipient
	);
	Ok(())
}

/// The key or passphrase: from a file, else asked at a terminal.
fn secret(key_file: Option<String>) -> Result<Secret, String> {
	if let Some(f) = key_file {
		let text = std::fs::read_to_string(&f).map_err(|e| format!("{f}: {e}"))?;
		return Ok(Secret::parse(&text));
	}
	if !std::io::stdin().is_terminal() {
		return Err("give the recovery key or passphrase with --key-file FILE".into());
	}
	let _quiet = crate::setup::serial::EchoOff::stdin();
	let typed = rpassword::prompt_password("Recovery key or passphrase: ").map_err(|e| format!("reading the key: {e}"))?;
	Ok(Secret::parse(&typed))
}

fn summary(m: &Manifest) -> String {
	let h = &m.header;
	let c = &h.counts;
	let when = time::OffsetDateTime::from_unix_timestamp(i64::try_from(h.created).unwrap_or(0))
		.ok()
		.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
		.unwrap_or_default();
	let bytes: u64 = m.entries.iter().map(|(_, b, _)| b).sum();
	format!(
		"{} made {when} by xerra {}: {} accounts, {} rooms, {} groups, {} archived messages, {} offline messages, {} uploads; {} files, {} unpacked",
		h.domain,
		h.version,
		c.accounts,
		c.rooms,
		c.groups,
		c.archived,
		c.offline,
		c.uploads,
		m.entries.len(),
		crate::store::mib(bytes)
	)
}
