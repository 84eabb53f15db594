#!/usr/bin/python3
"""Converse.js in a real browser chats through Xerra over WebSocket (RFC 7395).

    /usr/bin/python3 converse_chat.py --ws wss://example.test:PORT/xmpp-websocket \
        --jid alice@example.test --password PW --peer bob@example.test \
        --say 'hello from converse' --expect 'hello converse' [--timeout 60] [--discover]

Serves this folder on an http://127.0.0.1 port of its own (Converse's ESM
build does not load from file://), starts Debian's chromium headless the
way web_wizard.py does and opens converse.html there, which logs in with
--jid/--password over --ws (with --discover, over the endpoint Converse
finds through XEP-0156 host-meta, which must be --ws). Then it waits until Converse is connected and
has sent its presence, sends --say to --peer as a type='chat' message
through Converse's API, and waits until a chat message from --peer with
the body --expect reaches Converse.

Every name chromium looks up resolves to 127.0.0.1 (--host-resolver-rules),
so --ws's host needs no DNS; the server's certificate is not checked by the
browser (--ignore-certificate-errors). The page's CSP lets it load nothing
from elsewhere, and every answer chromium got must come from a loopback
address, or the run fails.

Prints a line per step and PASSED, exit 0; on failure the reason, the
browser console's tail and exit 1. Chromium and its profile directory are
always removed; the whole run is limited to --timeout seconds.

Needs chromium, python3-websocket and node_modules/converse.js (npm ci in
this folder); run it with /usr/bin/python3.
"""

import argparse
import functools
import http.server
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse


from web_wizard import Cdp, Failure, TimedOut, attempt, chromium_log, limit_run, page_ws_url, start_chromium, stop_chromium

HERE = os.path.dirname(os.path.abspath(__file__))
START = time.monotonic()


def say(text):
	print(f"[{time.monotonic() - START:6.2f}s] {text}", flush=True)


# web_wizard.py's chromium, plus: every name resolves to loopback (the
# server's domain included), and the box CA's certificate passes (this
# profile does not know the CA).
CHROMIUM_FLAGS = ("--host-resolver-rules=MAP * 127.0.0.1", "--ignore-certificate-errors")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
	def log_message(self, fmt, *args):
		pass


def serve_here():
	"""Serves this folder on 127.0.0.1 in a thread; returns the server."""
	handler = functools.partial(QuietHandler, directory=HERE)
	httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
	threading.Thread(target=httpd.serve_forever, daemon=True).start()
	return httpd


def poll(cdp, what, expr, timeout):
	"""Evaluates `expr` until it is truthy and returns it; fails after `timeout` seconds."""
	deadline = time.monotonic() + timeout
	while True:
		got = cdp.js(expr)
		if got:
			return got
		if time.monotonic() > deadline:
			state = cdp.js("JSON.stringify({events: xerraTest.events, messages: xerraTest.messages, "
				"errors: xerraTest.errors, csp: xerraTest.csp})")
			raise Failure(f"no {what} within {timeout}s; page state: {state}")
		time.sleep(0.2)


def console_lines(cdp):
	"""The browser's console output and uncaught exceptions, from the queued DevTools events."""
	out = []
	for ev in cdp.events:
		p = ev.get("params", {})
		if ev["method"] == "Runtime.consoleAPICalled":
			parts = [str(a.get("value", a.get("description", a.get("type")))) for a in p.get("args", [])]
			if parts and parts[0] == "%c%s":
				# Converse's stanza log: format, colour, stanza.
				parts = parts[2:]
			out.append(f"console.{p.get('type')}: {' '.join(parts)}")
		elif ev["method"] == "Runtime.exceptionThrown":
			d = p.get("exceptionDetails", {})
			out.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
		elif ev["method"] == "Log.entryAdded":
			e = p.get("entry", {})
			out.append(f"log.{e.get('level')}: {e.get('text')} {e.get('url', '')}".rstrip())
	return out


