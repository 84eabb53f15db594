#!/usr/bin/python3
"""A person uses the web client the box serves (Converse.js at /chat/).

    /usr/bin/python3 converse_box.py --url https://DOMAIN:PORT/chat/ \
        --user alice --password PW --peer bob@DOMAIN --peer-password PW \
        --c2s-port PORT --room office@rooms.DOMAIN --shots DIR \
        [--transport websocket|bosh] [--timeout 150]

Starts Debian's chromium headless (as web_wizard.py does; every name
resolves to 127.0.0.1, the box's certificate is not checked) and, only
through the page as a person would: opens --url (with ?transport=bosh for
BOSH), types the user name and password into Converse's login form and
presses Enter; reads a chat message the slixmpp user --peer sends (logged
in over --c2s-port in a thread of this process), types an answer into the
chat box, which --peer must receive; joins --room through "Add a new
groupchat" and says something there; reloads the page and sees the chat's
and the room's messages again. Screenshots go to --shots. Nothing may be
asked from another origin than --url's, every answer must come from a
loopback address, and the console must show no CSP violation.

Prints a line per step and PASSED, exit 0; on failure the reason, the
console's tail and exit 1. Run it with /usr/bin/python3 (python3-slixmpp,
python3-websocket, chromium: tests/setup installs them).
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

from slixmpp import ClientXMPP

from converse_chat import CHROMIUM_FLAGS, console_lines, finish, network_summary
from web_wizard import Cdp, Failure, attempt, chromium_log, limit_run, page_ws_url, start_chromium, stop_chromium

START = time.monotonic()


def say(text):
	print(f"[{time.monotonic() - START:6.2f}s] {text}", flush=True)


class Peer:
	"""The slixmpp user, in a thread of its own with its own event loop."""

	def __init__(self, jid, password, port):
		self.jid, self.password, self.port = jid, password, port
		self.got = []  # (from, body) of chat messages
		self.ready = threading.Event()
		self.error = None
		self.loop = asyncio.new_event_loop()
		self.xmpp = None
		threading.Thread(target=self._run, daemon=True).start()

	def _run(self):
		asyncio.set_event_loop(self.loop)
		x = ClientXMPP(self.jid, self.password)
		x.ssl_context.check_hostname = False
		x.ssl_context.verify_mode = ssl.CERT_NONE

		def started(_):
			x.send_presence()
			self.ready.set()

		def message(m):
			if m["type"] == "chat" and m["body"]:
				self.got.append((str(m["from"]), m["body"]))

		def failed(e):
			self.error = f"the peer cannot log in: {e}"
			self.ready.set()

		x.add_event_handler("session_start", started)
		x.add_event_handler("message", message)
		x.add_event_handler("failed_all_auth", failed)
		x.add_event_handler("connection_failed", failed)
		self.xmpp = x
		x.connect(("127.0.0.1", self.port))
		self.loop.run_forever()

	def send(self, to, body):
		self.loop.call_soon_threadsafe(lambda: self.xmpp.send_message(mto=to, mbody=body, mtype="chat"))

	def stop(self):
		if self.xmpp is not None:
			self.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.xmpp.disconnect()))


def poll(cdp, what, expr, timeout):
	"""Evaluates `expr` until it is truthy and returns it; fails after `timeout` seconds."""
	deadline = time.monotonic() + timeout
	while True:
		got = cdp.js(expr)
		if got:
			return got
		if time.monotonic() > deadline:
			raise Failure(f"no {what} within {timeout}s")
		time.sleep(0.25)


def click(cdp, selector, what):
	"""A left click at the middle of the first visible element matching `selector`."""
	box = poll(cdp, what, f"""(() => {{
		const el = Array.from(document.querySelectorAll({json.dumps(selector)})).find((e) => e.offsetParent !== null);
		if (!el) return null;
		el.scrollIntoView({{block: "center"}});
		const r = el.getBoundingClientRect();
		return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
	}})()""", 20)
	cdp.call("Input.dispatchMouseEvent", type="mouseMoved", x=box["x"], y=box["y"])
	for kind in ("mousePressed", "mouseReleased"):
		cdp.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", buttons=1, clickCount=1)


def type_text(cdp, selector, text, what):
	"""Focuses the first visible `selector` (by clicking it) and types `text`."""
	click(cdp, selector, what)
	cdp.call("Input.insertText", text=text)


def enter(cdp):
	for kind in ("keyDown", "keyUp"):
		cdp.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
			nativeVirtualKeyCode=13, **({"text": "\r"} if kind == "keyDown" else {}))


def shot(cdp, shots, name):
	data = cdp.call("Page.captureScreenshot", format="png")["data"]
	path = os.path.join(shots, f"{name}.png")
	with open(path, "wb") as f:
		f.write(base64.b64decode(data))
	say(f"screenshot {path}")


def shown(text):
	"""JS: is a message with this text shown in an open chat or room?"""
	return f"""Array.from(document.querySelectorAll(".chat-msg__text")).some((e) => e.textContent.trim() === {json.dumps(text)})"""


def open_page(cdp, url):
	cdp.events.clear()
	nav = cdp.call("Page.navigate", url=url)
	if nav.get("errorText"):
		raise Failure(f"cannot open {url}: {nav['errorText']}")
	if cdp.wait_event({"Page.loadEventFired"}, 30) is None:
		raise Failure(f"{url} did not load within 30s")


def log_in(cdp, args, shots, name):
	"""Types the name and password into the login form, or finds the session still on."""
	# After a reload Converse may log in again by itself (it resumes its
	# session): the form counts only once it has stayed for 3 s.
	expr = """document.querySelector("converse-roster") && !document.querySelector("#converse-login-jid") ? "in"
		: document.querySelector("#converse-login-jid") ? "form" : null"""
	since, deadline = None, time.monotonic() + 30
	while True:
		state = cdp.js(expr)
		if state == "in" or (state == "form" and since is not None and time.monotonic() - since > 3):
			break
		since = (since or time.monotonic()) if state == "form" else None
		if time.monotonic() > deadline:
			raise Failure("neither the login form nor the chat within 30s")
		time.sleep(0.25)
	say("the session came back by itself" if state == "in" else "the login form is shown")
	if state == "form":
		shot(cdp, shots, f"{name}-login")
		type_text(cdp, "#converse-login-jid", args.user, "the name field")
		type_text(cdp, "#converse-login-password", args.password, "the password field")
		enter(cdp)
		say(f"typed {args.user!r} and the password, pressed Enter")
	poll(cdp, "the logged-in view (Converse's roster)", "!document.querySelector('#converse-login-jid') && !!document.querySelector('converse-roster')", args.step)


def join_room(cdp, args):
	"""Through the groupchats' menu, "Add groupchat", the address, Join."""
	click(cdp, "converse-rooms-list converse-dropdown .dropdown-toggle", "the groupchats' menu")
	click(cdp, ".show-add-muc-modal", "the 'Add groupchat' item")
	type_text(cdp, "form.add-chatroom input[name='chatroom']", args.room, "the groupchat address field")
	nick = cdp.js("(() => { const n = document.querySelector(\"form.add-chatroom input[name='nickname']\"); return n ? n.value : ''; })()")
	if nick == "":
		type_text(cdp, "form.add-chatroom input[name='nickname']", args.user, "the nickname field")
	click(cdp, "form.add-chatroom input[name='join']", "the Join button")
	poll(cdp, "the room open", f"""Array.from(document.querySelectorAll("converse-muc")).some((e) => e.getAttribute("jid") === {json.dumps(args.room)}
		&& e.querySelector("textarea.chat-textarea"))""", args.step)
	say(f"ok: joined {args.room}")


