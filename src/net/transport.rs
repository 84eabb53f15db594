//! The byte streams a connection may run over: plain TCP, TLS as server
//! (clients, peers that connect to us) or as client (our links to other
//! servers), and a WebSocket (RFC 7395), which is read and written as
//! messages by its owner, never as bytes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_net::TcpStream;
use futures_lite::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::{client, server};

/// For the transports read as messages (WebSocket, BOSH): moves the front
/// of `pending` into `buf`; an emptied `pending` gives its memory back.
pub fn take_pending(pending: &mut Vec<u8>, buf: &mut [u8]) -> usize {
	let n = buf.len().min(pending.len());
	buf[..n].copy_from_slice(&pending[..n]);
	pending.drain(..n);
	if pending.is_empty() {
		*pending = Vec::new();
	}
	n
}

/// The `id` of our stream header in `bytes`, if they are one.
pub fn header_id(bytes: &[u8]) -> Option<String> {
	std::str::from_utf8(bytes).ok().and_then(|t| t.split("id='").nth(1)?.split('\'').next().map(str::to_owned))
}

/// Bytes a closing connection reads and drops at most (see `close_soon`).
const LINGER_BYTES: usize = 1 << 20;

pub enum Transport {
	/// Boxed: it lasts only until STARTTLS, and inline its 120 bytes would
	/// be part of every connection for its whole life.
	Plain(Box<TcpStream>),
	ServerTls(Box<server::TlsStream<TcpStream>>),
	ClientTls(Box<client::TlsStream<TcpStream>>),
	Ws(Box<super::ws::Ws>),
	/// A BOSH session's pipe (XEP-0206), read and written by its owner too.
	Bosh(Box<super::bosh::Pipe>),
	/// Between taking the TCP stream for a TLS handshake and getting it back.
	Gone,
}

impl Transport {
	/// Closes the connection (a WebSocket with its close frame), giving a
	/// peer that does not answer two seconds.
	///
	/// After our side is shut, what the peer still sends is read and dropped
	/// (at most [`LINGER_BYTES`], within the same two seconds): a socket
	/// closed with unread data makes the kernel send a reset, and a reset
	/// can make the peer lose our last words (a stream error) unread.
	pub async fn close_soon(&mut self) {
		if let Transport::Ws(ws) = self {
			ws.close().await;
		}
		if let Transport::Bosh(pipe) = self {
			pipe.close();
			return;
		}
		let _ = async {
			self.close().await?;
			// On the heap, so it is not part of every connection's future.
			let mut scratch = vec![0u8; 4096];
			let mut left = LINGER_BYTES;
			while left > 0 {
				match self.read(&mut scratch).await? {
					0 => break,
					n => left = left.saturating_sub(n),
				}
			}
			Ok::<(), io::Error>(())
		}
		.or(async {
			async_io::Timer::after(std::time::Duration::from_secs(2)).await;
			Ok(())
		})
		.await;
	}
}

impl AsyncRead for Transport {
	fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
			Transport::ServerTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
			Transport::ClientTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
			Transport::Gone | Transport::Ws(_) | Transport::Bosh(_) => Poll::Ready(Ok(0)),
		}
	}
}

impl AsyncWrite for Transport {
	fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
			Transport::ServerTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
			Transport::ClientTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
			Transport::Gone | Transport::Ws(_) | Transport::Bosh(_) => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
		}
	}

	fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s.as_mut()).poll_flush(cx),
			Transport::ServerTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
			Transport::ClientTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
			Transport::Gone | Transport::Ws(_) | Transport::Bosh(_) => Poll::Ready(Ok(())),
		}
	}

	fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s.as_mut()).poll_close(cx),
			Transport::ServerTls(s) => Pin::new(s.as_mut()).poll_close(cx),
			Transport::ClientTls(s) => Pin::new(s.as_mut()).poll_close(cx),
			Transport::Gone | Transport::Ws(_) | Transport::Bosh(_) => Poll::Ready(Ok(())),
		}
	}
}
