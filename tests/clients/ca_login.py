#!/usr/bin/python3
"""Logs in to an XMPP server trusting only one CA, with full certificate checks.

    /usr/bin/python3 ca_login.py --host 127.0.0.1 --port PORT --ca CA.pem \
        --jid a@DOMAIN --password PA [--peer-jid b@DOMAIN --peer-password PB] \
        [--direct-tls] [--expect-fail]

Connects to HOST:PORT (no DNS), upgrades with STARTTLS (or speaks TLS at once
with --direct-tls) and requires a certificate that chains to CA.pem, the only
trust anchor (the system store is not loaded), and names the JID's domain.
With a peer, both log in and A sends B a message with a random body, which B
must receive unchanged.

Exits 0 when all of that worked, 1 otherwise with the reason on stderr. With
--expect-fail it exits 0 only if the TLS handshake fails certificate
verification (as it must with the wrong CA), and 1 if the login succeeds or
fails for any other reason. Everything is limited to --timeout seconds (30).
Set SLIX_DEBUG=1 for slixmpp's debug log.

Needs Debian's python3-slixmpp (1.8.3); run it with /usr/bin/python3.
"""

import argparse
import asyncio
import logging
import os
import secrets
import ssl
import sys
from pathlib import Path

from slixmpp import JID, ClientXMPP


class Failure(Exception):
	"""Login or delivery failed; `cert` tells whether certificate verification was the cause."""

	def __init__(self, text, cert=False):
		super().__init__(text)
		self.cert = cert


def is_cert_error(e):
	return isinstance(e, ssl.SSLCertVerificationError) or getattr(e, "reason", None) == "CERTIFICATE_VERIFY_FAILED"


def describe(e):
	if isinstance(e, ssl.SSLCertVerificationError) and e.verify_message:
		return f"certificate verify failed: {e.verify_message} (code {e.verify_code})"
	return f"{type(e).__name__}: {e}"


def only_ca_context(ca):
	"""A client context whose sole trust anchor is `ca`.

	PROTOCOL_TLS_CLIENT verifies and checks the host name by default, and unlike
	ssl.create_default_context() it loads no system CAs.
	"""
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
	ctx.load_verify_locations(cafile=ca)
	assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
	return ctx


class Client(ClientXMPP):
	"""ClientXMPP that connects to one fixed address with one fixed TLS context."""

	def __init__(self, jid, password, host, port, ca):
		super().__init__(jid, password)
		self.fixed = (host, port)
		self.ssl_context = only_ca_context(ca)
		# Set for slixmpp's own checks; get_ssl_context below never falls back to the system store.
		self.ca_certs = Path(ca)
		self.started = None

	def get_ssl_context(self):
		# slixmpp 1.8's version calls set_default_verify_paths() when ca_certs is
		# unset and re-adds ca_certs on every call; ours stays exactly as built.
		return self.ssl_context

	def connect(self, *a, **kw):
		super().connect(*a, **kw)
		# slixmpp takes the TLS server name (SNI and the name checked) from
		# default_domain, which it leaves empty when the address is an IP
		# literal: then no host name is checked at all. Pin it to the JID's domain.
		self.default_domain = self.boundjid.domain

	async def get_dns_records(self, domain, port=None):
		# No A/AAAA/SRV lookups for the JID's domain: always the given address.
		# TLS still checks the certificate against the domain (default_domain).
		return [(self.fixed[0], self.fixed[0], self.fixed[1])]


