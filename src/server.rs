//! Wires configuration, storage, sessions and the network together, and
//! owns start-up and shutdown.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::StreamExt as _;
use futures_rustls::rustls::ServerConfig;
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::config::Config;
use crate::net::ca::Ca;
use crate::net::guard::Guard;
use crate::sessions::Sessions;
use crate::setup::{Answers, Gate, Plan, SetupError};
use crate::store::{Store, StoreError};
use crate::xmpp::error::{StreamCondition, StreamError};

/// Everything the running server shares between connections. Lives on the
/// executor thread only.
pub struct Server {
	pub config: Config,
	pub store: Store,
	pub sessions: RefCell<Sessions>,
	pub guard: RefCell<Guard>,
	pub tls: RefCell<Arc<ServerConfig>>,
	/// The same for the HTTPS port (its ALPN is http/1.1); see [`Server::set_tls`].
	pub https_tls: RefCell<Arc<ServerConfig>>,
	/// The certificate `tls` presents (DER), for the web page's fingerprints.
	pub tls_leaf: RefCell<Vec<u8>>,
	/// RFC 5929 tls-server-end-point data of that certificate (FAST -ENDP),
	/// worked out once per certificate, not per connection.
	pub tls_end_point: RefCell<Vec<u8>>,
	pub started: Instant,
	/// Client feature sets learnt from XEP-0115 caps.
	pub caps: RefCell<crate::features::caps::Caps>,
	/// Stream-managed sessions a client may resume (XEP-0198).
	pub resumable: RefCell<crate::net::sm::Registry>,
	/// Every account's XEP-0191 block list.
	pub blocklists: RefCell<crate::features::blocking::Blocklists>,
	/// Every account's XEP-0313 archiving preferences.
	pub mam_prefs: RefCell<crate::features::mam::Prefs>,
	/// The rooms of `rooms.<domain>` (XEP-0045).
	pub muc: RefCell<crate::features::muc::Service>,
	/// Open XEP-0363 upload slots.
	pub upload_slots: RefCell<crate::features::upload::Slots>,
	/// Photo hashes for presence (XEP-0398).
	pub avatar_hashes: RefCell<crate::features::avatar::Hashes>,
	/// Every account's XEP-0357 push registrations.
	pub push: RefCell<crate::features::push::Registrations>,
	/// Connected external components (XEP-0114).
	pub remotes: RefCell<crate::remote::Remotes>,
	/// The HTTPS port uploads go to, once it listens.
	pub upload_port: std::cell::Cell<Option<u16>>,
	/// The client ports (STARTTLS, direct TLS) as bound, for the web page.
	pub c2s_ports: std::cell::Cell<(Option<u16>, Option<u16>)>,
	/// The SOCKS5 proxy's port (XEP-0065), once it listens.
	pub proxy_port: std::cell::Cell<Option<u16>>,
	/// Streams waiting at the proxy.
	pub proxy: RefCell<crate::net::proxy::Registry>,
	/// The web console's logins (on the HTTPS port).
	pub console: RefCell<crate::console::State>,
	/// Whether a backup is being made (scheduled or from the console).
	pub backups: crate::autobackup::Runner,
	/// The statistics' time series and last measurements; `None` when off.
	pub stats: Option<crate::stats::sampler::Stats>,
	fake_secret: [u8; 32],
	/// Makes our dialback keys (XEP-0185); new at every start.
	pub dialback_secret: [u8; 32],
	rng: SystemRandom,
}

impl Server {
	/// A new certificate (renewed, or reloaded on SIGHUP) for every port.
	pub fn set_tls(&self, cfg: Arc<ServerConfig>, leaf: Vec<u8>) {
		*self.https_tls.borrow_mut() = https_config(&cfg);
		*self.tls.borrow_mut() = cfg;
		*self.tls_end_point.borrow_mut() = crate::net::tls::server_end_point(&leaf);
		*self.tls_leaf.borrow_mut() = leaf;
	}

