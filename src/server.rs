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
use crate::net::guard::Guard;
use crate::sessions::Sessions;
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
	pub started: Instant,
	fake_secret: [u8; 32],
	rng: SystemRandom,
}

impl Server {
	pub fn new(config: Config, store: Store, tls: Arc<ServerConfig>) -> Server {
		let rng = SystemRandom::new();
		let mut fake_secret = [0u8; 32];
		fill(&rng, &mut fake_secret);
		Server {
			config,
			store,
			sessions: RefCell::default(),
			guard: RefCell::default(),
			tls: RefCell::new(tls),
			started: Instant::now(),
			fake_secret,
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
}

impl std::fmt::Display for RunError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Store(e) => write!(f, "{e}"),
			Self::Tls(e) => write!(f, "{e}"),
			Self::Listen(e) => write!(f, "{e}"),
			Self::Signals(e) => write!(f, "cannot handle signals: {e}"),
		}
	}
}

impl std::error::Error for RunError {}

/// Runs the server until SIGTERM or SIGINT; SIGHUP reloads the certificate.
pub fn run(config: Config, store: Store) -> Result<(), RunError> {
	use async_signal::{Signal, Signals};

	let mut signals = Signals::new([Signal::Term, Signal::Int, Signal::Hup]).map_err(RunError::Signals)?;
	let tls = crate::net::tls::load(&config).map_err(RunError::Tls)?;
	let listeners = crate::net::listen(&config).map_err(RunError::Listen)?;
	let server = Rc::new(Server::new(config, store.clone(), tls));
	let ex = Rc::new(async_executor::LocalExecutor::new());
	let control = crate::control::listen(&server.config.data_dir).map_err(|e| RunError::Listen(e.to_string()))?;

	for l in &listeners {
		println!("listening {} {}", l.kind.name(), l.addr);
	}
	println!("ready domain={} data={}", server.config.domain, server.config.data_dir.display());
	log::info!("xerra {} serving {}", env!("CARGO_PKG_VERSION"), server.config.domain);
	let features: Vec<String> = crate::features::ALL.iter().map(|f| format!("{} ({})", f.name, f.spec)).collect();
	log::info!("features: {}", features.join(", "));

	let result = async_io::block_on(ex.run(async {
		for l in listeners {
			ex.spawn(crate::net::accept_loop(server.clone(), ex.clone(), l)).detach();
		}
		ex.spawn(crate::control::serve(server.clone(), ex.clone(), control)).detach();
		ex.spawn(housekeeping(server.clone())).detach();
		while let Some(sig) = signals.next().await {
			match sig {
				Ok(Signal::Hup) => match crate::net::tls::load(&server.config) {
					Ok(cfg) => {
						*server.tls.borrow_mut() = cfg;
						log::info!("TLS certificate reloaded");
					}
					Err(e) => log::error!("TLS reload failed, keeping the old certificate: {e}"),
				},
				Ok(_) => break,
				Err(e) => log::error!("signal: {e}"),
			}
		}
		log::info!("shutting down");
		shutdown(&server).await;
		Ok(())
	}));
	crate::control::remove(&server.config.data_dir);
	// The writer finishes every queued job before it stops.
	store.shutdown();
	log::info!("stopped");
	result
}

/// How often the server looks for memory to give back.
const HOUSEKEEPING: Duration = Duration::from_secs(10);

/// Gives freed memory back to the operating system after many clients have
/// left: the allocator keeps freed pages otherwise, and on a small box that
/// memory belongs to everything else.
async fn housekeeping(server: Rc<Server>) {
	let mut peak = 0usize;
	loop {
		async_io::Timer::after(HOUSEKEEPING).await;
		let now = server.guard.borrow().connections();
		peak = peak.max(now);
		// A quarter of the connections (and at least 64) gone since the peak.
		if peak - now >= 64.max(peak / 4) {
			release_memory();
			peak = now;
		}
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
	for s in server.sessions.borrow().all() {
		s.close(StreamError::new(StreamCondition::SystemShutdown));
	}
	let deadline = Instant::now() + Duration::from_secs(3);
	while server.sessions.borrow().count() > 0 && Instant::now() < deadline {
		async_io::Timer::after(Duration::from_millis(20)).await;
	}
}
