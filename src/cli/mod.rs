//! The command line: the only code that prints to a terminal or prompts.

mod backup;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::admin::Command;
use crate::config::Config;
use crate::store::{Store, StoreError};

mod migrate;

const HELP: &str = "\
xerra - a lean XMPP server for small offices

Usage: xerra [--data-dir DIR] [--log LEVEL] <command> [args]

Commands:
  run                      run the server (the default when no command is given);
                           a box that is not set up serves the first-boot wizard
  setup [--serial DEV]     the first-boot wizard on this terminal or a serial line
  user add NAME            create an account (asks for the password);
                           --admin gives it the admin role
  user admin NAME on|off   give or take the admin role
  user passwd NAME         change a password
  user del NAME            delete an account with its roster and messages
  user lock|unlock NAME    lock an account (its sessions end, logins are
                           refused, its data stays) or unlock it
  user reset NAME          print a one-time link to set a new password
  user list                list accounts
  user import FILE         create accounts from name:password lines (- = stdin)
  group list               department groups and their members
  group add NAME           create a group
  group rename G NEW       rename a group (members' rosters follow)
  group del G              delete a group
  group add-member G NAME  put an account into group G: its members become
                           mutual contacts, in that roster group
  group del-member G NAME  take an account out of group G
  invite add [--contact N] print an invitation link (XEP-0401); --uses N,
                           --days N, --group DEPT, --admin
  invite list|revoke TOKEN the open invitations; withdraw one
  component add|del|list   external components (XEP-0114): gateways, bots,
                           push app servers on this box
  room list                the chat rooms (XEP-0045) with their occupants
  room destroy NAME        destroy a room with its history and archive
  room persist NAME on|off keep a room when empty, or let it go
  broadcast [--all] TEXT   a message to everyone online (--all: to everyone)
  motd set TEXT|del|show   the message of the day, sent at each login
  config list              show every setting with its value and meaning
  config set NAME VALUE    store a setting (used at the next start)
  config unset NAME        return a setting to its default
  export [--user N] FILE   every account (or one) with rooms and departments
                           as a XEP-0227 file (server stopped);
                           --accounts-only: without rooms and departments;
                           --ejabberd: for ejabberd's import_piefxis
  import FILE              accounts, rooms and departments from a XEP-0227
                           file (server stopped); existing ones are skipped
  backup create [FILE|DIR] a backup (encrypted), while the server runs or not
  backup key               make the recovery key backups are encrypted to
  backup verify|restore F  check a backup; restore it into a stopped box
  status                   show whether the server runs, and what it serves
  self-test                check that this binary works on this machine

Options:
  --data-dir DIR           where the database and certificates live
                           (default: $XERRA_DATA_DIR or ./xerra-data)
  --log LEVEL              error, warn, info (default) or debug
  -h, --help               this help; `xerra COMMAND --help` for a command
  -V, --version            print the version

While the server runs, the other commands talk to it over a control socket
in the data directory; otherwise they open the database themselves.
";

const ROOM_HELP: &str = "\
Usage: xerra room list
       xerra room destroy NAME [--reason TEXT]
       xerra room persist NAME on|off

The chat rooms on rooms.<domain> (XEP-0045). `list` shows each room with its
title, whether it is persistent, its occupants and the history kept in
memory (while the server runs; stopped, it lists the persistent rooms).
`destroy` ends a room: its occupants are told (with TEXT), and its
configuration, history and archive are deleted. NAME is the room's name or
its address (name@rooms.<domain>). `persist NAME on` keeps a room (stored,
and kept when empty); `off` makes it temporary (gone once empty).
";

const RUN_HELP: &str = "\
Usage: xerra run [--appliance] [--set NAME=VALUE]...

Runs the server in the foreground until SIGTERM or Ctrl-C; SIGHUP reloads the
TLS certificate.

A box that is not set up yet (no domain) first serves the setup wizard: a web
page on port 5280 (80 with --appliance) that asks for the setup code printed
at start-up, the chat domain, the admin account and the people who will chat.
`xerra setup` asks the same on a terminal. Then XMPP starts on ports 5222
(STARTTLS) and 5223 (direct TLS), with a certificate signed by the box's own
CA (download it from the web page so clients can trust it).

  --appliance         defaults for the appliance under systemd: web page on
                      port 80, HTTPS (uploads, WebSocket) on 443 and mDNS on
                      (stored settings still win)
  --set NAME=VALUE    override a stored setting for this run (see `xerra config list`)
  --domain DOMAIN     short for --set domain=DOMAIN (skips the wizard)
";

const SETUP_HELP: &str = "\
Usage: xerra setup [--serial DEVICE]

The first-boot wizard as text: chat domain, admin account and password (not
echoed), people (and departments). Nothing is written until the last answer;
Ctrl-C quits without changes. With a running server the answers go to it and
it starts serving at once; otherwise they go into the database.

  --serial DEVICE     run on a serial line (115200 8N1), e.g. /dev/ttyS0,
                      instead of this terminal
";

const USER_HELP: &str = "\
Usage: xerra user add [--admin] NAME [--password-stdin]
       xerra user admin NAME on|off
       xerra user passwd NAME [--password-stdin]
       xerra user del NAME
       xerra user lock|unlock NAME
       xerra user reset NAME
       xerra user list
       xerra user import FILE

NAME is the part before the @ (alice for alice@your.domain).
Passwords are asked for on the terminal (not echoed), or read as one line from
standard input with --password-stdin (for scripts). Only salted SCRAM keys are
stored, never the password.

Admins (`--admin`, `user admin`; the first-boot wizard's admin is one) may
also make invitations that create accounts from their apps; other users'
invitations only make contacts. `user list` marks them.

`user lock` ends the account's sessions at once and refuses its logins
(clients are told `account-disabled`); its messages, contacts and files stay.
`user unlock` lets it in again. `user reset` prints a link
(https://DOMAIN/reset/TOKEN) where the person sets a new password without the
old one; it works once, for `reset_expiry_hours`.

`user import` reads lines `name:password` from FILE (`-` for standard input;
empty lines and lines starting with # are skipped) and creates all accounts at
once. It needs the server to be stopped, so that it can use every core.
";

const GROUP_HELP: &str = "\
Usage: xerra group list
       xerra group add GROUP
       xerra group rename GROUP NEW-NAME
       xerra group del GROUP
       xerra group add-member GROUP NAME
       xerra group del-member GROUP NAME

Department groups (shared roster groups): every two members of a group are
each other's contacts with subscription both and the group as roster group,
with no subscription requests. Online members see the change at once. The
first-boot wizard makes one group per department. `rename` changes the roster
group of every member at once; `del` takes everyone out of the group (contacts
who share no other group leave each other's rosters).
";

const INVITE_HELP: &str = "\
Usage: xerra invite add [--contact NAME] [--uses N] [--days N] [--group DEPT] [--admin]
       xerra invite list
       xerra invite revoke TOKEN

Makes an invitation link (XEP-0401) and prints it. Open it on a phone with an
XMPP app (Conversations, Monal, Siskin, Dino...): without --contact the app
makes a new account on this server; with --contact NAME it also makes the
newcomer and NAME each other's contacts (or, for someone who already has an
account, a contact request NAME approves in advance).

  --uses N        it makes up to N accounts (default 1; at most max_invite_uses)
  --days N        it is good for N days (default invite_expiry_days)
  --group DEPT    each newcomer joins department DEPT (see `xerra group`)
  --admin         each newcomer gets the admin role

`list` shows the open invitations (also those users made from their apps,
the \"Invite someone\" command); `revoke` withdraws one by its token.
";

const COMPONENT_HELP: &str = "\
Usage: xerra component add DOMAIN
       xerra component del DOMAIN
       xerra component list

External components (XEP-0114) are programs on this box that serve a domain
of their own (say, a gateway at gw.example.org or a push notification app
server) through Xerra. `add` makes a secret and prints it: give the program
the domain, the secret and the port (`component_port`, 5347, on 127.0.0.1
and ::1 only). `del` removes a component and disconnects it.
";

const CONFIG_HELP: &str = "\
Usage: xerra config list
       xerra config set NAME VALUE
       xerra config unset NAME

Settings are stored in the database and used at the next start of the server.
`xerra config list` shows every setting, its value, default and meaning.
";

const BROADCAST_HELP: &str = "\
Usage: xerra broadcast [--all] TEXT
       xerra motd set TEXT
       xerra motd del
       xerra motd show

`broadcast` sends TEXT as a message from the server to everyone online now;
with --all also to everyone else, who finds it when they next log in (within
their offline storage). The message of the day (`motd`) is sent to each
session as it logs in, until it is deleted.
";

const STATUS_HELP: &str = "\
Usage: xerra status

Shows the domain, accounts, database size and, if the server runs, its uptime,
connections and sessions.
";

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
	let args: Vec<String> = std::env::args().skip(1).collect();
	match dispatch(args) {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("xerra: {e}");
			ExitCode::FAILURE
		}
	}
}

fn dispatch(mut args: Vec<String>) -> Result<(), String> {
	let mut data_dir = std::env::var_os("XERRA_DATA_DIR").map_or_else(|| PathBuf::from("xerra-data"), PathBuf::from);
	let mut level = log::LevelFilter::Info;
	// Global options come before the command.
	while let Some(first) = args.first() {
		match first.as_str() {
			"-h" | "--help" => {
				print!("{HELP}");
				return Ok(());
			}
			"-V" | "--version" => {
				println!("xerra {}", env!("CARGO_PKG_VERSION"));
				return Ok(());
			}
			"--data-dir" => {
				data_dir = PathBuf::from(args.get(1).ok_or("--data-dir needs a directory")?);
				args.drain(..2);
			}
			"--log" => {
				level = args.get(1).and_then(|l| l.parse().ok()).ok_or("--log needs error, warn, info or debug")?;
				args.drain(..2);
			}
			_ => break,
		}
	}
	init_log(level);
	let command = if args.is_empty() { "run".to_string() } else { args.remove(0) };
	let wants_help = args.iter().any(|a| a == "-h" || a == "--help");
	match command.as_str() {
		"run" if wants_help => print!("{RUN_HELP}"),
		"run" => return run(data_dir, &args),
		"user" if wants_help || args.is_empty() => print!("{USER_HELP}"),
		"user" if args[0] == "import" => return import(&data_dir, args.get(1).map(String::as_str)),
		"user" => return admin(&data_dir, user_command(&args)?),
		"group" if wants_help || args.is_empty() => print!("{GROUP_HELP}"),
		"group" => return admin(&data_dir, group_command(&args)?),
		"component" if wants_help || args.is_empty() => print!("{COMPONENT_HELP}"),
		"component" => return admin(&data_dir, component_command(&args)?),
		"room" if wants_help || args.is_empty() => print!("{ROOM_HELP}"),
		"room" => return admin(&data_dir, room_command(&args)?),
		"invite" if wants_help || args.is_empty() => print!("{INVITE_HELP}"),
		"invite" => return admin(&data_dir, invite_command(&args)?),
		"config" if wants_help || args.is_empty() => print!("{CONFIG_HELP}"),
		"config" => return admin(&data_dir, config_command(&args)?),
		"broadcast" if wants_help || args.is_empty() => print!("{BROADCAST_HELP}"),
		"broadcast" => return admin(&data_dir, broadcast_command(&args)?),
		"motd" if wants_help || args.is_empty() => print!("{BROADCAST_HELP}"),
		"motd" => return admin(&data_dir, motd_command(&args)?),
		"export" | "import" if wants_help => print!("{}", migrate::HELP),
		"export" => return migrate::export(&data_dir, &args),
		"import" => return migrate::import(&data_dir, &args),
		"backup" if wants_help || args.is_empty() => print!("{}", backup::HELP),
		"backup" => return backup::command(&data_dir, &args),
		"status" if wants_help => print!("{STATUS_HELP}"),
		"status" => return admin(&data_dir, Command::Status),
		"setup" if wants_help => print!("{SETUP_HELP}"),
		"setup" => return setup(&data_dir, &args),
		"self-test" => return crate::selftest::run(),
		other => return Err(format!("unknown command {other:?}; see `xerra --help`")),
	}
	Ok(())
}

/// Log lines on stderr, with UTC timestamps (local ones would need a
/// single-threaded process) unless journald, which stamps lines itself,
/// reads them. `--log debug` is for Xerra's own lines: the libraries'
/// debug output (TLS handshakes...) would drown them.
fn init_log(level: log::LevelFilter) {
	let logger = simple_logger::SimpleLogger::new().with_level(level.min(log::LevelFilter::Info)).with_module_level("xerra", level);
	let logger = if under_journald() { logger.without_timestamps() } else { logger.with_utc_timestamps() };
	let _ = logger.init();
}

/// systemd sets `JOURNAL_STREAM` to the device and inode of the stream it
/// connected to journald (systemd.exec(5)); a child whose stderr was
/// redirected elsewhere inherits the variable, hence the comparison.
fn under_journald() -> bool {
	let Some(value) = std::env::var_os("JOURNAL_STREAM") else { return false };
	let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else { return false };
	let Ok(stat) = nix::sys::stat::fstat(std::io::stderr()) else { return false };
	// Narrower than u64 on some 32-bit targets.
	#[allow(clippy::unnecessary_cast)]
	let (st_dev, st_ino) = (stat.st_dev as u64, stat.st_ino as u64);
	dev.parse::<u64>().ok() == Some(st_dev) && ino.parse::<u64>().ok() == Some(st_ino)
}

/// Stored settings, then command-line overrides, on top of the defaults.
fn load_config(data_dir: PathBuf, store: &Store, overrides: &[(String, String)]) -> Result<Config, String> {
	load_config_over(data_dir, store, &[], overrides)
}

/// Like `load_config`, with `base` values between the defaults and the stored settings.
fn load_config_over(data_dir: PathBuf, store: &Store, base: &[(String, String)], overrides: &[(String, String)]) -> Result<Config, String> {
	let mut config = Config::new(data_dir);
	let stored = store.snapshot().and_then(|s| s.settings()).map_err(|e| e.to_string())?;
	for (name, value) in base.iter().chain(stored.iter()).chain(overrides) {
		config.set(name, value)?;
	}
	Ok(config)
}

fn run(data_dir: PathBuf, args: &[String]) -> Result<(), String> {
	let mut overrides = Vec::new();
	let mut base = Vec::new();
	let mut it = args.iter();
	while let Some(a) = it.next() {
		if a == "--appliance" {
			// HTTPS on 443 too: browsers look for https://DOMAIN/.well-known/host-meta.
			// Calls: the image's coturn runs from the file written with turn = local.
			base = [("http_port", "80"), ("upload_port", "443"), ("mdns", "on"), ("turn", "local")]
				.map(|(k, v)| (k.to_owned(), v.to_owned()))
				.to_vec();
			continue;
		}
		let kv = match a.as_str() {
			"--set" => it.next().ok_or("--set needs NAME=VALUE")?.clone(),
			"--domain" => format!("domain={}", it.next().ok_or("--domain needs a domain")?),
			other => other.strip_prefix("--set=").map(str::to_owned).ok_or_else(|| format!("unknown option {other:?} for run"))?,
		};
		let (k, v) = kv.split_once('=').ok_or_else(|| format!("{kv:?}: expected NAME=VALUE"))?;
		overrides.push((k.to_owned(), v.to_owned()));
	}
	let store = open_store(&data_dir, DEFAULT_CACHE)?;
	let config = match load_config_over(data_dir, &store, &base, &overrides) {
		Ok(c) => c,
		Err(e) => {
			store.shutdown();
			return Err(e);
		}
	};
	// The settings live in the database, so the cache size is known only
	// now: reopen if it differs from the one used to read them.
	let store = if config.db_cache_bytes == DEFAULT_CACHE {
		store
	} else {
		store.shutdown();
		drop(store);
		open_store(&config.data_dir, config.db_cache_bytes)?
	};
	if let Err(e) = crate::admin::upgrade_account_roles(&store, &config) {
		store.shutdown();
		return Err(e);
	}
	let accounts = store.snapshot().and_then(|s| s.account_count()).unwrap_or(0);
	if accounts == 0 && config.configured() {
		log::warn!(
			"no accounts yet: in another terminal, `xerra --data-dir {} user add alice`, then connect a client to alice@{}",
			config.data_dir.display(),
			config.domain
		);
	}
	store.warn_below_free(config.limits.disk_free_warning_bytes);
	crate::server::run(config, store).map_err(|e| e.to_string())
}

/// How often the console wizard, waiting for Enter, checks whether the box
/// was set up from the web page.
const SETUP_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits up to `timeout` for input on `fd`.
fn readable(fd: i32, timeout: std::time::Duration) -> bool {
	let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
	let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
	// SAFETY: one pollfd on the stack, for the duration of the call.
	unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

/// The console face of the first-boot wizard.
fn setup(data_dir: &std::path::Path, args: &[String]) -> Result<(), String> {
	use std::io::BufRead as _;
	let serial = match args {
		[] => None,
		[flag, device] if flag == "--serial" => Some(PathBuf::from(device)),
		_ => return Err("usage: xerra setup [--serial DEVICE]".into()),
	};
	if let Some(device) = &serial {
		// A shell job leads its process group and may not start a session:
		// run the wizard in a child, which never does.
		if nix::unistd::getpgrp() == nix::unistd::getpid() {
			let exe = std::env::current_exe().map_err(|e| e.to_string())?;
			let status = std::process::Command::new(exe).args(std::env::args_os().skip(1)).status().map_err(|e| e.to_string())?;
			return if status.success() { Ok(()) } else { Err("setup did not finish".into()) };
		}
		crate::setup::serial::attach(device)?;
	}
	// Nothing is written before the last answer, so Ctrl-C or a hangup
	// until then simply ends the process.
	crate::setup::serial::quit_on_interrupt()?;
	let banner = match crate::control::request(data_dir, &Command::SetupStatus) {
		Some(Ok(b)) if b.is_empty() => {
			println!("Xerra is already set up. `xerra status` shows what it serves.");
			return Ok(());
		}
		Some(Ok(b)) => b,
		Some(Err(e)) => return Err(e),
		None => {
			let store = open_store(data_dir, DEFAULT_CACHE)?;
			let config = load_config(data_dir.to_owned(), &store, &[]);
			store.shutdown();
			if config?.configured() {
				println!("Xerra is already set up. `xerra status` shows what it serves.");
				return Ok(());
			}
			String::new()
		}
	};
	print!("{}", banner.replace('\n', "\r\n"));
	let stdin = std::io::stdin();
	let mut input = stdin.lock();
	if serial.is_some() {
		print!("Press Enter to set up Xerra on this console.\r\n");
		let _ = std::io::Write::flush(&mut std::io::stdout());
		// Someone may finish the web wizard meanwhile: then give the console back.
		while !readable(0, SETUP_POLL) {
			if matches!(crate::control::request(data_dir, &Command::SetupStatus), Some(Ok(b)) if b.is_empty()) {
				print!("Xerra has been set up from the web page.\r\n");
				return Ok(());
			}
		}
		let mut s = String::new();
		if input.read_line(&mut s).map_err(|e| e.to_string())? == 0 {
			return Err("the line hung up".into());
		}
	}
	let mut read_password = |prompt: &str| {
		// Echo goes off before the prompt is shown, so nothing typed the
		// moment it appears is echoed (rpassword switches only after writing it).
		let _quiet = crate::setup::serial::EchoOff::stdin();
		rpassword::prompt_password(prompt)
	};
	let choice = crate::setup::serial::ask(&mut input, &mut std::io::stdout(), &mut read_password).map_err(|e| e.to_string())?;
	let Some(choice) = choice else {
		return Err("setup cancelled; nothing was changed".into());
	};
	// Confirmed: the answers are applied whole, and said so, even if the
	// line drops meanwhile.
	crate::setup::serial::finish_uninterrupted();
	match choice {
		crate::setup::serial::Choice::Setup(answers) => admin(data_dir, Command::SetupApply(answers)),
		crate::setup::serial::Choice::Restore { file, secret } => {
			// A path as typed here names the same file for the server (same box); made absolute for it.
			let file = std::path::absolute(&file).map_err(|e| format!("{file}: {e}"))?.display().to_string();
			match crate::control::request(data_dir, &Command::SetupRestore { file: file.clone(), secret: secret.clone() }) {
				Some(Ok(text)) => {
					print!("{}", text.replace('\n', "\r\n"));
					Ok(())
				}
				Some(Err(e)) => Err(format!("{e}\r\nNothing was changed; run `xerra setup` again.")),
				// No server runs: restore into the data directory directly.
				None => {
					let m = crate::backup::restore(std::path::Path::new(&file), &crate::backup::Secret::parse(&secret), data_dir, false)
						.map_err(|e| format!("{e}\r\nNothing was changed; run `xerra setup` again."))?;
					print!("Restored the backup of {}. Start the server (systemctl start xerra).\r\n", m.header.domain);
					Ok(())
				}
			}
		}
	}
}

/// Page cache used unless `db_cache_bytes` says otherwise (its default).
const DEFAULT_CACHE: usize = 4 << 20;

fn open_store(data_dir: &std::path::Path, cache_bytes: usize) -> Result<Store, String> {
	// A restore a crash interrupted is finished (or undone) before anything reads the data.
	crate::backup::recover(data_dir).map_err(|e| e.to_string())?;
	Store::open(data_dir, cache_bytes).map_err(|e| match e {
		StoreError::Locked => format!("{} is in use by a running xerra that does not answer on its control socket", data_dir.display()),
		e => format!("{}: {e}", data_dir.display()),
	})
}

fn user_command(args: &[String]) -> Result<Command, String> {
	let mut words = args.iter().skip(1).filter(|a| !a.starts_with('-'));
	let name = words.next().cloned().ok_or("which user? (NAME is the part before the @)");
	let name = || name.clone();
	let stdin = args.iter().any(|a| a == "--password-stdin");
	Ok(match args[0].as_str() {
		"add" => {
			let admin = args.iter().any(|a| a == "--admin");
			Command::UserAdd { password: password(&name()?, stdin, true)?, name: name()?, admin }
		}
		"admin" => {
			let admin = match words.next().map(String::as_str) {
				Some("on") => true,
				Some("off") => false,
				_ => return Err("the role is on or off: xerra user admin NAME on|off".into()),
			};
			Command::UserAdmin { name: name()?, admin }
		}
		"passwd" => Command::UserPasswd { password: password(&name()?, stdin, true)?, name: name()? },
		"del" | "delete" => Command::UserDel { name: name()? },
		"lock" => Command::UserLock { name: name()?, locked: true },
		"unlock" => Command::UserLock { name: name()?, locked: false },
		"reset" => Command::UserReset { name: name()? },
		"list" => Command::UserList,
		other => return Err(format!("unknown user command {other:?}; see `xerra user --help`")),
	})
}

fn group_command(args: &[String]) -> Result<Command, String> {
	let arg = |i: usize, what: &str| args.get(i).cloned().ok_or_else(|| format!("missing {what}"));
	Ok(match args[0].as_str() {
		"list" => Command::GroupList,
		"add" => Command::GroupAdd { group: arg(1, "GROUP")? },
		"rename" => Command::GroupRename { group: arg(1, "GROUP")?, to: arg(2, "NEW-NAME")? },
		"del" | "delete" => Command::GroupDel { group: arg(1, "GROUP")? },
		"add-member" => Command::GroupAddMember { group: arg(1, "GROUP")?, user: arg(2, "NAME")? },
		"del-member" => Command::GroupDelMember { group: arg(1, "GROUP")?, user: arg(2, "NAME")? },
		other => return Err(format!("unknown group command {other:?}; see `xerra group --help`")),
	})
}

fn room_command(args: &[String]) -> Result<Command, String> {
	match (args.first().map(String::as_str), args.get(1)) {
		(Some("list"), None) => Ok(Command::RoomList),
		(Some("persist"), Some(name)) => match args.get(2).map(String::as_str) {
			Some("on") if args.len() == 3 => Ok(Command::RoomPersist { name: name.clone(), persistent: true }),
			Some("off") if args.len() == 3 => Ok(Command::RoomPersist { name: name.clone(), persistent: false }),
			_ => Err("usage: xerra room persist NAME on|off".into()),
		},
		(Some("destroy"), Some(name)) => {
			let reason = match (args.get(2).map(String::as_str), args.get(3)) {
				(None, _) => None,
				(Some("--reason"), Some(r)) if args.len() == 4 => Some(r.clone()),
				_ => return Err("usage: xerra room destroy NAME [--reason TEXT]".into()),
			};
			Ok(Command::RoomDestroy { name: name.clone(), reason })
		}
		_ => Err("usage: xerra room list, or xerra room destroy NAME [--reason TEXT]; see `xerra room --help`".into()),
	}
}

fn component_command(args: &[String]) -> Result<Command, String> {
	match (args[0].as_str(), args.get(1)) {
		("list", None) => Ok(Command::ComponentList),
		("add", Some(d)) => Ok(Command::ComponentAdd { domain: d.clone() }),
		("del", Some(d)) => Ok(Command::ComponentDel { domain: d.clone() }),
		_ => Err("usage: xerra component add|del DOMAIN, or xerra component list; see `xerra component --help`".into()),
	}
}

fn invite_command(args: &[String]) -> Result<Command, String> {
	const USAGE: &str = "usage: xerra invite add [--contact NAME] [--uses N] [--days N] [--group G] [--admin], xerra invite list, \
	                     or xerra invite revoke TOKEN; see `xerra invite --help`";
	match (args[0].as_str(), args.get(1)) {
		("list", None) => return Ok(Command::InviteList),
		("revoke", Some(token)) if args.len() == 2 => return Ok(Command::InviteRevoke { token: token.clone() }),
		("add", _) => {}
		_ => return Err(USAGE.into()),
	}
	let mut spec = crate::admin::InviteSpec::default();
	let mut it = args[1..].iter();
	while let Some(a) = it.next() {
		let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
		match a.as_str() {
			"--contact" => spec.contact = Some(value()?),
			"--uses" => spec.uses = value()?.parse().map_err(|_| "--uses needs a number")?,
			"--days" => spec.days = Some(value()?.parse().map_err(|_| "--days needs a number")?),
			"--group" => spec.group = Some(value()?),
			"--admin" => spec.admin = true,
			_ => return Err(USAGE.into()),
		}
	}
	Ok(Command::InviteAdd(spec))
}

fn broadcast_command(args: &[String]) -> Result<Command, String> {
	match args {
		[flag, text] if flag == "--all" => Ok(Command::Broadcast { text: text.clone(), everyone: true }),
		[text] if !text.starts_with('-') => Ok(Command::Broadcast { text: text.clone(), everyone: false }),
		_ => Err("usage: xerra broadcast [--all] TEXT".into()),
	}
}

fn motd_command(args: &[String]) -> Result<Command, String> {
	match args {
		[verb, text] if verb == "set" => Ok(Command::MotdSet { text: Some(text.clone()) }),
		[verb] if verb == "del" || verb == "delete" => Ok(Command::MotdSet { text: None }),
		[verb] if verb == "show" => Ok(Command::MotdGet),
		_ => Err("usage: xerra motd set TEXT, xerra motd del, or xerra motd show".into()),
	}
}

fn config_command(args: &[String]) -> Result<Command, String> {
	let arg = |i: usize, what: &str| args.get(i).cloned().ok_or_else(|| format!("missing {what}"));
	Ok(match args[0].as_str() {
		"list" => Command::ConfigList,
		"set" => Command::ConfigSet { name: arg(1, "NAME")?, value: arg(2, "VALUE")? },
		"unset" => Command::ConfigUnset { name: arg(1, "NAME")? },
		other => return Err(format!("unknown config command {other:?}; see `xerra config --help`")),
	})
}

fn password(name: &str, from_stdin: bool, confirm: bool) -> Result<String, String> {
	if from_stdin {
		let mut line = String::new();
		std::io::stdin().read_line(&mut line).map_err(|e| format!("reading the password: {e}"))?;
		return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
	}
	let _quiet = crate::setup::serial::EchoOff::stdin();
	let first = rpassword::prompt_password(format!("Password for {name}: "))
		.map_err(|e| format!("reading the password: {e} (use --password-stdin without a terminal)"))?;
	if confirm {
		let again = rpassword::prompt_password("Again: ").map_err(|e| format!("reading the password: {e}"))?;
		if again != first {
			return Err("the passwords differ".into());
		}
	}
	Ok(first)
}

fn import(data_dir: &std::path::Path, file: Option<&str>) -> Result<(), String> {
	let file = file.ok_or("which file? (`-` for standard input)")?;
	let text = if file == "-" {
		std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading standard input: {e}"))?
	} else {
		std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?
	};
	if crate::control::request(data_dir, &Command::Status).is_some() {
		return Err("the server is running; stop it for an import, or add users one by one with `user add`".into());
	}
	let store = open_store(data_dir, DEFAULT_CACHE)?;
	let result = load_config(data_dir.to_owned(), &store, &[]).and_then(|config| crate::admin::import_users(&store, &config, &text));
	store.shutdown();
	print!("{}", result?);
	Ok(())
}

/// Runs an admin command on the running server, or on the database directly.
fn admin(data_dir: &std::path::Path, cmd: Command) -> Result<(), String> {
	let text = admin_text(data_dir, cmd)?;
	print!("{text}");
	if !text.ends_with('\n') {
		println!();
	}
	Ok(())
}

/// [`admin`]'s outcome as text, not printed.
fn admin_text(data_dir: &std::path::Path, cmd: Command) -> Result<String, String> {
	match crate::control::request(data_dir, &cmd) {
		Some(r) => r,
		None => {
			let store = open_store(data_dir, DEFAULT_CACHE)?;
			let config = load_config(data_dir.to_owned(), &store, &[]);
			let result = match config {
				Ok(config) => {
					let engine = crate::admin::Engine { store: &store, config: &config, server: None };
					futures_lite::future::block_on(engine.run_text(&crate::admin::Actor::Root, cmd))
				}
				Err(e) => Err(e),
			};
			store.shutdown();
			result
		}
	}
}