	pub fn new(config: Config, store: Store, tls: Arc<ServerConfig>) -> Server {
		let rows = store.snapshot().and_then(|s| s.all_blocklists()).unwrap_or_else(|e| {
			log::error!("block lists: {e}");
			Vec::new()
		});
		let blocklists = crate::features::blocking::Blocklists::load(rows);
		let prefs = store.snapshot().and_then(|s| s.all_mam_prefs()).unwrap_or_else(|e| {
			log::error!("archive preferences: {e}");
			Vec::new()
		});
		let mam_prefs = crate::features::mam::Prefs::load(prefs);
		let push = store.snapshot().and_then(|s| s.all_push()).unwrap_or_else(|e| {
			log::error!("push registrations: {e}");
			Vec::new()
		});
		let push = crate::features::push::Registrations::load(push);
		let mut remotes = crate::remote::Remotes::default();
		let components = store.snapshot().and_then(|s| s.component_domains()).unwrap_or_else(|e| {
			log::error!("components: {e}");
			Vec::new()
		});
		for d in components {
			remotes.set_component(&d, true);
		}
		let service = crate::features::muc::service_domain(&config.domain);
		let muc =
			crate::features::muc::Service::load(&store, &service, (config.limits.muc_history_messages, config.limits.muc_history_bytes));
		let stats = config.statistics.then(|| crate::stats::sampler::Stats::load(&store));
		let rng = SystemRandom::new();
		let mut fake_secret = [0u8; 32];
		fill(&rng, &mut fake_secret);
		let mut dialback_secret = [0u8; 32];
		fill(&rng, &mut dialback_secret);
		Server {
			config,
			store,
			sessions: RefCell::default(),
			guard: RefCell::default(),
			https_tls: RefCell::new(https_config(&tls)),
			tls: RefCell::new(tls),
			tls_leaf: RefCell::default(),
			tls_end_point: RefCell::default(),
			started: Instant::now(),
			caps: RefCell::default(),
			resumable: RefCell::default(),
			blocklists: RefCell::new(blocklists),
			mam_prefs: RefCell::new(mam_prefs),
			muc: RefCell::new(muc),
			upload_slots: RefCell::default(),
			avatar_hashes: RefCell::default(),
			upload_port: std::cell::Cell::new(None),
			c2s_ports: std::cell::Cell::default(),
			proxy_port: std::cell::Cell::new(None),
			proxy: RefCell::default(),
			remotes: RefCell::new(remotes),
			push: RefCell::new(push),
			console: RefCell::new(crate::console::State::new(&mut |b| fill(&rng, b))),
			backups: crate::autobackup::Runner::default(),
			stats,
			fake_secret,
			dialback_secret,
			rng,
		}
	}

	pub fn random(&self, buf: &mut [u8]) {
		fill(&self.rng, buf);
	}

	/// Secret behind fake SCRAM challenges for unknown users.
	pub fn fake_secret(&self) -> &[u8] {
		&self.fake_secret
	}

	/// A fresh random stream id.
	pub fn new_id(&self) -> String {
		let mut b = [0u8; 12];
		self.random(&mut b);
		b.iter().map(|x| format!("{x:02x}")).collect()
	}
}

fn fill(rng: &SystemRandom, buf: &mut [u8]) {
	// The OS random source failing is not something a server can work around.
	rng.fill(buf).expect("the system random number generator failed");
}

/// Why the server could not start or stopped badly.
#[derive(Debug)]
pub enum RunError {
	Store(StoreError),
	Tls(crate::net::tls::TlsError),
	Listen(String),
	Signals(std::io::Error),
	/// Putting the wizard's restore in place, or starting again after it.
	Restore(String),
}

impl std::fmt::Display for RunError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Store(e) => write!(f, "{e}"),
			Self::Tls(e) => write!(f, "{e}"),
			Self::Listen(e) => write!(f, "{e}"),
			Self::Signals(e) => write!(f, "cannot handle signals: {e}"),
			Self::Restore(e) => write!(f, "restore: {e}"),
		}
	}
}

impl std::error::Error for RunError {}

