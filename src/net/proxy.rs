//! XEP-0065 SOCKS5 bytestreams proxy: the two parties of a file transfer
//! that cannot reach each other directly both connect here, name their
//! stream by its hash, and once the initiator asks for it over XMPP
//! (`features::proxy`) the proxy copies bytes between them. Nothing is
//! read from either side before that, so early bytes wait in the kernel
//! (§10.1: "ignore but not drop").
//!
//! Limits: `proxy_max_connections` and `proxy_max_connections_per_ip`
//! (handshaking, waiting and relaying connections together; a stream takes
//! two), `proxy_timeout` (from
//! connecting to activation) and `idle_timeout` (silence both ways on an
//! active stream).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;

use async_io::Timer;
use async_net::TcpStream;
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

use super::per_ip::{Held, Pool};
use crate::proto::socks5::{self, Reply};
use crate::server::Server;

/// Streams by hash, while they wait.
#[derive(Default)]
pub struct Registry {
	streams: HashMap<String, Entry>,
	/// Connections open now (any stage), for `proxy_max_connections` and
	/// `proxy_max_connections_per_ip`.
	pool: Pool,
}

enum Entry {
	/// One party is here, counted as a connection. Dropping `_gone` tells
	/// its task to stop waiting.
	Waiting { stream: TcpStream, counted: Counted, _gone: async_channel::Sender<()> },
	/// Both are here; the second's task relays once this says so.
	Paired { activate: async_channel::Sender<()> },
}

/// Why an activation (§6.3.3) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
	/// Nobody connected with that hash.
	Unknown,
	/// Only one party is connected.
	OneSided,
}

impl Registry {
	/// The initiator asks for the stream `hash` to start.
	pub fn activate(&mut self, hash: &str) -> Result<(), NotReady> {
		match self.streams.get(hash) {
			None => Err(NotReady::Unknown),
			Some(Entry::Waiting { .. }) => Err(NotReady::OneSided),
			Some(Entry::Paired { activate }) => {
				let _ = activate.try_send(());
				self.streams.remove(hash);
				Ok(())
			}
		}
	}

	pub fn connections(&self) -> usize {
		self.pool.open()
	}
}

/// Counts a connection for as long as it lives (its own cell, so it may be
/// dropped while the registry is borrowed).
struct Counted {
	_slot: Held,
}

/// One connection to the proxy, from accept to the end of its stream.
pub async fn serve(server: Rc<Server>, tcp: TcpStream, peer: SocketAddr) {
	let l = &server.config.limits;
	let admitted = server.proxy.borrow().pool.admit(peer.ip(), l.proxy_max_connections, l.proxy_max_connections_per_ip);
	let counted = match admitted {
		Ok(held) => Counted { _slot: held },
		Err(full) => return log::info!("{peer}: proxy full ({full:?}: proxy_max_connections, proxy_max_connections_per_ip)"),
	};
	let deadline = std::time::Instant::now() + server.config.limits.proxy_timeout;
	let until_deadline = || async move {
		Timer::at(deadline).await;
	};
	let shake = async { Some(handshake(tcp).await) }.or(async {
		until_deadline().await;
		None
	});
	let (tcp, hash) = match shake.await {
		Some(Ok(pair)) => pair,
		None => return log::debug!("{peer}: proxy handshake timed out"),
		Some(Err(e)) => return log::debug!("{peer}: proxy handshake: {e}"),
	};
	// What this connection is to its stream, decided without waiting.
	enum Role {
		First(async_channel::Receiver<()>),
		Second(TcpStream, Counted, async_channel::Receiver<()>),
		Third,
	}
	let role = {
		let mut r = server.proxy.borrow_mut();
		match r.streams.remove(&hash) {
			Some(Entry::Waiting { stream, counted, .. }) => {
				let (tx, rx) = async_channel::bounded(1);
				r.streams.insert(hash.clone(), Entry::Paired { activate: tx });
				Role::Second(stream, counted, rx)
			}
			Some(paired) => {
				r.streams.insert(hash.clone(), paired);
				Role::Third
			}
			None => {
				let (tx, rx) = async_channel::bounded(1);
				r.streams.insert(hash.clone(), Entry::Waiting { stream: tcp.clone(), counted, _gone: tx });
				Role::First(rx)
			}
		}
	};
	let (first, first_counted, activated) = match role {
		Role::Second(stream, first_counted, activated) => (stream, first_counted, activated),
		// Only two may share a stream.
		Role::Third => return log::info!("{peer}: proxy stream already has both parties"),
		Role::First(gone) => {
			// The first party waits for the other, who takes its stream (and
			// so ends this wait), or for the deadline.
			let paired = async { gone.recv().await.is_err() }.or(async {
				until_deadline().await;
				false
			});
			if !paired.await {
				forget(&server, &hash, |e| matches!(e, Entry::Waiting { .. }));
				log::debug!("{peer}: proxy stream never paired");
			}
			return;
		}
	};
	let go = async { activated.recv().await.is_ok() }.or(async {
		until_deadline().await;
		false
	});
	if !go.await {
		forget(&server, &hash, |e| matches!(e, Entry::Paired { .. }));
		return log::debug!("{peer}: proxy stream never activated");
	}
	log::debug!("{peer}: proxy stream {hash} activated");
	relay(first, tcp, server.config.limits.idle_timeout).await;
	drop(first_counted);
}

