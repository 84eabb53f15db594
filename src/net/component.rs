//! One external component's connection (XEP-0114): stream header,
//! handshake, then stanzas both ways until either side ends it. Components
//! run on the box (a gateway, a bot, a push app server), so the port
//! listens on loopback only and the stream is not encrypted.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_net::TcpStream;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};

use super::guard::Kind;
use crate::proto::component;
use crate::server::Server;
use crate::sessions::{Outbox, Outgoing};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::ns;
use crate::xmpp::reader::{StreamEvent, StreamReader};

/// A component that does not take our data for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one accepted component connection until it ends.
pub async fn serve(server: Rc<Server>, tcp: TcpStream, peer: SocketAddr) {
	let admitted = server.guard.borrow_mut().connect(Kind::Component, peer.ip(), &server.config.limits);
	if let Err(refusal) = admitted {
		log::info!("{peer}: component connection refused ({refusal:?})");
		let err = StreamError::with_text(StreamCondition::PolicyViolation, "too many component connections");
		let msg = format!("{}{}</stream:stream>", component::header_xml("", ""), err.to_xml());
		let mut tcp = tcp;
		let _ = tcp
			.write_all(msg.as_bytes())
			.or(async {
				Timer::after(Duration::from_secs(5)).await;
				Ok(())
			})
			.await;
		return;
	}
	let _stat = crate::stats::Open::new(crate::stats::ConnKind::Component);
	let mut link = Link { server: server.clone(), tcp, out: Vec::new(), outbox: Outbox::new(), domain: None, opened: false };
	let result = link.run().await;
	if let Err(e) = &result {
		log::debug!("{peer}: component: {e}");
	}
	if let Some(domain) = &link.domain {
		server.remotes.borrow_mut().detach(domain, &link.outbox);
		log::info!("{peer}: component {domain} disconnected");
	}
	link.outbox.close();
	server.guard.borrow_mut().disconnect(Kind::Component, peer.ip());
}

struct Link {
	server: Rc<Server>,
	tcp: TcpStream,
	out: Vec<u8>,
	outbox: Rc<Outbox>,
	/// Set once the handshake succeeded and the link is attached.
	domain: Option<String>,
	/// Our stream header went out.
	opened: bool,
}

enum Wake {
	Read(io::Result<usize>),
	Queue(Option<Outgoing>),
	Timer,
}

impl Link {
	async fn run(&mut self) -> io::Result<()> {
		let mut reader = StreamReader::new(super::c2s::pre_auth_limits(&self.server));
		let mut buf = vec![0u8; 16 * 1024];
		let id = self.server.new_id();
		let deadline = Instant::now() + self.server.config.limits.negotiation_timeout;
		let mut secret = None;
		let mut last_write = Instant::now();
		loop {
			let wake_at = match &self.domain {
				None => deadline,
				Some(_) => last_write + self.server.config.limits.keepalive_interval,
			};
			let (tcp, outbox) = (&mut self.tcp, &self.outbox);
			let wake = async { Wake::Read(tcp.read(&mut buf).await) }
				.or(async { Wake::Queue(if self.domain.is_some() { outbox.recv().await } else { std::future::pending().await }) })
				.or(async {
					Timer::at(wake_at).await;
					Wake::Timer
				})
				.await;
			match wake {
				Wake::Read(Ok(0)) => return Ok(()),
				Wake::Read(Ok(n)) => {
					let mut bytes = &buf[..n];
					loop {
						let ev = match reader.next(&mut bytes) {
							Ok(Some(ev)) => ev,
							Ok(None) => break,
							Err(e) => return self.fail(e).await,
						};
						match ev {
							StreamEvent::Header(h) => match self.opened(h.to, &id) {
								Ok(s) => secret = Some(s),
								Err(e) => return self.fail(e).await,
							},
							StreamEvent::End => return self.close(None).await,
							StreamEvent::Stanza(el) if self.domain.is_none() => {
								let to = secret.take().unwrap_or_default();
								if let Err(e) = self.handshake(&el, &to.0, &to.1, &id) {
									return self.fail(e).await;
								}
								reader.set_limits(super::c2s::full_limits(&self.server));
							}
							StreamEvent::Stanza(el) => {
								let domain = self.domain.clone().unwrap_or_default();
								match component::inbound(el, &domain) {
									Ok(el) => {
										self.flush().await?;
										Box::pin(crate::router::from_remote(&self.server, el)).await;
									}
									Err(e) => return self.fail(e).await,
								}
							}
						}
					}
				}
				Wake::Read(Err(e)) => return Err(e),
				Wake::Queue(Some(first)) => {
					let mut next = Some(first);
					while let Some(item) = next {
						match item {
							// Packed without a namespace of its own: it reads as
							// jabber:component:accept here.
							Outgoing::Stanza(p) => {
								crate::stats::stanza_out_xml(p.xml().as_bytes());
								self.out.extend_from_slice(p.xml().as_bytes())
							}
							Outgoing::Close(e) => return self.close(Some(e)).await,
							Outgoing::FlushOffline => {}
						}
						next = self.outbox.try_recv();
					}
				}
				Wake::Queue(None) => return self.close(None).await,
				Wake::Timer if self.domain.is_none() => {
					return self.fail(StreamError::new(StreamCondition::ConnectionTimeout)).await;
				}
				// RFC 6120 §4.6.1 whitespace keepalive finds a dead peer.
				Wake::Timer => self.out.push(b' '),
			}
			if !self.out.is_empty() {
				self.flush().await?;
				last_write = Instant::now();
			}
		}
	}