/// What the process shares between the web page, the control socket and,
/// once the box is set up, the XMPP server. Lives on the executor thread only.
pub struct App {
	pub store: Store,
	config: RefCell<Config>,
	pub ca: Ca,
	/// The setup code and its attempt count; `Some` while the box is unconfigured.
	gate: RefCell<Option<Gate>>,
	pub server: RefCell<Option<Rc<Server>>>,
	/// Tells the main loop that setup has just been applied.
	setup_done: async_channel::Sender<()>,
	banner: RefCell<String>,
	/// A backup unpacked and checked by the wizard's restore, put in place
	/// after the store is shut down; then the process starts again (`run`).
	restored: RefCell<Option<crate::backup::Staged>>,
	/// Tells the main loop to stop for that.
	restart: async_channel::Sender<()>,
}

impl App {
	pub fn setup_open(&self) -> bool {
		self.gate.borrow().is_some()
	}

	pub fn domain(&self) -> String {
		self.config.borrow().domain.clone()
	}

	pub fn config(&self) -> Config {
		self.config.borrow().clone()
	}

	pub fn limits(&self) -> crate::config::Limits {
		self.config.borrow().limits.clone()
	}

	/// The first-boot banner (empty once set up).
	pub fn banner(&self) -> String {
		self.banner.borrow().clone()
	}

	/// Checks a setup code typed on the web page from `source`; a wrong one
	/// is answered when the gate's global brake says (see `setup::Gate`).
	pub async fn check_code(&self, code: &str, source: std::net::IpAddr) -> Result<(), SetupError> {
		let checked = match self.gate.borrow_mut().as_mut() {
			Some(gate) => gate.check(code, source, Instant::now()),
			None => return Err(SetupError::AlreadyConfigured),
		};
		match checked {
			Ok(()) => Ok(()),
			Err(refused) => {
				async_io::Timer::at(refused.answer_at).await;
				Err(refused.error)
			}
		}
	}

	/// The wizard's "Restore from a backup" (the console's face; one engine):
	/// unpacks and checks `file` with `secret` beside the live data while the
	/// wizard goes on waiting, so a wrong key or a bad file changes nothing
	/// and leaves the box in the wizard. Once it is good the wizard closes;
	/// [`App::restart`] then puts it in place and starts the box again with
	/// the backup's domain, accounts and CA.
	pub async fn restore_setup(&self, file: &str, secret: &str) -> Result<String, String> {
		if !self.setup_open() {
			return Err(SetupError::AlreadyConfigured.to_string());
		}
		let (file, secret, data_dir) = (std::path::PathBuf::from(file), crate::backup::Secret::parse(secret), self.config().data_dir);
		let staged = blocking::unblock(move || crate::backup::stage(&file, &secret, &data_dir)).await.map_err(|e| e.to_string())?;
		// Another face may have finished meanwhile.
		if !self.setup_open() {
			return Err(SetupError::AlreadyConfigured.to_string());
		}
		let h = &staged.manifest().header;
		let text = format!(
			"Restored the backup of {} made {} ({} accounts, {} rooms, {} archived messages). Xerra starts again with it now.\n",
			h.domain,
			crate::console::html::date(h.created),
			h.counts.accounts,
			h.counts.rooms,
			h.counts.archived
		);
		log::info!("setup: restoring a backup of {} instead of the questions", h.domain);
		self.gate.borrow_mut().take();
		self.banner.borrow_mut().clear();
		*self.restored.borrow_mut() = Some(staged);
		Ok(text)
	}

	/// After a restore was answered: the main loop stops, the store shuts
	/// down, the restore is committed and the process runs again.
	pub fn restart(&self) {
		if self.restored.borrow().is_some() {
			let _ = self.restart.try_send(());
		}
	}

	/// Applies the first-boot answers (from the web page or the console) and
	/// wakes the main loop, which starts the XMPP side.
	pub async fn finish_setup(&self, answers: &Answers) -> Result<Plan, SetupError> {
		if !self.setup_open() {
			return Err(SetupError::AlreadyConfigured);
		}
		let plan = crate::setup::apply(&self.store, &self.config(), answers).await?;
		self.gate.borrow_mut().take();
		self.banner.borrow_mut().clear();
		let mut config = self.config.borrow_mut();
		config.domain = plan.domain.clone();
		if config.contact_addresses.is_empty() {
			// Made by the setup from valid names, so it parses.
			let _ = config.set("contact_addresses", &crate::setup::admin_contacts(&plan));
		}
		drop(config);
		let _ = self.setup_done.try_send(());
		Ok(plan)
	}
}

