//! The console face of the first-boot wizard: the same questions as the web
//! page, as text for a serial line (115200 8N1) or any terminal. Defaults in
//! [brackets], Enter accepts; passwords are read with rpassword (never
//! echoed); Ctrl-C ends the process before anything is written, because the
//! answers are only applied, in one transaction, after the last question.

use std::io::{BufRead, Write};
use std::os::fd::AsRawFd as _;
use std::path::Path;

use super::{Answers, DEFAULT_ADMIN, DEFAULT_DOMAIN, MIN_PASSWORD_CHARS};

/// Reads a password without echo; the prompt is its argument.
pub type ReadPassword<'a> = dyn FnMut(&str) -> std::io::Result<String> + 'a;

/// What the person chose at the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
	/// The three questions, answered.
	Setup(Answers),
	/// "Restore from a backup": a backup file on the box, and its recovery key or passphrase.
	Restore { file: String, secret: String },
}

/// The answer to the first question that chooses a restore instead.
pub const RESTORE: &str = "restore";

/// Asks the questions. `None` when the input ended (line hung up) or the
/// person declined at the summary.
pub fn ask(input: &mut dyn BufRead, out: &mut dyn Write, read_password: &mut ReadPassword<'_>) -> std::io::Result<Option<Choice>> {
	writeln!(out, "\r\nXerra first-boot setup. Enter accepts the [default];\r\nCtrl-C quits without changing anything.\r\n")?;
	let mut a = Answers::default();
	writeln!(out, "1. The chat domain: addresses will look like name@domain.\r\n   It cannot be changed later.")?;
	writeln!(out, "   (To restore this box from a backup instead, answer {RESTORE}.)")?;
	loop {
		let Some(d) = line(input, out, &format!("   Chat domain [{DEFAULT_DOMAIN}]: "))? else { return Ok(None) };
		if d.eq_ignore_ascii_case(RESTORE) {
			return restore(input, out, read_password);
		}
		let d = if d.is_empty() { DEFAULT_DOMAIN.to_owned() } else { d };
		match crate::config::Config::new(Default::default()).set("domain", &d) {
			Ok(()) => {
				a.domain = d;
				break;
			}
			Err(e) => writeln!(out, "   Not a valid domain ({}).", e.trim_start_matches("domain: "))?,
		}
	}
	writeln!(out, "2. The admin account.")?;
	loop {
		let Some(n) = line(input, out, &format!("   Admin user name [{DEFAULT_ADMIN}]: "))? else { return Ok(None) };
		let n = if n.is_empty() { DEFAULT_ADMIN.to_owned() } else { n };
		match crate::xmpp::jid::prep_localpart(&n) {
			Ok(_) => {
				a.admin = n;
				break;
			}
			Err(e) => writeln!(out, "   Not a valid user name ({e}).")?,
		}
	}
	loop {
		out.flush()?;
		let p = read_password(&format!("   Admin password (at least {MIN_PASSWORD_CHARS} characters, not shown): "))?;
		if p.chars().count() < MIN_PASSWORD_CHARS {
			writeln!(out, "   Too short.")?;
			continue;
		}
		let again = read_password("   Again: ")?;
		if again != p {
			writeln!(out, "   The two passwords differ; once more.")?;
			continue;
		}
		a.password = p.clone();
		a.password2 = again;
		break;
	}
	writeln!(
		out,
		"3. Who will chat here? One person per line: \"Full Name\" or\r\n   \"Full Name, Department\". An empty line ends the list."
	)?;
	let mut people = Vec::new();
	loop {
		let Some(p) = line(input, out, "   > ")? else { return Ok(None) };
		if p.is_empty() {
			break;
		}
		if super::user_name(p.split(',').next().unwrap_or_default()).is_none() {
			writeln!(out, "   Cannot make a user name from that; try again.")?;
			continue;
		}
		people.push(p);
	}
	a.people = people.join("\n");
	writeln!(out, "\r\nSummary\r\n  Domain:  {}\r\n  Admin:   {}@{}\r\n  People:  {}", a.domain, a.admin, a.domain, people.len())?;
	loop {
		let Some(yes) = line(input, out, "Apply? [Y/n]: ")? else { return Ok(None) };
		match yes.to_ascii_lowercase().as_str() {
			"" | "y" | "yes" => return Ok(Some(Choice::Setup(a))),
			"n" | "no" => return Ok(None),
			_ => {}
		}
	}
}