def run(args, box):
	tmp = tempfile.mkdtemp(prefix="xerra-converse-box-")
	proc = cdp = peer = None
	os.makedirs(args.shots, exist_ok=True)
	try:
		url = args.url + ("?transport=bosh" if args.transport == "bosh" else "")
		origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(args.url))
		me = f"{args.user}@{args.peer.split('@')[1]}"
		peer = Peer(args.peer, args.peer_password, args.c2s_port)
		if not peer.ready.wait(args.step) or peer.error:
			raise Failure(peer.error or "the slixmpp peer did not log in")
		say(f"slixmpp peer {args.peer} is online")
		proc = start_chromium(tmp, CHROMIUM_FLAGS + ("--window-size=1280,900",))
		cdp = Cdp(page_ws_url(proc, tmp))
		box.append(cdp)
		for domain in ("Page", "Runtime", "Network", "Log"):
			cdp.call(f"{domain}.enable")
		cdp.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
		say(f"chromium {cdp.call('Browser.getVersion').get('product')} is up")
		open_page(cdp, url)
		say(f"opened {url}")
		log_in(cdp, args, args.shots, "1")
		say("logged in")

		# The peer writes first; the person sees it waiting and opens the chat.
		peer.send(me, "hello alice, slixmpp here")
		poll(cdp, "the peer's unread message in the contacts", f"!!document.querySelector(\"a.open-chat.unread-msgs[data-jid='{args.peer}']\")", args.step)
		shot(cdp, args.shots, "2-unread")
		click(cdp, f"a.open-chat[data-jid='{args.peer}']", "the peer in the contacts")
		poll(cdp, "the peer's message shown", shown("hello alice, slixmpp here"), args.step)
		say("ok: the peer's message is shown")
		type_text(cdp, "converse-chat textarea.chat-textarea", "hello bob, typed in Converse", "the chat's message box")
		enter(cdp)
		deadline = time.monotonic() + args.step
		while not any(b == "hello bob, typed in Converse" and f.startswith(me + "/") for f, b in peer.got):
			if time.monotonic() > deadline:
				raise Failure(f"the peer did not get the typed message; it got {peer.got}")
			time.sleep(0.2)
		poll(cdp, "the typed message shown", shown("hello bob, typed in Converse"), 10)
		say("ok: the peer got the message typed in Converse")
		shot(cdp, args.shots, "3-chat")

		join_room(cdp, args)
		# Room configuration (a new room) or the textarea; type into the room's.
		type_text(cdp, f"converse-muc[jid='{args.room}'] textarea.chat-textarea", "hello room, from the web", "the room's message box")
		enter(cdp)
		poll(cdp, "the room message shown (reflected by the room)", shown("hello room, from the web"), args.step)
		say("ok: the room reflected the message")
		shot(cdp, args.shots, "4-room")

		# Reload: the history is there again.
		open_page(cdp, url)
		say("reloaded")
		log_in(cdp, args, args.shots, "5")
		click(cdp, f"a.open-room[data-room-jid='{args.room}']", "the room in the list")
		poll(cdp, "the room's history after the reload", shown("hello room, from the web"), args.step)
		shot(cdp, args.shots, "6-room-after-reload")
		say("ok: the room's history is shown after the reload")
		click(cdp, f"a.open-chat[data-jid='{args.peer}']", "the peer in the contacts")
		poll(cdp, "the chat's history after the reload", shown("hello alice, slixmpp here") + " && " + shown("hello bob, typed in Converse"), args.step)
		shot(cdp, args.shots, "7-chat-after-reload")
		say("ok: the chat's history is shown after the reload")

		# A browser that kept nothing (site data cleared): the history comes from the box.
		cdp.call("Storage.clearDataForOrigin", origin=origin, storageTypes="all")
		open_page(cdp, url)
		say("site data cleared, reloaded")
		log_in(cdp, args, args.shots, "8")
		# Not a contact, so not listed until the peer writes again: once this
		# session is online (the one before, still online, would take it alone).
		poll(cdp, "'I am online' in the profile", "(document.querySelector('converse-user-profile') || {textContent: ''}).textContent.includes('online')", args.step)
		time.sleep(1)
		peer.send(me, "are you back?")
		click(cdp, f"a.open-chat[data-jid='{args.peer}']", "the peer with a new message")
		poll(cdp, "the new message", shown("are you back?"), args.step)
		poll(cdp, "the chat's history from the archive", shown("hello alice, slixmpp here") + " && " + shown("hello bob, typed in Converse"), args.step)
		shot(cdp, args.shots, "9-chat-from-the-archive")
		join_room(cdp, args)
		poll(cdp, "the room's history from the box", shown("hello room, from the web"), args.step)
		shot(cdp, args.shots, "10-room-from-the-box")
		say("ok: with nothing kept in the browser, the chat's and the room's history come from the box")

		urls, blocked, addrs = network_summary(cdp)
		say(f"the page asked for {', '.join(urls)}; answers came from {', '.join(addrs)}")
		wss = origin.replace("https://", "wss://")
		others = [u for u in urls if not (u.startswith(origin) or u.startswith(wss))]
		if others or blocked:
			raise Failure(f"asked elsewhere or blocked: {others + blocked}")
		if any(not a.startswith("127.") and a not in ("::1", "[::1]") for a in addrs):
			raise Failure(f"an answer came from outside loopback: {addrs}")
		used = {"websocket": any(u.startswith(wss) for u in urls), "bosh": False}
		used["bosh"] = any(ev["method"] == "Network.requestWillBeSent" and ev["params"]["request"]["url"].endswith("/http-bind")
			for ev in cdp.events)
		if not used[args.transport]:
			raise Failure(f"Converse did not use {args.transport}: {urls}")
		csp = [l for l in console_lines(cdp) if "Content Security Policy" in l or "Content-Security-Policy" in l]
		if csp:
			raise Failure(f"CSP violations: {csp}")
		say(f"ok: over {args.transport}, nothing from elsewhere, no CSP violation")
	except Failure:
		if cdp is not None:
			try:
				shot(cdp, args.shots, "failure")
			except Exception:
				pass
		raise
	finally:
		signal.alarm(0)
		if peer is not None:
			peer.stop()
		if cdp is not None:
			cdp.close()
		stop_chromium(proc)
		log = chromium_log(tmp)
		shutil.rmtree(tmp, ignore_errors=True)
		box.append(log)


def main():
	p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	p.add_argument("--url", required=True, help="https://DOMAIN:PORT/chat/")
	p.add_argument("--transport", choices=("websocket", "bosh"), default="websocket")
	p.add_argument("--user", required=True, help="the user name typed into the form (the domain is the page's)")
	p.add_argument("--password", required=True)
	p.add_argument("--peer", required=True, help="the slixmpp user's bare JID")
	p.add_argument("--peer-password", required=True)
	p.add_argument("--c2s-port", type=int, required=True, help="the STARTTLS port the peer logs in on")
	p.add_argument("--room", required=True)
	p.add_argument("--shots", required=True, help="folder for the screenshots")
	p.add_argument("--step", type=int, default=30, help="longest wait for one step, seconds")
	p.add_argument("--timeout", type=int, default=150, help="limit for the whole run, seconds")
	args = p.parse_args()

	limit_run(args.timeout)
	box = []
	reason = attempt(run, args, box)
	return finish(reason, box, os.path.join(args.shots, "console.txt"), say)


if __name__ == "__main__":
	sys.exit(main())