def network_summary(cdp):
	"""The origins the page asked for, those of them the browser blocked, and
	the addresses the answers came from."""
	origins, blocked, addrs = {}, set(), set()
	for ev in cdp.events:
		p = ev.get("params", {})
		if ev["method"] == "Network.requestWillBeSent":
			u = urllib.parse.urlsplit(p["request"]["url"])
			if u.scheme not in ("data", "blob"):
				origins[p["requestId"]] = f"{u.scheme}://{u.netloc}"
		elif ev["method"] == "Network.webSocketCreated":
			u = urllib.parse.urlsplit(p["url"])
			origins[p["requestId"]] = f"{u.scheme}://{u.netloc}"
		elif ev["method"] == "Network.webSocketHandshakeResponseReceived":
			r = p["response"]
			proto = {k.lower(): v for k, v in r.get("headers", {}).items()}.get("sec-websocket-protocol")
			origins[p["requestId"]] += f" ({r.get('status')}, subprotocol {proto})"
		elif ev["method"] == "Network.loadingFailed" and p.get("blockedReason"):
			blocked.add(f"{origins.get(p['requestId'], '?')} ({p['blockedReason']})")
		elif ev["method"] == "Network.responseReceived":
			ip = p["response"].get("remoteIPAddress")
			if ip:
				addrs.add(ip)
	return sorted(set(origins.values())), sorted(blocked), sorted(addrs)


JS_SEND = """(async () => {
	const chat = await xerraTest.api.chats.open(%s);
	const msg = await chat.sendMessage({body: %s});
	return msg ? {msgid: msg.get("msgid"), type: msg.get("type"), to: chat.get("jid")} : null;
})()"""


def run(args, cdp_box):
	tmp = tempfile.mkdtemp(prefix="xerra-converse-")
	httpd = proc = cdp = None
	try:
		httpd = serve_here()
		# --discover: Converse gets no endpoint and must find --ws itself (XEP-0156).
		where = {"discover": "1"} if args.discover else {"ws": args.ws}
		page = f"http://127.0.0.1:{httpd.server_address[1]}/converse.html?" + urllib.parse.urlencode(
			{**where, "jid": args.jid, "password": args.password})
		proc = start_chromium(tmp, CHROMIUM_FLAGS)
		cdp = Cdp(page_ws_url(proc, tmp))
		cdp_box.append(cdp)
		for domain in ("Page", "Runtime", "Network", "Log"):
			cdp.call(f"{domain}.enable")
		say(f"chromium {cdp.call('Browser.getVersion').get('product')} is up")
		cdp.events.clear()
		nav = cdp.call("Page.navigate", url=page)
		if nav.get("errorText"):
			raise Failure(f"cannot open {page}: {nav['errorText']}")
		if cdp.wait_event({"Page.loadEventFired"}, 30) is None:
			raise Failure("converse.html did not load within 30s")
		version = poll(cdp, "Converse loaded", "window.converse && xerraTest.api && xerraTest.version", 20)
		say(f"ok: converse.html loaded Converse {version} from node_modules")

		got = poll(cdp, "'connected' event", "xerraTest.events.includes('connected') ? 'connected'"
			" : xerraTest.events.includes('disconnected') ? 'disconnected' : null", args.step)
		if got != "connected":
			raise Failure("Converse was disconnected before it connected (see the stanza log below)")
		conn = cdp.js("""(() => { const c = xerraTest.api.connection.get();
			return {jid: c.jid, service: c.service, websocket: xerraTest.api.connection.isType('websocket'),
				bosh: xerraTest.api.connection.isType('bosh'), authenticated: c.authenticated}; })()""")
		if not conn["websocket"] or conn["bosh"] or conn["service"] != args.ws:
			raise Failure(f"Converse did not connect over {args.ws}: {conn}")
		if conn["jid"].split("/")[0] != args.jid or "/" not in conn["jid"]:
			raise Failure(f"Converse is bound to {conn['jid']!r}, not a resource of {args.jid}")
		say(f"ok: connected over WebSocket {conn['service']}, bound to {conn['jid']}")
		poll(cdp, "initial presence ('statusInitialized')", "xerraTest.events.includes('statusInitialized')", args.step)
		poll(cdp, "roster ('rosterContactsFetched')", "xerraTest.events.includes('rosterContactsFetched')", args.step)
		say("ok: session established (roster fetched, presence sent)")

		sent = cdp.js(JS_SEND % (json.dumps(args.peer), json.dumps(args.say)))
		if not sent or sent.get("type") != "chat":
			raise Failure(f"Converse did not send the message: {sent}")
		say(f"ok: sent {args.say!r} to {sent['to']} (type {sent['type']}, id {sent['msgid']})")

		want = json.dumps({"peer": args.peer, "body": args.expect})
		got = poll(cdp, f"chat message {args.expect!r} from {args.peer}", f"""(() => {{
			const w = {want};
			return xerraTest.messages.find((m) => m.type === "chat" && m.body === w.body
				&& m.from && m.from.split("/")[0] === w.peer) || null; }})()""", args.step)
		say(f"ok: Converse received {got['body']!r} from {got['from']}")
		poll(cdp, "the reply shown in the chat window", f"""(() => {{
			const w = {json.dumps(args.expect)};
			return Array.from(document.querySelectorAll("converse-chat-message .chat-msg__text"))
				.some((el) => el.textContent.trim() === w); }})()""", 10)
		say("ok: the chat window shows the reply")

		bad = cdp.js("xerraTest.csp.concat(xerraTest.errors)")
		urls, blocked, addrs = network_summary(cdp)
		say(f"the page asked for {', '.join(urls)}; answers came from {', '.join(addrs)}")
		if bad or blocked:
			raise Failure(f"the page hit CSP violations, errors or blocked requests: {bad + blocked}")
		if any(not a.startswith("127.") and a not in ("::1", "[::1]") for a in addrs):
			raise Failure(f"an answer came from outside loopback: {addrs}")
	finally:
		# The time limit must not cut the cleanup short.
		signal.alarm(0)
		if cdp is not None:
			cdp.close()
		stop_chromium(proc)
		if httpd is not None:
			httpd.shutdown()
			httpd.server_close()
		log = chromium_log(tmp)
		shutil.rmtree(tmp, ignore_errors=True)
		cdp_box.append(log)


