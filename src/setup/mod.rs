//! First-boot setup: one engine behind both faces, the web page (`http`)
//! and the serial console (`serial`). The answers become a [`Plan`] (pure
//! validation), the plan is applied in one database transaction, so a power
//! cut leaves the box either unconfigured or fully configured, and a second
//! submission (another browser, the console) finds it configured and fails.

pub mod serial;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::store::{Account, Store, StoreError};
use crate::xmpp::jid::prep_localpart;

pub const DEFAULT_DOMAIN: &str = "xerra.local";
pub const DEFAULT_ADMIN: &str = "admin";
/// Shortest admin password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Most people the wizard creates at once (more: `xerra user import`).
pub const MAX_PEOPLE: usize = 500;

/// What the person typed, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
	pub domain: String,
	pub admin: String,
	pub password: String,
	pub password2: String,
	/// One person per line: `Full Name` or `Full Name, Department`.
	pub people: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
	pub name: String,
	pub user: String,
	pub department: Option<String>,
	/// Generated; shown once on the page or console that did the setup.
	pub password: String,
}

/// Validated answers, ready to apply.
#[derive(Debug, Clone)]
pub struct Plan {
	pub domain: String,
	pub admin: String,
	pub admin_password: String,
	pub people: Vec<Person>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
	Domain(String),
	AdminName(String),
	PasswordShort,
	PasswordMismatch,
	Person { line: usize, reason: String },
	TooManyPeople,
	WrongCode,
	LockedOut(Duration),
	AlreadyConfigured,
	Store(String),
}

impl std::fmt::Display for SetupError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Domain(e) => write!(f, "The chat domain is not valid: {e}."),
			Self::AdminName(e) => write!(f, "The admin user name is not valid: {e}."),
			Self::PasswordShort => write!(f, "The admin password needs at least {MIN_PASSWORD_CHARS} characters."),
			Self::PasswordMismatch => f.write_str("The two passwords differ."),
			Self::Person { line, reason } => write!(f, "People, line {line}: {reason}."),
			Self::TooManyPeople => write!(f, "At most {MAX_PEOPLE} people at once; add more later with `xerra user import`."),
			Self::WrongCode => f.write_str("That is not the setup code shown on the console."),
			Self::LockedOut(d) => write!(f, "Too many wrong setup codes; try again in {} s.", d.as_secs().max(1)),
			Self::AlreadyConfigured => f.write_str("This box is already set up."),
			Self::Store(e) => write!(f, "Could not save the setup: {e}."),
		}
	}
}

impl std::error::Error for SetupError {}

/// Checks the answers and makes up the people's user names and passwords.
pub fn plan(a: &Answers, random: &mut dyn FnMut(&mut [u8])) -> Result<Plan, SetupError> {
	let domain = a.domain.trim();
	let domain = if domain.is_empty() { DEFAULT_DOMAIN } else { domain };
	let mut scratch = Config::new(Default::default());
	scratch.set("domain", domain).map_err(|e| SetupError::Domain(e.trim_start_matches("domain: ").to_owned()))?;
	let domain = scratch.domain;
	let admin = a.admin.trim();
	let admin = prep_localpart(if admin.is_empty() { DEFAULT_ADMIN } else { admin }).map_err(|e| SetupError::AdminName(e.to_string()))?;
	if a.password.chars().count() < MIN_PASSWORD_CHARS {
		return Err(SetupError::PasswordShort);
	}
	if a.password != a.password2 {
		return Err(SetupError::PasswordMismatch);
	}
	let mut taken = vec![admin.clone()];
	let mut people = Vec::new();
	for (n, line) in a.people.lines().enumerate() {
		let line = line.trim();
		if line.is_empty() {
			continue;
		}
		if people.len() == MAX_PEOPLE {
			return Err(SetupError::TooManyPeople);
		}
		let bad = |reason: &str| SetupError::Person { line: n + 1, reason: reason.to_owned() };
		let (name, department) = match line.split_once(',') {
			Some((name, dep)) => (name.trim(), Some(dep.trim()).filter(|d| !d.is_empty())),
			None => (line, None),
		};
		if let Some(d) = department {
			crate::groups::check_name(d).map_err(|e| bad(&e))?;
		}
		let base = user_name(name).ok_or_else(|| bad("cannot make a user name from it"))?;
		let mut user = base.clone();
		let mut k = 2;
		while taken.contains(&user) {
			user = format!("{base}{k}");
			k += 1;
		}
		taken.push(user.clone());
		people.push(Person { name: name.to_owned(), user, department: department.map(str::to_owned), password: password(random) });
	}
	Ok(Plan { domain, admin, admin_password: a.password.clone(), people })
}