/// Runs until SIGTERM or SIGINT; SIGHUP reloads the certificate. An
/// unconfigured box first serves only the setup wizard (web page and control
/// socket), then starts XMPP in the same process once the wizard is done.
pub fn run(config: Config, store: Store) -> Result<(), RunError> {
	use async_signal::{Signal, Signals};

	let mut signals = Signals::new([Signal::Term, Signal::Int, Signal::Hup]).map_err(RunError::Signals)?;
	// Everything peers make us hold is counted on this thread (`mem`).
	crate::mem::set_limit(config.limits.max_memory_bytes);
	let ca = Ca::ensure(&config.data_dir.join("tls")).map_err(RunError::Tls)?;
	let web = match config.http_port {
		Some(port) => crate::net::listen_on(&config.listen, port).map_err(RunError::Listen)?,
		None => Vec::new(),
	};
	let control = crate::control::listen(&config.data_dir).map_err(|e| RunError::Listen(e.to_string()))?;
	let (setup_done, setup_wait) = async_channel::bounded(1);
	let (restart, restart_wait) = async_channel::bounded(1);
	let rng = SystemRandom::new();
	let gate =
		(!config.configured()).then(|| Gate::new(&mut |b| fill(&rng, b), config.limits.setup_code_failures, config.limits.setup_lockout));
	let mdns = crate::mdns::Announcer::start(&config);
	let app = Rc::new(App {
		store: store.clone(),
		config: RefCell::new(config),
		ca,
		gate: RefCell::new(gate),
		server: RefCell::default(),
		setup_done,
		banner: RefCell::default(),
		restored: RefCell::default(),
		restart,
	});
	let ex = Rc::new(async_executor::LocalExecutor::new());
	for (addr, _) in &web {
		println!("listening http {addr}");
	}
	let web_port = web.first().map(|(a, _)| a.port());
	if let (Some(m), Some(port)) = (&mdns, web_port) {
		m.announce("_http._tcp.local.", "Xerra", port, &[("path", "/")]);
	}
	if app.setup_open() {
		show_banner(&app, web_port, mdns.as_ref().map(crate::mdns::Announcer::host));
	} else {
		start_xmpp(&app, &ex, mdns.as_ref())?;
	}

	let result = async_io::block_on(ex.run(async {
		for (_, l) in web {
			ex.spawn(crate::http::serve(app.clone(), ex.clone(), l)).detach();
		}
		ex.spawn(crate::control::serve(app.clone(), ex.clone(), control)).detach();
		ex.spawn(housekeeping(app.clone())).detach();
		ex.spawn(crate::notify::watchdog()).detach();
		enum Event {
			Signal(Option<std::io::Result<Signal>>),
			SetupDone,
			Restart,
		}
		loop {
			let signal = async { Event::Signal(signals.next().await) };
			let setup = async {
				let _ = setup_wait.recv().await;
				Event::SetupDone
			};
			let restart = async {
				let _ = restart_wait.recv().await;
				Event::Restart
			};
			match futures_lite::FutureExt::or(futures_lite::FutureExt::or(signal, setup), restart).await {
				Event::Restart => {
					log::info!("setup: stopping to put the restored backup in place");
					break;
				}
				Event::SetupDone => {
					log::info!("setup done: starting XMPP for {}", app.domain());
					start_xmpp(&app, &ex, mdns.as_ref())?;
				}
				Event::Signal(Some(Ok(Signal::Hup))) => {
					let server = app.server.borrow().clone();
					let Some(server) = server else { continue };
					match crate::net::tls::load_with_leaf(&server.config) {
						Ok((cfg, leaf)) => {
							server.set_tls(cfg, leaf);
							log::info!("TLS certificate reloaded");
						}
						Err(e) => log::error!("TLS reload failed, keeping the old certificate: {e}"),
					}
				}
				Event::Signal(Some(Err(e))) => log::error!("signal: {e}"),
				Event::Signal(_) => break,
			}
		}
		log::info!("shutting down");
		// Not when the restored box starts again in this process: systemd
		// would take STOPPING=1 as the service stopping for good, and kill
		// it TimeoutStopSec later (then restart it).
		if app.restored.borrow().is_none() {
			crate::notify::stopping();
		}
		let server = app.server.borrow().clone();
		if let Some(server) = server {
			shutdown(&server).await;
		}
		Ok(())
	}));
	if let Some(m) = mdns {
		m.stop();
	}
	crate::control::remove(&app.config.borrow().data_dir);
	// The writer finishes every queued job before it stops.
	store.shutdown();
	log::info!("stopped");
	let restored = app.restored.borrow_mut().take();
	if let Some(staged) = restored {
		result?;
		return start_again(staged);
	}
	result
}