def main():
	p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	p.add_argument("--ws", required=True, help="the WebSocket endpoint, wss://DOMAIN:PORT/xmpp-websocket")
	p.add_argument("--discover", action="store_true",
		help="do not give Converse --ws: it must find it at https://DOMAIN/.well-known/host-meta (XEP-0156)")
	p.add_argument("--jid", required=True, help="the account Converse logs in with (bare JID)")
	p.add_argument("--password", required=True)
	p.add_argument("--peer", required=True, help="bare JID to chat with")
	p.add_argument("--say", required=True, help="what Converse sends to --peer")
	p.add_argument("--expect", required=True, help="the body of the chat message expected back from --peer")
	p.add_argument("--console", metavar="FILE", help="also write the whole browser console (Converse's stanza log) to FILE")
	p.add_argument("--step", type=int, default=30, help="longest wait for one step, seconds")
	p.add_argument("--timeout", type=int, default=60, help="limit for the whole run, seconds")
	args = p.parse_args()

	limit_run(args.timeout)
	box = []
	reason = attempt(run, args, box)
	return finish(reason, box, args.console, say)


def finish(reason, box, console_file, say):
	"""The end of a browser run: the whole console to console_file (if
	given); on failure the reason, the console's and chromium's tails and
	1, else PASSED and 0. box holds what the run left: its Cdp and log."""
	cdp = next((c for c in box if isinstance(c, Cdp)), None)
	lines = console_lines(cdp) if cdp is not None else []
	if console_file:
		with open(console_file, "w") as f:
			f.write("".join(line + "\n" for line in lines))
	if reason:
		say(f"FAILED: {reason}")
		print(f"--- browser console (last {min(len(lines), 40)} of {len(lines)} lines)", flush=True)
		for line in lines[-40:]:
			print(line[:400], flush=True)
		log = "\n".join(l for l in next((c for c in box if isinstance(c, str)), "").splitlines() if "dbus" not in l)
		if log:
			print(f"--- chromium log tail\n{log}", flush=True)
		return 1
	say("PASSED")
	return 0


if __name__ == "__main__":
	sys.exit(main())