/// "Anna Berg" -> "anna.berg": lower case, words joined by dots, only
/// characters that read well in an address.
pub fn user_name(full: &str) -> Option<String> {
	let words: Vec<String> = full
		.split_whitespace()
		.map(|w| w.chars().filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_').flat_map(char::to_lowercase).collect::<String>())
		.filter(|w| !w.is_empty())
		.collect();
	if words.is_empty() {
		return None;
	}
	prep_localpart(&words.join(".")).ok()
}

/// A generated password: 12 characters from an alphabet without look-alikes,
/// in groups of four (about 59 bits).
pub fn password(random: &mut dyn FnMut(&mut [u8])) -> String {
	const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
	let mut out = String::new();
	while out.len() < 14 {
		if out.len() == 4 || out.len() == 9 {
			out.push('-');
		}
		out.push(char::from(ALPHABET[pick(random, ALPHABET.len())]));
	}
	out
}

/// A uniform index below `n` (rejection sampling, no modulo bias).
fn pick(random: &mut dyn FnMut(&mut [u8]), n: usize) -> usize {
	let limit = 256 - 256 % n;
	loop {
		let mut b = [0u8];
		random(&mut b);
		if usize::from(b[0]) < limit {
			return usize::from(b[0]) % n;
		}
	}
}

/// Sources the gate remembers at most (bounded memory under a flood of
/// addresses); when full, the quietest ones are forgotten first.
pub const MAX_SOURCES: usize = 1024;

/// The global brake: wrong codes, from all sources together, are answered
/// at most once per this time (held back until then, never refused).
pub const WRONG_CODE_PACE: Duration = Duration::from_secs(1);

/// The one-time setup code the web page asks for, and its attempt limits.
/// The console does not need it: being at the console is the proof.
///
/// - Per source (the exact address): `setup_code_failures` wrong codes lock
///   that source out for `setup_lockout`, the right code included. Other
///   hosts are not affected, so nobody on the LAN can lock the admin out.
///   (Not per IPv6 /64: a LAN's hosts share one; an address of its own does
///   not help a guesser, see the brake.)
/// - Globally: a wrong code is answered no sooner than [`WRONG_CODE_PACE`]
///   after the previous wrong answer, whoever asked. Many addresses thus
///   guess at most once a second together (40 bits: about 17,000 years for
///   half the codes), while the right code is always answered at once: the
///   brake only slows guessers down, it cannot lock anyone out. Waiting
///   answers hold web connections, which `http_max_connections` and
///   `http_max_connections_per_ip` bound.
pub struct Gate {
	code: String,
	sources: HashMap<IpAddr, Tries>,
	/// When the next wrong code may be answered.
	next_wrong: Option<Instant>,
	max_failures: u32,
	lockout: Duration,
}

/// One source's wrong codes.
struct Tries {
	failures: u32,
	locked_until: Option<Instant>,
	last: Instant,
}

/// A code that was not taken: why, and not before when to say so.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
	pub error: SetupError,
	pub answer_at: Instant,
}

impl Gate {
	pub fn new(random: &mut dyn FnMut(&mut [u8]), max_failures: u32, lockout: Duration) -> Gate {
		// 8 characters of 32 (no 0/O, 1/I): 40 bits, read aloud without doubt.
		const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
		let mut code = String::new();
		for i in 0..8 {
			if i == 4 {
				code.push('-');
			}
			code.push(char::from(ALPHABET[pick(random, ALPHABET.len())]));
		}
		Gate { code, sources: HashMap::new(), next_wrong: None, max_failures, lockout }
	}

	pub fn code(&self) -> &str {
		&self.code
	}