async def login(jid, password, args):
	"""Connects and returns the client once its session has started."""
	x = Client(jid, password, args.host, args.port, args.ca)
	loop = asyncio.get_running_loop()
	started = loop.create_future()
	x.started = started

	def fail(text, cert=False):
		if not started.done():
			started.set_exception(Failure(f"{jid}: {text}", cert))
		# Stop slixmpp's reconnect loop; the run is over either way.
		x.cancel_connection_attempt()
		x.abort()

	def on_connection_failed(e):
		fail(f"cannot connect: {describe(e) if isinstance(e, BaseException) else e}", is_cert_error(e))

	def on_invalid_chain(e):
		fail(f"STARTTLS handshake failed: {describe(e)}", is_cert_error(e))

	def on_disconnected(reason):
		fail(f"disconnected before the session started ({reason or 'no reason given'})")

	x.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
	x.add_event_handler("failed_all_auth", lambda _: fail("authentication failed"))
	x.add_event_handler("connection_failed", on_connection_failed)
	x.add_event_handler("ssl_invalid_chain", on_invalid_chain)
	x.add_event_handler("stream_error", lambda e: fail(f"stream error: {e['condition']} {e['text']}".strip()))
	x.add_event_handler("disconnected", on_disconnected)
	x.connect(address=(args.host, args.port), use_ssl=args.direct_tls, force_starttls=True)
	await started
	x.del_event_handler("disconnected", on_disconnected)
	tls = x.transport.get_extra_info("ssl_object") if x.transport else None
	if tls is None:
		raise Failure(f"{jid}: session started without TLS")
	if tls.server_hostname != x.boundjid.domain:
		raise Failure(f"{jid}: TLS checked the name {tls.server_hostname!r}, not {x.boundjid.domain!r}")
	print(f"{jid}: logged in as {x.boundjid.full} over {tls.version()}, certificate for {tls.server_hostname} verified against {args.ca}", file=sys.stderr)
	return x


async def exchange(a, b):
	"""A sends B (bare JID, B available) a random body; B must get exactly it."""
	got = asyncio.get_running_loop().create_future()

	def on_message(msg):
		if msg["type"] in ("chat", "normal") and not got.done():
			got.set_result(msg)

	b.add_event_handler("message", on_message)
	await b.get_roster()
	b.send_presence()
	# A round trip after the presence: the server has handled it before A sends.
	await b.get_roster()
	body = f"ca_login {secrets.token_hex(12)}"
	a.send_message(mto=b.boundjid.bare, mbody=body, mtype="chat")
	msg = await got
	if msg["body"] != body or msg["from"].bare != a.boundjid.bare:
		raise Failure(f"{b.boundjid.bare} received {msg['body']!r} from {msg['from']}, expected {body!r} from {a.boundjid.bare}")
	print(f"{b.boundjid.bare} received the message from {a.boundjid.bare}", file=sys.stderr)


async def run(args):
	clients = []
	try:
		clients.append(await login(args.jid, args.password, args))
		if args.peer_jid:
			clients.append(await login(args.peer_jid, args.peer_password, args))
			await exchange(*clients)
	finally:
		for x in clients:
			try:
				await asyncio.wait_for(x.disconnect(), 5)
			except Exception:
				x.abort()


def main():
	p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	p.add_argument("--host", default="127.0.0.1")
	p.add_argument("--port", type=int, required=True)
	p.add_argument("--ca", required=True, help="PEM file: the only CA trusted")
	p.add_argument("--jid", required=True)
	p.add_argument("--password", required=True)
	p.add_argument("--peer-jid")
	p.add_argument("--peer-password")
	p.add_argument("--direct-tls", action="store_true", help="TLS from the first byte instead of STARTTLS")
	p.add_argument("--expect-fail", action="store_true", help="succeed only on a certificate verification failure")
	p.add_argument("--timeout", type=float, default=30)
	args = p.parse_args()
	if bool(args.peer_jid) != bool(args.peer_password):
		p.error("--peer-jid and --peer-password go together")
	for j in filter(None, (args.jid, args.peer_jid)):
		if not JID(j).user:
			p.error(f"{j} is not a user@domain JID")
	if not os.path.isfile(args.ca):
		p.error(f"no CA file {args.ca}")
	logging.basicConfig(level=logging.DEBUG if os.environ.get("SLIX_DEBUG") else logging.CRITICAL,
		format="%(levelname)s %(name)s: %(message)s")

	try:
		asyncio.run(asyncio.wait_for(run(args), args.timeout))
	except Failure as e:
		if args.expect_fail:
			if e.cert:
				print(f"as expected, TLS verification failed: {e}", file=sys.stderr)
				return 0
			print(f"ca_login: expected a certificate verification failure, got: {e}", file=sys.stderr)
			return 1
		print(f"ca_login: {e}", file=sys.stderr)
		return 1
	except asyncio.TimeoutError:
		print(f"ca_login: timed out after {args.timeout:g}s", file=sys.stderr)
		return 1
	if args.expect_fail:
		print("ca_login: login succeeded, but a certificate verification failure was expected", file=sys.stderr)
		return 1
	print("ca_login: ok", file=sys.stderr)
	return 0


if __name__ == "__main__":
	sys.exit(main())