/// Removes a stream that timed out, if it is still in the state `stale`
/// says (it may have moved on meanwhile).
fn forget(server: &Server, hash: &str, stale: impl Fn(&Entry) -> bool) {
	let mut r = server.proxy.borrow_mut();
	let gone = if r.streams.get(hash).is_some_and(stale) { r.streams.remove(hash) } else { None };
	drop(r);
	// Dropped unborrowed: a waiting party's count gives itself back.
	drop(gone);
}

/// Reads the greeting and the request, answers both; the hash on success.
async fn handshake(mut tcp: TcpStream) -> std::io::Result<(TcpStream, String)> {
	let mut buf = Vec::with_capacity(64);
	let mut chunk = [0u8; 64];
	let refused = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
	loop {
		match socks5::greeting(&buf) {
			Ok(Some((used, answer))) => {
				buf.drain(..used);
				tcp.write_all(&answer).await?;
				break;
			}
			Ok(None) => {}
			Err(socks5::Error::NoMethod) => {
				tcp.write_all(&socks5::NO_ACCEPTABLE_METHOD).await?;
				return Err(refused("no acceptable method"));
			}
			Err(e) => return Err(refused(&format!("{e:?}"))),
		}
		read_more(&mut tcp, &mut buf, &mut chunk).await?;
	}
	loop {
		match socks5::request(&buf) {
			Ok(Some((_, hash))) => {
				tcp.write_all(&socks5::reply(Reply::Succeeded, &hash)).await?;
				return Ok((tcp, hash));
			}
			Ok(None) => {}
			Err(socks5::Error::Refused(code)) => {
				tcp.write_all(&socks5::reply(code, "")).await?;
				return Err(refused(&format!("{code:?}")));
			}
			Err(e) => return Err(refused(&format!("{e:?}"))),
		}
		read_more(&mut tcp, &mut buf, &mut chunk).await?;
	}
}

/// Appends what arrives; a handshake is small, so more than 512 bytes is
/// not one.
async fn read_more(tcp: &mut TcpStream, buf: &mut Vec<u8>, chunk: &mut [u8]) -> std::io::Result<()> {
	let n = tcp.read(chunk).await?;
	if n == 0 {
		return Err(std::io::ErrorKind::UnexpectedEof.into());
	}
	buf.extend_from_slice(&chunk[..n]);
	if buf.len() > 512 {
		return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "handshake too long"));
	}
	Ok(())
}

/// Copies both ways until both sides are done; one side finishing sending
/// is passed on as a half-close, so the other still reads to the end. A
/// stream silent both ways for `idle` ends (a party that vanished without
/// closing would otherwise hold its two connections for good).
async fn relay(a: TcpStream, b: TcpStream, idle: std::time::Duration) {
	let last = std::cell::Cell::new(std::time::Instant::now());
	let one_way = |mut from: TcpStream, mut to: TcpStream| {
		let last = &last;
		async move {
			let mut buf = vec![0u8; 16 * 1024];
			while let Ok(n @ 1..) = from.read(&mut buf).await {
				if to.write_all(&buf[..n]).await.is_err() {
					break;
				}
				last.set(std::time::Instant::now());
			}
			let _ = to.close().await;
		}
	};
	let watchdog = async {
		loop {
			let due = last.get() + idle;
			if std::time::Instant::now() >= due {
				break;
			}
			Timer::at(due).await;
		}
	};
	let both = async {
		futures_lite::future::zip(one_way(a.clone(), b.clone()), one_way(b, a)).await;
	};
	both.or(watchdog).await;
}

/// Accepts proxy connections on `l` forever.
pub async fn accept_loop(server: Rc<Server>, ex: Rc<async_executor::LocalExecutor<'static>>, l: async_net::TcpListener) {
	super::accept_each(ex, l, move |tcp, peer| serve(server.clone(), tcp, peer)).await
}