/// Puts a restore from the wizard in place (its one commit rename; a crash
/// before or after is finished at the next start, `backup::recover`) and
/// runs this program again in this process (same PID for systemd, same
/// arguments), which now finds the restored box set up.
fn start_again(staged: crate::backup::Staged) -> Result<(), RunError> {
	use std::os::unix::process::CommandExt as _;
	let m = staged.commit().map_err(|e| RunError::Restore(e.to_string()))?;
	log::info!("restored the backup of {}: starting again", m.header.domain);
	let exe = std::env::current_exe().map_err(|e| RunError::Restore(e.to_string()))?;
	let err = std::process::Command::new(exe).args(std::env::args_os().skip(1)).exec();
	Err(RunError::Restore(format!("cannot start again: {err}")))
}

/// Prints the first-boot banner, writes it to `banner_file`, tells systemd.
fn show_banner(app: &App, web_port: Option<u16>, mdns_host: Option<&str>) {
	let config = app.config();
	let urls = match web_port {
		Some(port) => crate::net::page_urls(&config.listen, port, mdns_host),
		None => vec!["(the web page is off: run `xerra setup` on the console)".to_owned()],
	};
	let code = app.gate.borrow().as_ref().map(|g| g.code().to_owned()).unwrap_or_default();
	let text = crate::setup::banner(&urls, &code, &app.ca.fingerprint());
	print!("{text}");
	if let Some(path) = &config.banner_file
		&& let Err(e) = std::fs::write(path, &text)
	{
		log::warn!("cannot write the setup banner to {}: {e}", path.display());
	}
	*app.banner.borrow_mut() = text;
	log::info!("not set up yet: waiting for the setup wizard");
	crate::notify::ready("waiting for first-boot setup");
}