	/// The component's stream header: answer with ours, and find the
	/// secret of the domain it asks for.
	fn opened(&mut self, to: Option<String>, id: &str) -> Result<(String, String), StreamError> {
		let to = to.unwrap_or_default();
		self.out.extend_from_slice(component::header_xml(id, &to).as_bytes());
		self.opened = true;
		let secret = self.server.store.snapshot().and_then(|s| s.component_secret(&to)).map_err(|e| {
			log::error!("component secret of {to}: {e}");
			StreamError::new(StreamCondition::InternalServerError)
		})?;
		match secret {
			Some(s) => Ok((to, s)),
			None => Err(StreamError::with_text(StreamCondition::HostUnknown, "no component is configured for that domain")),
		}
	}

	/// `<handshake/>` (XEP-0114 §3): proof of the secret, then the link is ours.
	fn handshake(&mut self, el: &crate::xmpp::element::Element, domain: &str, secret: &str, id: &str) -> Result<(), StreamError> {
		if !el.is("handshake", ns::COMPONENT) || domain.is_empty() {
			return Err(StreamError::with_text(StreamCondition::NotAuthorized, "handshake first"));
		}
		if !component::handshake_ok(id, secret, &el.text()) {
			log::warn!("component {domain}: wrong secret");
			return Err(StreamError::with_text(StreamCondition::NotAuthorized, "wrong secret"));
		}
		if !self.server.remotes.borrow_mut().attach(domain, self.outbox.clone()) {
			return Err(StreamError::with_text(StreamCondition::Conflict, "that component is connected already"));
		}
		log::info!("component {domain} connected");
		self.domain = Some(domain.to_owned());
		self.out.extend_from_slice(b"<handshake/>");
		Ok(())
	}

	async fn fail(&mut self, e: StreamError) -> io::Result<()> {
		self.close(Some(e)).await
	}

	async fn close(&mut self, e: Option<StreamError>) -> io::Result<()> {
		if let Some(e) = e {
			log::info!("component {}: stream error {e}", self.domain.as_deref().unwrap_or("?"));
			if !self.opened {
				// An error before the component's header: ours comes first.
				self.out.extend_from_slice(component::header_xml("", "").as_bytes());
			}
			self.out.extend_from_slice(e.to_xml().as_bytes());
		}
		self.out.extend_from_slice(b"</stream:stream>");
		let _ = self.flush().await;
		let _ = self.tcp.close().await;
		Ok(())
	}

	async fn flush(&mut self) -> io::Result<()> {
		if self.out.is_empty() {
			return Ok(());
		}
		let out = std::mem::take(&mut self.out);
		let tcp = &mut self.tcp;
		async { tcp.write_all(&out).await }
			.or(async {
				Timer::after(WRITE_TIMEOUT).await;
				Err(io::Error::new(io::ErrorKind::TimedOut, "component does not read"))
			})
			.await
	}
}
