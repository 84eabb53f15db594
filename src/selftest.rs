//! `xerra self-test`: a quick check that this binary works on this machine
//! (or under qemu-user for a cross build): the database, the CA and a TLS
//! handshake verified against it, SCRAM keys, the XML reader, and the
//! executor with a loopback socket. Each step prints a line; any failure
//! is an error.

use std::sync::Arc;
use std::time::Instant;

use futures_rustls::rustls;

use crate::config::Config;
use crate::store::Store;

pub fn run() -> Result<(), String> {
	let started = Instant::now();
	let dir = std::env::temp_dir().join(format!("xerra-self-test-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	let result = steps(&dir);
	let _ = std::fs::remove_dir_all(&dir);
	result?;
	println!("self-test ok ({} ms, {})", started.elapsed().as_millis(), std::env::consts::ARCH);
	Ok(())
}

fn steps(dir: &std::path::Path) -> Result<(), String> {
	let mut config = Config::new(dir.to_owned());
	config.set("domain", "self-test.example")?;
	config.set("scram_iterations", "4096")?;

	// Database: one durable write, read back through a snapshot.
	let store = Store::open(dir, 1 << 20).map_err(|e| format!("database: {e}"))?;
	let account = crate::admin::new_account("self-test password", &config)?;
	let sha256 = account.sha256.clone();
	let written = store.write_blocking(move |tx| tx.create_account("tester", &account));
	let read = store.snapshot().and_then(|s| s.account("tester"));
	store.shutdown();
	match (written, read) {
		(Ok(true), Ok(Some(a))) if a.sha256 == sha256 => println!("database: ok"),
		(w, r) => return Err(format!("database: write {w:?}, read back {:?}", r.map(|a| a.is_some()))),
	}

	// SCRAM keys: the stored key checks the password and refuses another.
	let hash = crate::proto::sasl::scram::ScramHash::Sha256;
	let prepared = crate::xmpp::jid::prep_password("self-test password").ok_or("password preparation failed")?;
	if !sha256.verify_password(hash, &prepared) || sha256.verify_password(hash, "wrong") {
		return Err("scram: password check failed".into());
	}
	println!("scram: ok");

	// CA, certificate, and a TLS 1.3 handshake in memory that trusts only the CA.
	let server_config = crate::net::tls::load(&config).map_err(|e| format!("tls: {e}"))?;
	let ca = crate::net::ca::Ca::ensure(&dir.join("tls")).map_err(|e| format!("ca: {e}"))?;
	handshake(server_config, &ca.cert_der, "self-test.example")?;
	println!("tls: ok (CA {})", &ca.fingerprint()[..11]);

	// XML: a stream header and a stanza through the limited reader.
	let mut reader = crate::xmpp::reader::StreamReader::new(crate::xmpp::reader::XmlLimits {
		max_stanza_bytes: 4096,
		max_depth: 8,
		max_attrs: 8,
		max_elements: 64,
	});
	let mut buf: &[u8] = b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='self-test.example' version='1.0'><message to='a@b'><body>hi</body></message>";
	let mut events = 0;
	while let Some(_event) = reader.next(&mut buf).map_err(|e| format!("xml: {e:?}"))? {
		events += 1;
	}
	if events != 2 {
		return Err(format!("xml: {events} events instead of 2"));
	}
	println!("xml: ok");

	// Executor and sockets: an echo over loopback.
	let echoed = async_io::block_on(async {
		use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
		let listener = async_net::TcpListener::bind("127.0.0.1:0").await?;
		let addr = listener.local_addr()?;
		let server = async {
			let (mut s, _) = listener.accept().await?;
			let mut b = [0u8; 5];
			s.read_exact(&mut b).await?;
			s.write_all(&b).await?;
			Ok::<_, std::io::Error>(())
		};
		let client = async {
			let mut c = async_net::TcpStream::connect(addr).await?;
			c.write_all(b"hello").await?;
			let mut b = [0u8; 5];
			c.read_exact(&mut b).await?;
			Ok::<_, std::io::Error>(b)
		};
		let (s, c) = futures_lite::future::zip(server, client).await;
		s?;
		c
	})
	.map_err(|e| format!("sockets: {e}"))?;
	if &echoed != b"hello" {
		return Err("sockets: echo differs".into());
	}
	println!("sockets: ok");
	Ok(())
}

/// Runs a client and a server connection against each other in memory.
fn handshake(server_config: Arc<rustls::ServerConfig>, ca_der: &[u8], name: &str) -> Result<(), String> {
	let mut roots = rustls::RootCertStore::empty();
	roots.add(ca_der.to_vec().into()).map_err(|e| format!("tls: {e}"))?;
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let client_config = rustls::ClientConfig::builder_with_provider(provider)
		.with_protocol_versions(&[&rustls::version::TLS13])
		.map_err(|e| format!("tls: {e}"))?
		.with_root_certificates(roots)
		.with_no_client_auth();
	let name = rustls::pki_types::ServerName::try_from(name.to_owned()).map_err(|e| format!("tls: {e}"))?;
	let mut client = rustls::ClientConnection::new(Arc::new(client_config), name).map_err(|e| format!("tls: {e}"))?;
	let mut server = rustls::ServerConnection::new(server_config).map_err(|e| format!("tls: {e}"))?;
	for _ in 0..10 {
		let mut wire = Vec::new();
		client.write_tls(&mut wire).map_err(|e| format!("tls: {e}"))?;
		server.read_tls(&mut wire.as_slice()).map_err(|e| format!("tls: {e}"))?;
		server.process_new_packets().map_err(|e| format!("tls server: {e}"))?;
		let mut back = Vec::new();
		server.write_tls(&mut back).map_err(|e| format!("tls: {e}"))?;
		client.read_tls(&mut back.as_slice()).map_err(|e| format!("tls: {e}"))?;
		client.process_new_packets().map_err(|e| format!("tls client: {e}"))?;
		if !client.is_handshaking() && !server.is_handshaking() {
			return Ok(());
		}
	}
	Err("tls: the handshake did not finish".into())
}