/// Opens the XMPP listeners and starts serving the configured domain.
fn start_xmpp(
	app: &Rc<App>,
	ex: &Rc<async_executor::LocalExecutor<'static>>,
	mdns: Option<&crate::mdns::Announcer>,
) -> Result<(), RunError> {
	let mut config = app.config();
	let turn_secret = crate::features::coturn::ensure_secret(&mut config);
	let (tls, leaf) = crate::net::tls::load_with_leaf(&config).map_err(RunError::Tls)?;
	let listeners = crate::net::listen(&config).map_err(RunError::Listen)?;
	if let Some(path) = &config.banner_file {
		// The code in it is dead now; say so instead of leaving it around.
		let _ = std::fs::write(path, format!("Xerra is set up for {}.\nCA SHA-256: {}\n", config.domain, app.ca.fingerprint()));
	}
	let server = Rc::new(Server::new(config, app.store.clone(), tls));
	*server.tls_end_point.borrow_mut() = crate::net::tls::server_end_point(&leaf);
	*server.tls_leaf.borrow_mut() = leaf;
	for l in &listeners {
		println!("listening {} {}", l.kind.name(), l.addr);
		let (c2s, direct) = server.c2s_ports.get();
		server.c2s_ports.set(match l.kind {
			crate::net::Kind::C2s => (c2s.or(Some(l.addr.port())), direct),
			crate::net::Kind::C2sTls => (c2s, direct.or(Some(l.addr.port()))),
		});
		if let (Some(m), crate::net::Kind::C2s) = (mdns, l.kind) {
			m.announce("_xmpp-client._tcp.local.", &server.config.domain, l.addr.port(), &[]);
		}
	}
	let everywhere = server.config.listen.clone();
	// File transfer (XEP-0363) over HTTPS; the XMPP side works without it.
	if let Some(port) = server.config.upload_port {
		extra_listener("upload", &everywhere, port, "file transfer is off", |addr, l| {
			server.upload_port.set(Some(addr.port()));
			ex.spawn(crate::http::upload::serve(server.clone(), ex.clone(), l)).detach();
		});
	}
	// File transfer between clients (XEP-0065) when they cannot connect
	// directly; announced only while it listens.
	if let Some(port) = server.config.proxy_port {
		extra_listener("proxy", &everywhere, port, "the bytestreams proxy is off", |addr, l| {
			server.proxy_port.set(Some(addr.port()));
			ex.spawn(crate::net::proxy::accept_loop(server.clone(), ex.clone(), l)).detach();
		});
	}
	// Federation: other servers connect here; our links to them are dialled
	// on demand.
	if let Some(port) = server.config.s2s_port {
		let why = "no server-to-server listener (peers cannot check our dialback keys)";
		extra_listener("s2s", &everywhere, port, why, |_, l| {
			let s = server.clone();
			ex.spawn(crate::net::accept_each(ex.clone(), l, move |tcp, peer| crate::net::s2s::serve(s.clone(), tcp, peer))).detach();
		});
		// Links are dialled in any case, so what waits for one always ends
		// (delivered or bounced).
		ex.spawn(crate::net::s2s::dialer(server.clone(), ex.clone())).detach();
	}
	// External components (XEP-0114) run on the box itself: loopback only.
	if let Some(port) = server.config.component_port {
		use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
		let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
		extra_listener("component", &loopback, port, "external components are off", |_, l| {
			let s = server.clone();
			ex.spawn(crate::net::accept_each(ex.clone(), l, move |tcp, peer| crate::net::component::serve(s.clone(), tcp, peer))).detach();
		});
	}
	println!("ready domain={} data={}", server.config.domain, server.config.data_dir.display());
	log::info!("xerra {} serving {}", env!("CARGO_PKG_VERSION"), server.config.domain);
	let features: Vec<String> = crate::features::ALL.iter().map(|f| format!("{} ({})", f.name, f.spec)).collect();
	log::info!("features: {}", features.join(", "));
	match server.store.snapshot().and_then(|s| s.sha1_only_count()) {
		Ok(0) | Err(_) => {}
		Ok(n) => log::info!(
			"SCRAM-SHA-256 is not offered: {n} imported accounts have SCRAM-SHA-1 keys only (clients that pick the strongest \
			 mechanism would fail); each gets both sets at a PLAIN login or with a new password"
		),
	}
	for l in listeners {
		ex.spawn(crate::net::accept_loop(server.clone(), ex.clone(), l)).detach();
	}
	ex.spawn(crate::stats::sampler::run(server.clone())).detach();
	ex.spawn(crate::autobackup::run(server.clone())).detach();
	ex.spawn(crate::features::coturn::apply(server.clone(), turn_secret)).detach();
	*app.server.borrow_mut() = Some(server);
	crate::notify::ready(&format!("serving {}", app.domain()));
	ex.spawn(forget_startup_code()).detach();
	Ok(())
}

/// The HTTPS port's TLS: the XMPP ports' with its own ALPN.
fn https_config(tls: &Arc<ServerConfig>) -> Arc<ServerConfig> {
	let mut c = (**tls).clone();
	c.alpn_protocols = vec![b"http/1.1".to_vec()];
	Arc::new(c)
}

/// Binds a port beside the XMPP ones and hands each listener to `start`;
/// one that cannot be bound is logged with `off` (what that means) and the
/// server runs without it.
fn extra_listener(
	kind: &str,
	ips: &[std::net::IpAddr],
	port: u16,
	off: &str,
	mut start: impl FnMut(std::net::SocketAddr, async_net::TcpListener),
) {
	match crate::net::listen_on(ips, port) {
		Ok(ls) => {
			for (addr, l) in ls {
				println!("listening {kind} {addr}");
				start(addr, l);
			}
		}
		Err(e) => log::error!("{off}: {e}"),
	}
}

/// How often a running server checks whether its certificate is due for renewal.
const CERT_CHECK: Duration = Duration::from_secs(86_400);

