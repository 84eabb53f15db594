//! `xerra export` and `xerra import`: XEP-0227 files (see `crate::migrate`).
//! Both need the server stopped: the database admits one process, and an
//! import must not race live sessions on the accounts it writes.

use std::path::Path;

use super::{DEFAULT_CACHE, load_config, open_store};
use crate::admin::Command;

pub const HELP: &str = "\
Usage: xerra export [--user NAME] [--accounts-only] [--ejabberd] FILE
       xerra import FILE

XEP-0227 files (Portable Import/Export): accounts with their SCRAM keys,
rosters and pending requests, vCards, private XML, offline messages, PEP,
archives; then the rooms and departments (Xerra's extension). The server
must be stopped. FILE `-` exports to standard output.

  --user NAME      one account only
  --accounts-only  no rooms and departments
  --ejabberd       for `ejabberdctl import_piefxis` (ejabberd 23.01)

import reads a file from Xerra, Prosody or ejabberd (`export_piefxis`; give
the main file), one account at a time; accounts that exist are skipped, never
merged. It prints what it imported and skipped, and fails if it skipped any.
";

fn refuse_if_running(data_dir: &Path, what: &str) -> Result<(), String> {
	if crate::control::request(data_dir, &Command::Status).is_some() {
		return Err(format!("the server is running; stop it for {what} (`systemctl stop xerra`), then start it again"));
	}
	Ok(())
}

/// `xerra export [--user NAME] [--accounts-only] [--ejabberd] FILE` (`-` = standard output).
pub fn export(data_dir: &Path, args: &[String]) -> Result<(), String> {
	const USAGE: &str = "usage: xerra export [--user NAME] [--accounts-only] [--ejabberd] FILE";
	let (mut user, mut accounts_only, mut ejabberd, mut file) = (None, false, false, None);
	let mut it = args.iter();
	while let Some(a) = it.next() {
		match a.as_str() {
			"--user" => {
				let name = it.next().ok_or(USAGE)?;
				user = Some(crate::xmpp::jid::prep_localpart(name).map_err(|e| format!("{name}: {e}"))?);
			}
			"--accounts-only" => accounts_only = true,
			// What ejabberd 23.01's import_piefxis takes: accounts only, its SCRAM encoding.
			"--ejabberd" => (accounts_only, ejabberd) = (true, true),
			f if file.is_none() && (f == "-" || !f.starts_with('-')) => file = Some(f.to_owned()),
			_ => return Err(USAGE.into()),
		}
	}
	let file = file.ok_or(USAGE)?;
	let file = file.as_str();
	let user = user.as_deref();
	let what = crate::migrate::Export { user, host_data: user.is_none() && !accounts_only, ejabberd };
	refuse_if_running(data_dir, "an export")?;
	let store = open_store(data_dir, DEFAULT_CACHE)?;
	let result = load_config(data_dir.to_owned(), &store, &[]).and_then(|config| {
		if file == "-" {
			let stdout = std::io::stdout();
			let mut out = std::io::BufWriter::new(stdout.lock());
			crate::migrate::export(&store, &config.domain, what, &mut out)
		} else {
			write_private(Path::new(file), |out| crate::migrate::export(&store, &config.domain, what, out))
		}
	});
	store.shutdown();
	let sum = result?;
	if file != "-" {
		println!("exported {} accounts, {} rooms, {} departments to {file}", sum.accounts, sum.rooms, sum.departments);
	}
	Ok(())
}

/// Writes `path` readable by its owner only (it holds every account's keys),
/// through a temporary file: a failed export leaves no half file.
fn write_private<T>(path: &Path, f: impl FnOnce(&mut dyn std::io::Write) -> Result<T, String>) -> Result<T, String> {
	use std::io::Write as _;
	use std::os::unix::fs::OpenOptionsExt as _;
	let tmp = path.with_extension("part");
	let file = std::fs::OpenOptions::new()
		.write(true)
		.create(true)
		.truncate(true)
		.mode(0o600)
		.open(&tmp)
		.map_err(|e| format!("{}: {e}", tmp.display()))?;
	let mut out = std::io::BufWriter::new(file);
	let result = f(&mut out).and_then(|v| {
		let file = out.into_inner().map_err(|e| e.to_string())?;
		file.sync_all().map_err(|e| e.to_string())?;
		Ok(v)
	});
	match result {
		Ok(v) => {
			std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
			Ok(v)
		}
		Err(e) => {
			let _ = std::fs::remove_file(&tmp);
			let _ = std::io::stderr().flush();
			Err(e)
		}
	}
}

/// `xerra import FILE`: prints the report; fails if anything was skipped.
pub fn import(data_dir: &Path, args: &[String]) -> Result<(), String> {
	if let [flag, dir] = args
		&& flag == "--prosody"
	{
		return import_prosody(data_dir, Path::new(dir));
	}
	let [file] = args else { return Err("usage: xerra import FILE | xerra import --prosody DIR".into()) };
	refuse_if_running(data_dir, "an import")?;
	if !Path::new(file).is_file() {
		return Err(format!("{file}: no such file"));
	}
	let store = open_store(data_dir, DEFAULT_CACHE)?;
	let result = load_config(data_dir.to_owned(), &store, &[]).map(|config| crate::migrate::import_file(&store, &config, Path::new(file)));
	store.shutdown();
	let report = result?;
	print!("{}", report.text());
	if report.skipped.is_empty() { Ok(()) } else { Err(format!("{} skipped (see above)", report.skipped.len())) }
}

/// `xerra import --prosody DIR`: a Prosody 0.12 data directory (its
/// internal file store), the host named like this server's domain and its
/// MUC subdomains. Prints the report; fails if anything was skipped.
fn import_prosody(data_dir: &Path, dir: &Path) -> Result<(), String> {
	refuse_if_running(data_dir, "an import")?;
	if !dir.is_dir() {
		return Err(format!("{}: no such directory", dir.display()));
	}
	let store = open_store(data_dir, DEFAULT_CACHE)?;
	let result = load_config(data_dir.to_owned(), &store, &[]).and_then(|config| crate::migrate::import_prosody(&store, &config, dir));
	store.shutdown();
	let report = result?;
	print!("{}", report.text());
	if report.skipped.is_empty() { Ok(()) } else { Err(format!("{} skipped (see above)", report.skipped.len())) }
}