	/// Checks a code typed on the web page from `source`. Case, spaces and
	/// dashes do not matter.
	pub fn check(&mut self, given: &str, source: IpAddr, now: Instant) -> Result<(), Refused> {
		if let Some(t) = self.sources.get_mut(&source)
			&& let Some(until) = t.locked_until
		{
			if now < until {
				// Nothing is checked, so saying so at once tells nothing.
				return Err(Refused { error: SetupError::LockedOut(until - now), answer_at: now });
			}
			self.sources.remove(&source);
		}
		let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect::<String>();
		let (a, b) = (norm(given), norm(&self.code));
		// Compared without an early exit, so timing says nothing about the prefix.
		let same = a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
		if same {
			return Ok(());
		}
		self.make_room(source, now);
		let t = self.sources.entry(source).or_insert(Tries { failures: 0, locked_until: None, last: now });
		t.failures += 1;
		t.last = now;
		log::warn!("wrong setup code on the web wizard from {source} ({} of {})", t.failures, self.max_failures);
		if t.failures >= self.max_failures {
			t.locked_until = Some(now + self.lockout);
		}
		let answer_at = self.next_wrong.map_or(now, |next| next.max(now));
		self.next_wrong = Some(answer_at + WRONG_CODE_PACE);
		Err(Refused { error: SetupError::WrongCode, answer_at })
	}

	/// Keeps the table within [`MAX_SOURCES`] before `source` is added.
	fn make_room(&mut self, source: IpAddr, now: Instant) {
		if self.sources.len() < MAX_SOURCES || self.sources.contains_key(&source) {
			return;
		}
		let lockout = self.lockout;
		self.sources.retain(|_, t| t.locked_until.is_some_and(|u| u > now) || now.duration_since(t.last) < lockout);
		if self.sources.len() >= MAX_SOURCES {
			let quietest = self.sources.iter().min_by_key(|(_, t)| t.last).map(|(ip, _)| *ip);
			if let Some(ip) = quietest {
				self.sources.remove(&ip);
			}
		}
	}
}

/// What the console and the boot-partition file say while the box waits to be set up.
pub fn banner(urls: &[String], code: &str, fingerprint: &str) -> String {
	let mut out = String::from("Xerra chat server: not set up yet.\n");
	for (i, u) in urls.iter().enumerate() {
		out.push_str(&format!("  {} {u}\n", if i == 0 { "Open:      " } else { "       or  " }));
	}
	out.push_str(&format!("  Setup code: {code}\n"));
	out.push_str(&format!("  CA SHA-256: {fingerprint}\n"));
	out
}

/// Checks the answers and applies them (see [`commit`]); the plan says what was done.
pub async fn apply(store: &Store, config: &Config, answers: &Answers) -> Result<Plan, SetupError> {
	let rng = ring::rand::SystemRandom::new();
	// The OS random source failing is not something to work around.
	let plan = plan(answers, &mut |b| ring::rand::SecureRandom::fill(&rng, b).expect("system random number generator failed"))?;
	commit(store, config, &plan).await?;
	Ok(plan)
}

/// Applies a plan: derives every account's SCRAM keys off the executor, then
/// writes domain, accounts and groups in one transaction that first checks
/// the box is still unconfigured.
async fn commit(store: &Store, config: &Config, plan: &Plan) -> Result<(), SetupError> {
	let mut logins = vec![(plan.admin.clone(), plan.admin_password.clone())];
	logins.extend(plan.people.iter().map(|p| (p.user.clone(), p.password.clone())));
	let config2 = config.clone();
	let (tx, rx) = async_channel::bounded(1);
	// PBKDF2 twice per account: milliseconds each, too long for the executor.
	std::thread::spawn(move || {
		let accounts: Result<Vec<(String, Account)>, String> =
			logins.into_iter().map(|(u, p)| crate::admin::new_account(&p, &config2).map(|a| (u, a))).collect();
		let _ = tx.send_blocking(accounts);
	});
	let accounts = rx.recv().await.map_err(|_| SetupError::Store("key derivation stopped".into()))?.map_err(SetupError::Store)?;
	let (domain, admin) = (plan.domain.clone(), plan.admin.clone());
	let contacts = admin_contacts(plan);
	let groups: Vec<(String, String)> = plan.people.iter().filter_map(|p| Some((p.department.clone()?, p.user.clone()))).collect();
	let names: Vec<(String, String)> = plan.people.iter().map(|p| (p.user.clone(), crate::groups::named_vcard(&p.name))).collect();
	let job = move |tx: &crate::store::Tx<'_>| -> Result<Result<(), SetupError>, StoreError> {
		if tx.setting("domain")?.is_some_and(|d| !d.is_empty()) {
			return Ok(Err(SetupError::AlreadyConfigured));
		}
		for (user, account) in &accounts {
			if !tx.create_account(user, account)? {
				tx.set_credentials(user, account)?;
			}
		}
		tx.set_admin(&admin, true)?;
		// Each person's full name, where apps (and department contacts'
		// roster names) find it; a vCard already there stays.
		for (user, card) in &names {
			if tx.vcard(user)?.is_none() {
				tx.put_vcard(user, card)?;
			}
		}
		for (group, user) in &groups {
			// Nobody is online yet, so what would be pushed is dropped.
			crate::groups::join(tx, &domain, group, user, &mut Vec::new())?;
		}
		tx.set_setting("domain", &domain)?;
		// People's apps show whom to ask (XEP-0157); an admin's own choice stays.
		if tx.setting("contact_addresses")?.is_none() {
			tx.set_setting("contact_addresses", &contacts)?;
		}
		Ok(Ok(()))
	};
	store.write(job).await.map_err(|e| SetupError::Store(e.to_string()))?
}