/// "Restore from a backup": the file and its key, instead of the questions.
fn restore(input: &mut dyn BufRead, out: &mut dyn Write, read_password: &mut ReadPassword<'_>) -> std::io::Result<Option<Choice>> {
	writeln!(
		out,
		"Restore from a backup: the box comes back with the backup's domain, accounts,\r\nrooms, archives, files and certificate authority."
	)?;
	let file = loop {
		let Some(f) = line(input, out, "   Backup file (its path on this box, e.g. on a USB stick): ")? else { return Ok(None) };
		if !f.is_empty() {
			break f;
		}
	};
	out.flush()?;
	let secret = read_password("   Recovery key or passphrase (not shown): ")?;
	Ok(Some(Choice::Restore { file, secret }))
}

/// One answer line, trimmed; `None` at end of input.
fn line(input: &mut dyn BufRead, out: &mut dyn Write, prompt: &str) -> std::io::Result<Option<String>> {
	write!(out, "{prompt}")?;
	out.flush()?;
	let mut s = String::new();
	if input.read_line(&mut s)? == 0 {
		return Ok(None);
	}
	Ok(Some(s.trim().to_owned()))
}

/// Makes `device` this process's terminal: 115200 8N1 without flow control,
/// line editing on (Backspace works, CR ends a line), and the controlling
/// terminal, so rpassword (which reads /dev/tty) and Ctrl-C work on it.
/// Standard input, output and error are moved onto it.
pub fn attach(device: &Path) -> Result<(), String> {
	use nix::sys::termios::{self, BaudRate, ControlFlags, InputFlags, LocalFlags, OutputFlags, SetArg};
	let err = |what: &str, e: nix::Error| format!("{}: {what}: {e}", device.display());
	// Only a process that is not a group leader may start a session; a child
	// of ours never is (`setup` re-runs itself when needed, see `cli`).
	nix::unistd::setsid().map_err(|e| err("cannot start a session (run from a service, or not as a shell job)", e))?;
	let file = std::fs::OpenOptions::new().read(true).write(true).open(device).map_err(|e| format!("{}: {e}", device.display()))?;
	let fd = file.as_raw_fd();
	// SAFETY: TIOCSCTTY on a terminal fd we own; the argument 0 means "do not steal".
	if unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) } != 0 {
		return Err(err("cannot make it the controlling terminal", nix::Error::last()));
	}
	let mut t = termios::tcgetattr(&file).map_err(|e| err("not a terminal", e))?;
	// Any device name (/dev/serial0 is a symlink); a pty ignores the speed.
	termios::cfsetspeed(&mut t, BaudRate::B115200).map_err(|e| err("speed", e))?;
	t.control_flags &= !(ControlFlags::PARENB | ControlFlags::CSTOPB | ControlFlags::CSIZE | ControlFlags::CRTSCTS);
	t.control_flags |= ControlFlags::CS8 | ControlFlags::CREAD | ControlFlags::CLOCAL;
	t.input_flags |= InputFlags::ICRNL;
	t.input_flags &= !(InputFlags::IXON | InputFlags::IXOFF | InputFlags::INLCR | InputFlags::IGNCR);
	t.output_flags |= OutputFlags::OPOST | OutputFlags::ONLCR;
	t.local_flags |= LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ECHOE | LocalFlags::ISIG;
	termios::tcsetattr(&file, SetArg::TCSANOW, &t).map_err(|e| err("cannot configure", e))?;
	for target in 0..=2 {
		// SAFETY: dup2 onto the standard descriptors, which we own.
		if unsafe { libc::dup2(fd, target) } < 0 {
			return Err(err("dup2", nix::Error::last()));
		}
	}
	Ok(())
}

/// Standard input's terminal settings when the wizard began, for [`quit`].
static SAVED_TERMIOS: std::sync::OnceLock<libc::termios> = std::sync::OnceLock::new();

/// Ctrl-C (SIGINT) and a hangup (SIGHUP) end the wizard at once, before
/// anything is written, whatever disposition it inherited: a shell starts a
/// background job with SIGINT ignored, `nohup` ignores SIGHUP.
pub fn quit_on_interrupt() -> Result<(), String> {
	use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
	let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
	// SAFETY: tcgetattr fills `t` when it returns 0.
	if unsafe { libc::tcgetattr(0, t.as_mut_ptr()) } == 0 {
		// SAFETY: initialised by the successful call above.
		let _ = SAVED_TERMIOS.set(unsafe { t.assume_init() });
	}
	let action = SigAction::new(SigHandler::Handler(quit), SaFlags::empty(), SigSet::empty());
	for signal in [Signal::SIGINT, Signal::SIGHUP] {
		// SAFETY: `quit` calls only async-signal-safe functions.
		unsafe { sigaction(signal, &action) }.map_err(|e| format!("{signal}: {e}"))?;
	}
	Ok(())
}