/// Reissues the CA-signed certificate when it is due (a box may run for
/// longer than a certificate lives) and swaps it in for new connections.
fn renew_certificate(app: &App) {
	let server = app.server.borrow().clone();
	let Some(server) = server else { return };
	let config = &server.config;
	if config.tls_cert.is_some() {
		return; // the admin's files: SIGHUP reloads them
	}
	let path = config.data_dir.join("tls").join(format!("{}.crt", config.domain));
	if crate::net::ca::is_due(&path) {
		match crate::net::tls::load_with_leaf(config) {
			Ok((cfg, leaf)) => {
				server.set_tls(cfg, leaf);
			}
			Err(e) => log::error!("certificate renewal failed, keeping the old one: {e}"),
		}
	}
}

/// Memory held for peers (see `mem`) that, once mostly freed, is worth
/// giving back to the system.
const TRIM_AFTER_BYTES: usize = 1 << 20;

/// How often the server looks for memory to give back.
const HOUSEKEEPING: Duration = Duration::from_secs(10);
const TURN_REFRESH: Duration = Duration::from_secs(60);

/// Gives freed memory back to the operating system after many clients have
/// left: the allocator keeps freed pages otherwise, and on a small box that
/// memory belongs to everything else.
async fn housekeeping(app: Rc<App>) {
	let mut peak = 0usize;
	let mut last_cert_check = Instant::now();
	let mut last_expiry: Option<Instant> = None;
	let mut last_turn = Instant::now();
	loop {
		async_io::Timer::after(HOUSEKEEPING).await;
		if last_cert_check.elapsed() >= CERT_CHECK {
			last_cert_check = Instant::now();
			renew_certificate(&app);
		}
		// Archive retention: soon after start, then daily.
		let serving = app.server.borrow().clone();
		if last_expiry.is_none_or(|t| t.elapsed() >= CERT_CHECK)
			&& let Some(server) = serving
		{
			last_expiry = Some(Instant::now());
			crate::features::mam::expire(&server);
			crate::http::upload::expire(&server).await;
		}
		// The box's coturn is told the box's addresses (they may change: DHCP).
		let serving = app.server.borrow().clone();
		if last_turn.elapsed() >= TURN_REFRESH
			&& let Some(server) = serving
			&& server.config.turn.mode == crate::features::turn::Mode::Local
		{
			last_turn = Instant::now();
			crate::features::coturn::refresh(server.config.clone()).await;
		}
		let now = app.server.borrow().as_ref().map_or(0, |s| s.guard.borrow().connections());
		peak = peak.max(now);
		// A quarter of the connections (and at least 64) gone since the
		// peak, or most of what peers made us hold (an attack, a burst) freed.
		let held_peak = crate::mem::take_peak();
		let held_gone = held_peak >= TRIM_AFTER_BYTES && crate::mem::used() < held_peak / 2;
		if peak - now >= 64.max(peak / 4) || held_gone {
			log::debug!("giving memory back: {now} connections (peak {peak}), {} bytes held (peak {held_peak})", crate::mem::used());
			release_memory();
			peak = now;
		}
	}
}

/// Once serving has settled, unmaps the code pages start-up touched (see
/// code_pages.rs): an idle box then holds only the code it runs.
async fn forget_startup_code() {
	async_io::Timer::after(Duration::from_secs(3)).await;
	match blocking::unblock(crate::code_pages::drop_startup_pages).await {
		Ok(d) => log::info!("start-up code pages handed back: {} KiB in {} mappings", d.resident_kib, d.mappings),
		Err(e) => log::warn!("could not hand back start-up code pages: {e}"),
	}
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_memory() {
	// SAFETY: malloc_trim only walks the allocator's own free lists.
	unsafe {
		libc::malloc_trim(0);
	}
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_memory() {
	// musl's allocator returns freed pages by itself.
}

/// Ends every session with `system-shutdown` and waits (briefly) for them
/// to flush and go.
async fn shutdown(server: &Server) {
	crate::stats::sampler::flush(server).await;
	for s in server.sessions.borrow().all() {
		s.close(StreamError::new(StreamCondition::SystemShutdown));
	}
	let deadline = Instant::now() + Duration::from_secs(3);
	while server.sessions.borrow().count() > 0 && Instant::now() < deadline {
		async_io::Timer::after(Duration::from_millis(20)).await;
	}
}