/// The `contact_addresses` setting a setup makes: the admin account is
/// whom people ask for help, and whom other servers tell about abuse.
pub fn admin_contacts(plan: &Plan) -> String {
	let uri = format!("xmpp:{}@{}", plan.admin, plan.domain);
	format!("admin={uri},support={uri},abuse={uri}")
}

/// The summary both faces show after a successful setup.
pub fn summary(plan: &Plan, fingerprint: &str) -> String {
	let mut out = format!("Xerra is set up for {}.\n  Admin: {}@{}\n", plan.domain, plan.admin, plan.domain);
	if !plan.people.is_empty() {
		out.push_str("  Accounts (give each person their password; they can change it in their app):\n");
		for p in &plan.people {
			let dep = p.department.as_deref().map(|d| format!("  [{d}]")).unwrap_or_default();
			out.push_str(&format!("    {}@{}  password {}{dep}\n", p.user, plan.domain, p.password));
		}
	}
	out.push_str(&format!("  CA SHA-256: {fingerprint}\n"));
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	fn counter() -> impl FnMut(&mut [u8]) {
		let mut n = 0u8;
		move |b: &mut [u8]| {
			for x in b {
				n = n.wrapping_add(37);
				*x = n;
			}
		}
	}

	fn answers() -> Answers {
		Answers {
			domain: "Xerra.Test".into(),
			admin: String::new(),
			password: "0123456789".into(),
			password2: "0123456789".into(),
			people: "Anna Berg, Sales\n\n  Joan Puig \nanna berg,Sales\nÀlex Vidal, Recerca i Desenvolupament\n".into(),
		}
	}

	#[test]
	fn plan_makes_names_and_passwords() {
		let p = plan(&answers(), &mut counter()).unwrap();
		assert_eq!(p.domain, "xerra.test");
		assert_eq!(p.admin, "admin");
		let users: Vec<&str> = p.people.iter().map(|p| p.user.as_str()).collect();
		assert_eq!(users, ["anna.berg", "joan.puig", "anna.berg2", "àlex.vidal"]);
		assert_eq!(p.people[0].department.as_deref(), Some("Sales"));
		assert_eq!(p.people[1].department, None);
		assert_eq!(p.people[0].password.len(), 14);
		assert_ne!(p.people[0].password, p.people[1].password);
	}

	#[test]
	fn plan_refuses_bad_answers() {
		let mut a = answers();
		a.password2 = "something else".into();
		assert_eq!(plan(&a, &mut counter()).unwrap_err(), SetupError::PasswordMismatch);
		a.password = "short".into();
		assert_eq!(plan(&a, &mut counter()).unwrap_err(), SetupError::PasswordShort);
		let mut a = answers();
		a.domain = "bad domain".into();
		assert!(matches!(plan(&a, &mut counter()), Err(SetupError::Domain(_))));
		let mut a = answers();
		a.admin = "a@b".into();
		assert!(matches!(plan(&a, &mut counter()), Err(SetupError::AdminName(_))));
		let mut a = answers();
		a.people = "ok\n@@@, x".into();
		assert_eq!(plan(&a, &mut counter()).unwrap_err(), SetupError::Person { line: 2, reason: "cannot make a user name from it".into() });
		let mut a = answers();
		a.people = "x\n".repeat(MAX_PEOPLE + 1);
		assert_eq!(plan(&a, &mut counter()).unwrap_err(), SetupError::TooManyPeople);
		let mut a = answers();
		a.domain = String::new();
		assert_eq!(plan(&a, &mut counter()).unwrap().domain, DEFAULT_DOMAIN);
	}

	/// Issue 11: the wizard's admin is the box's first admin (what only
	/// admins may do: invitations that make accounts).
	#[test]
	fn the_wizards_admin_gets_the_admin_role() {
		let t = crate::store::test_support::temp_store();
		let config = Config::new(t.dir.clone());
		let mut a = answers();
		a.admin = "Boss".into();
		futures_lite::future::block_on(apply(&t.store, &config, &a)).unwrap();
		let snap = t.store.snapshot().unwrap();
		assert_eq!(snap.admin_names().unwrap(), ["boss"]);
		assert_eq!(snap.account_count().unwrap(), 5);
	}

	#[test]
	fn gate_locks_after_the_named_number_of_failures() {
		let mut gate = Gate::new(&mut counter(), 3, Duration::from_secs(60));
		let code = gate.code().to_owned();
		assert_eq!(code.len(), 9);
		let ip: IpAddr = "10.0.0.1".parse().unwrap();
		let t = Instant::now();
		let wrong = |r: Result<(), Refused>| r.unwrap_err().error;
		assert_eq!(wrong(gate.check("nope", ip, t)), SetupError::WrongCode);
		assert!(gate.check(&code.to_lowercase().replace('-', " "), ip, t).is_ok());
		assert_eq!(wrong(gate.check("nope", ip, t)), SetupError::WrongCode);
		assert_eq!(wrong(gate.check("nope", ip, t)), SetupError::WrongCode);
		// Locked: even the right code is refused until the lockout ends.
		assert!(matches!(wrong(gate.check(&code, ip, t)), SetupError::LockedOut(_)));
		assert!(gate.check(&code, ip, t + Duration::from_secs(61)).is_ok());
	}

	#[test]
	fn a_lockout_is_per_source_and_the_global_brake_only_slows_guessers() {
		let mut gate = Gate::new(&mut counter(), 2, Duration::from_secs(60));
		let code = gate.code().to_owned();
		let t = Instant::now();
		let guesser: IpAddr = "10.0.0.66".parse().unwrap();
		let admin: IpAddr = "10.0.0.1".parse().unwrap();
		for _ in 0..2 {
			let _ = gate.check("nope", guesser, t);
		}
		assert!(matches!(gate.check(&code, guesser, t).unwrap_err().error, SetupError::LockedOut(_)));
		assert!(gate.check(&code, admin, t).is_ok(), "another address is not locked out");
		// Wrong codes from ever new addresses are answered one per
		// WRONG_CODE_PACE, one after the other...
		let answers: Vec<Instant> = (0..5u8).map(|i| gate.check("nope", IpAddr::from([10, 1, 0, i]), t).unwrap_err().answer_at).collect();
		for pair in answers.windows(2) {
			assert_eq!(pair[1] - pair[0], WRONG_CODE_PACE);
		}
		assert!(answers[0] >= t + 2 * WRONG_CODE_PACE, "after the guesser's two");
		// ...while the right one is taken at once, from anywhere not locked out.
		assert!(gate.check(&code, IpAddr::from([10, 2, 0, 1]), t).is_ok());
	}

	#[test]
	fn the_source_table_stays_bounded() {
		let mut gate = Gate::new(&mut counter(), 5, Duration::from_secs(60));
		let t = Instant::now();
		for i in 0..(3 * MAX_SOURCES as u32) {
			let _ = gate.check("nope", IpAddr::from(i.to_be_bytes()), t + Duration::from_millis(u64::from(i)));
			assert!(gate.sources.len() <= MAX_SOURCES);
		}
		// The newest stay, the quietest went.
		assert!(gate.sources.contains_key(&IpAddr::from((3 * MAX_SOURCES as u32 - 1).to_be_bytes())));
		assert!(!gate.sources.contains_key(&IpAddr::from(0u32.to_be_bytes())));
	}
}