/// After the last answer: Ctrl-C and hangups no longer stop the wizard.
pub fn finish_uninterrupted() {
	use nix::sys::signal::{SigHandler, Signal, signal};
	for s in [Signal::SIGINT, Signal::SIGHUP] {
		// SAFETY: ignoring a signal installs no handler.
		let _ = unsafe { signal(s, SigHandler::SigIgn) };
	}
}

/// The handler: the terminal as it was (echo back on if a password was
/// being typed), then exit 128 + the signal, as a shell reports it.
extern "C" fn quit(signal: libc::c_int) {
	if let Some(t) = SAVED_TERMIOS.get() {
		// SAFETY: tcsetattr and _exit are async-signal-safe (POSIX); the
		// saved settings are never written after they were set.
		unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
	}
	// SAFETY: see above; nothing is flushed or written on the way out.
	unsafe { libc::_exit(128 + signal) }
}

/// Terminal echo off on stdin while alive (a no-op when stdin is no terminal).
pub struct EchoOff(Option<nix::sys::termios::Termios>);

impl EchoOff {
	pub fn stdin() -> EchoOff {
		use nix::sys::termios::{self, LocalFlags, SetArg};
		let stdin = std::io::stdin();
		let Ok(saved) = termios::tcgetattr(&stdin) else { return EchoOff(None) };
		let mut quiet = saved.clone();
		quiet.local_flags.remove(LocalFlags::ECHO);
		if termios::tcsetattr(&stdin, SetArg::TCSANOW, &quiet).is_err() {
			return EchoOff(None);
		}
		EchoOff(Some(saved))
	}
}

impl Drop for EchoOff {
	fn drop(&mut self) {
		if let Some(saved) = &self.0 {
			let _ = nix::sys::termios::tcsetattr(std::io::stdin(), nix::sys::termios::SetArg::TCSANOW, saved);
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn asks_with_defaults_and_retries_bad_answers() {
		let mut input = std::io::Cursor::new("bad domain\n\n\nAnna Berg, Sales\n@@@\n\n\n");
		let mut out = Vec::new();
		let mut passwords = vec!["short", "long enough!", "long enough!"].into_iter();
		let Some(Choice::Setup(a)) = ask(&mut input, &mut out, &mut |_| Ok(passwords.next().unwrap().to_owned())).unwrap() else {
			panic!("answers expected")
		};
		assert_eq!(a.domain, DEFAULT_DOMAIN);
		assert_eq!(a.admin, DEFAULT_ADMIN);
		assert_eq!(a.password, "long enough!");
		assert_eq!(a.people, "Anna Berg, Sales");
		let out = String::from_utf8(out).unwrap();
		assert!(out.contains("Not a valid domain"));
		assert!(out.contains("Too short"));
		assert!(out.contains("Cannot make a user name"));
		assert!(!out.contains("long enough!"));
	}

	#[test]
	fn declining_or_hanging_up_gives_nothing() {
		let mut out = Vec::new();
		let mut pw = |_: &str| Ok("0123456789".to_owned());
		let mut input = std::io::Cursor::new("x.test\n\n\nn\n");
		assert!(ask(&mut input, &mut out, &mut pw).unwrap().is_none());
		let mut input = std::io::Cursor::new("x.test\n");
		assert!(ask(&mut input, &mut out, &mut pw).unwrap().is_none());
		let mut input = std::io::Cursor::new("Restore\n");
		assert!(ask(&mut input, &mut out, &mut pw).unwrap().is_none(), "hung up before the file");
	}

	#[test]
	fn restore_asks_for_the_file_and_the_key_without_echo() {
		let mut out = Vec::new();
		let mut input = std::io::Cursor::new("restore\n\n/media/usb/last.xerra-backup\n");
		let got = ask(&mut input, &mut out, &mut |p: &str| Ok(format!("typed at {p}"))).unwrap();
		let Some(Choice::Restore { file, secret }) = got else { panic!("{got:?}") };
		assert_eq!(file, "/media/usb/last.xerra-backup", "an empty line asks again");
		assert!(secret.contains("Recovery key or passphrase"));
		assert!(!String::from_utf8(out).unwrap().contains("typed at"));
	}
}
