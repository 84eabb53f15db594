#!/usr/bin/python3
"""Interop scenarios: a real XMPP client (slixmpp) against a running Xerra.

Run by tests/real_clients.rs, one scenario per process:

    /usr/bin/python3 slix_flows.py --port PORT --domain DOMAIN \
        --password PASSWORD SCENARIO USER [USER...]

Every scenario prints one line per step and exits 0 only if every check
passed. On failure it prints what it was waiting for and the XML each
client sent and received, so a server bug can be read from the output.
Set SLIX_DEBUG=1 for slixmpp's own debug log as well.

Needs Debian's python3-slixmpp (1.8.3); run it with /usr/bin/python3.
"""

import argparse
import base64
import io
import asyncio
import datetime as dt
import logging
import os
import ssl
import sys
import time
import xml.etree.ElementTree as ET

from slixmpp import JID, ClientXMPP
from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins import xep_0082

# Longest wait for one answer; the whole scenario has its own limit (--timeout).
STEP = 15
PLUGINS = ("xep_0030", "xep_0092", "xep_0199", "xep_0202", "xep_0203")


class Failure(Exception):
    """A check did not hold."""


START = time.monotonic()


def say(text):
    print(f"[{time.monotonic() - START:6.2f}s] {text}", flush=True)


def check(cond, what, detail=""):
    """Prints `what` if `cond` holds, else raises Failure with `detail`."""
    if not cond:
        raise Failure(f"{what}{': ' + detail if detail else ''}")
    say(f"ok: {what}")


class Run:
    """Settings of this run, the clients in it, and what is being waited for."""

    def __init__(self, args):
        self.port = args.port
        self.domain = args.domain
        self.password = args.password
        self.users = args.users
        self.peers = []
        self.waiting_for = "start"
        # Set whenever any client receives a stanza or loses its stream;
        # `until` re-checks its condition each time.
        self.news = asyncio.Event()

    def jid(self, user):
        return f"{user}@{self.domain}"

    def peer(self, user, **kw):
        p = Peer(self, user, **kw)
        self.peers.append(p)
        return p

    async def until(self, what, cond):
        """Waits until cond() is truthy, returns its value. Fails early if a
        client loses its stream; the scenario timeout covers the rest."""
        self.waiting_for = what
        while True:
            for p in self.peers:
                if p.lost:
                    raise Failure(f"{p.user} lost its stream while waiting for: {what}")
            value = cond()
            if value:
                say(f"ok: {what}")
                return value
            self.news.clear()
            await self.news.wait()

    async def close_all(self):
        for p in self.peers:
            await p.close()


class Peer:
    """One slixmpp client and a record of everything it received."""

    def __init__(self, run, user, mech=None, channel_binding=True, resource=None, domain=None, addr=None, password=None):
        self.run = run
        self.user = user
        # Another server's account (federation): its domain, address, password.
        self.bare = f"{user}@{domain}" if domain else run.jid(user)
        self.addr = addr or ("127.0.0.1", run.port)
        self.mech = mech
        self.received = []  # message, presence and roster stanzas, in order
        self.trace = []  # every stanza in and out, as XML, for failure reports
        self.sasl = []  # what happened in SASL, in order
        self.lost = False
        self.closing = False
        self.online = False
        jid = f"{self.bare}/{resource}" if resource else self.bare
        x = ClientXMPP(jid, password or run.password, sasl_mech=mech)
        self.xmpp = x
        # The server's certificate is self-signed.
        x.ssl_context.check_hostname = False
        x.ssl_context.verify_mode = ssl.CERT_NONE
        # Scenarios answer subscription requests themselves; by default
        # slixmpp would approve and subscribe back on its own.
        x.auto_authorize = None
        x.auto_subscribe = False
        for plugin in PLUGINS:
            x.register_plugin(plugin)
        if not channel_binding:
            self._drop_channel_binding()
        x.add_filter("in", self._trace_in)
        x.add_filter("out", self._trace_out)
        for event in ("message", "presence", "roster_update"):
            x.add_event_handler(event, self._record)
        x.add_event_handler("failed_auth", self._failed_auth)
        x.add_event_handler("auth_success", self._auth_success)
        x.add_event_handler("disconnected", self._disconnected)
        x.add_event_handler("stream_error", lambda e: self.trace.append(f"STREAM ERROR {e}"))

    def _drop_channel_binding(self):
        """Makes slixmpp behave like a client without channel binding.

        With binding data at hand, slixmpp sends the gs2 flag "y" ("I could
        bind, but you don't offer it") for plain SCRAM. The server does
        offer -PLUS, so RFC 5802 §6 requires it to refuse "y" as a downgrade.
        Without the data slixmpp sends "n", which is what such a client sends.
        """
        mechs = self.xmpp["feature_mechanisms"]
        default = mechs.sasl_callback

        def without_binding(required, optional):
            creds = default(required, optional)
            creds.pop("channel_binding", None)
            return creds

        mechs.sasl_callback = without_binding

    # --- event handlers: record, then wake whoever waits -----------------

    def _trace_in(self, stanza):
        self.trace.append(f"IN  {stanza}")
        return stanza

    def _trace_out(self, stanza):
        self.trace.append(f"OUT {stanza}")
        return stanza

    def _record(self, stanza):
        self.received.append(stanza)
        self.run.news.set()

    def _failed_auth(self, failure):
        self.sasl.append(f"{self.xmpp['feature_mechanisms'].mech.name} refused ({failure['condition']})")

    def _auth_success(self, _):
        self.sasl.append(f"{self.xmpp['feature_mechanisms'].mech.name} accepted")

    def _disconnected(self, reason):
        if not self.closing:
            self.lost = True
            self.trace.append(f"DISCONNECTED {reason}")
        self.online = False
        self.run.news.set()

    # --- actions ----------------------------------------------------------

    async def login(self):
        """Connects on the STARTTLS port; returns once bound (session_start)."""
        x = self.xmpp
        loop = asyncio.get_running_loop()
        started = loop.create_future()
        x.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
        x.add_event_handler("failed_all_auth", lambda _: started.done() or started.set_exception(Failure(f"{self.user}: SASL failed: {self.sasl}")))
        x.add_event_handler("connection_failed", lambda e: started.done() or started.set_exception(Failure(f"{self.user}: cannot connect: {e}")))
        x.connect(self.addr)
        self.run.waiting_for = f"{self.user} to log in"
        await started
        self.online = True
        jid = x.boundjid
        check(jid.bare == self.bare and jid.resource, f"{self.user} bound as {jid.full}", f"expected {self.bare}/<resource>")
        say(f"{self.user} SASL: {'; '.join(self.sasl)}")
        return self

    @property
    def full(self):
        return self.xmpp.boundjid.full

    async def roster_get(self):
        """slixmpp's own roster request (with roster versioning if offered)."""
        return await self.xmpp.get_roster(timeout=STEP)

    async def server_roster(self):
        """The roster as the server has it: a get without 'ver' asks for
        no versioning, so every item comes back. Bare JID -> item values."""
        iq = self.xmpp.Iq()
        iq["type"] = "get"
        iq.enable("roster")
        result = await iq.send(timeout=STEP)
        return {str(JID(j).bare): dict(v) for j, v in result["roster"]["items"].items()}

    async def available(self):
        """Initial presence; RFC 6121 §4.2.2 echoes it to the sender too."""
        self.xmpp.send_presence()
        await self.run.until(f"{self.user} gets its own presence back", lambda: self.find_presence(self.full, None))

    def presence_to(self, jid, kind, status=None):
        self.xmpp.send_presence(pto=jid, ptype=kind, pstatus=status)

    async def ping_server(self):
        """A round trip: whatever the server sent before the answer is here."""
        await self.xmpp["xep_0199"].send_ping(self.run.domain, timeout=STEP)

    async def close(self):
        if self.online:
            self.closing = True
            await self.xmpp.disconnect()
            await self.run.until(f"{self.user} disconnected", lambda: not self.online)

    # --- looking at what arrived --------------------------------------------

    def find_presence(self, sender, kind):
        """First presence of `kind` (None = available) from `sender`, which
        is compared as a full JID if it has a resource, else as bare."""
        for s in self.received:
            if s.name != "presence":
                continue
            ptype = s["type"] if s["type"] in ("unavailable", "subscribe", "subscribed", "unsubscribe", "unsubscribed", "error", "probe") else None
            if ptype == kind and same_jid(s["from"], sender):
                return s
        return None

    def messages(self):
        return [s for s in self.received if s.name == "message" and s["body"]]

    def pushes(self, jid):
        """Items for `jid` in roster pushes (iq type set), in order."""
        out = []
        for s in self.received:
            if s.name == "iq" and s["type"] == "set":
                for j, item in s["roster"]["items"].items():
                    if JID(j).bare == jid:
                        out.append(dict(item))
        return out

    def subscription(self, jid):
        """slixmpp's view (fed by roster pushes), without creating an item."""
        roster = self.xmpp.client_roster
        return roster[jid]["subscription"] if roster.has_jid(jid) else None


def same_jid(got, want):
    got = JID(got)
    want = JID(want)
    return got.full == want.full if want.resource else got.bare == want.bare and not got.resource


# --- scenarios ---------------------------------------------------------------


def keeper(run, into, value=None):
    """An event handler that keeps what it gets (or `value`) in `into` and
    wakes run.until."""
    def handler(event):
        into.append(event if value is None else value)
        run.news.set()
    return handler


async def two_online(run, *plugins):
    """The run's two users logged in and available, with `plugins` loaded."""
    a, b = run.peer(run.users[0]), run.peer(run.users[1])
    for p in (a, b):
        for plugin in plugins:
            p.xmpp.register_plugin(plugin)
    for p in (a, b):
        await p.login()
        p.xmpp.send_presence()
    return a, b


async def online(run, user, **kw):
    """Login, roster, initial presence: what a client does on start-up
    (RFC 6121 §2.2: roster before presence)."""
    p = await run.peer(user, **kw).login()
    await p.roster_get()
    await p.available()
    return p


async def login(run):
    """(a) Two accounts log in with slixmpp's default SASL choice, bind,
    get an empty roster and become available."""
    alice, bob = run.users
    peers = []
    for user in (alice, bob):
        p = await run.peer(user).login()
        # slixmpp 1.8.3 first tries -PLUS with tls-unique, which TLS 1.3
        # does not have (RFC 9266), is refused, and retries plain SCRAM
        # with the gs2 flag "y"; the server lets that through on purpose.
        # The SASL line above shows the attempts. It must never end in PLAIN.
        check(p.sasl and p.sasl[-1].startswith("SCRAM-") and p.sasl[-1].endswith("accepted"), f"{user} logged in with SCRAM", str(p.sasl))
        roster = await p.roster_get()
        check(roster["roster"]["items"] == {}, f"{user}'s roster is empty", str(roster))
        check(len(p.xmpp.client_roster) == 0, f"{user}'s slixmpp roster is empty")
        await p.available()
        peers.append(p)
    # Two sessions of different users, both alive: a round trip on each.
    for p in peers:
        await p.ping_server()
    check(all(p.online for p in peers), "both sessions still up")


async def befriend(run, a, b):
    """(b) a adds b with a name and a group and asks to subscribe; b
    approves and asks back; a approves. Ends with 'both' on both sides."""
    a_jid, b_jid = a.bare, b.bare
    await a.xmpp.update_roster(b_jid, name="Bob", groups=["Friends"], timeout=STEP)
    item = (await run.until(f"{a.user} gets a roster push for {b.user}", lambda: a.pushes(b_jid)))[-1]
    check(item["name"] == "Bob" and item["groups"] == ["Friends"] and item["subscription"] == "none", "push has name, group, subscription none", str(item))

    a.presence_to(b_jid, "subscribe", status="hi, it's me")
    # RFC 6121 §3.1.2: the user's server pushes the item with ask='subscribe'.
    await run.until(f"{a.user}'s push shows ask=subscribe", lambda: any(i["ask"] == "subscribe" for i in a.pushes(b_jid)))
    # §3.1.3: delivered to the contact, from the user's bare JID.
    req = await run.until(f"{b.user} receives subscribe from {a.user}", lambda: b.find_presence(a_jid, "subscribe"))
    check(req["status"] == "hi, it's me", "the request keeps its status text", str(req))

    b.presence_to(a_jid, "subscribed")
    await run.until(f"{a.user}'s roster: {b.user} is 'to'", lambda: a.subscription(b_jid) == "to")
    await run.until(f"{b.user}'s roster: {a.user} is 'from'", lambda: b.subscription(a_jid) == "from")
    # §3.1.5/§3.1.6: after approval the user gets the contact's presence.
    await run.until(f"{a.user} sees {b.user} available", lambda: a.find_presence(b.full, None))

    b.presence_to(a_jid, "subscribe")
    await run.until(f"{a.user} receives subscribe from {b.user}", lambda: a.find_presence(b_jid, "subscribe"))
    a.presence_to(b_jid, "subscribed")
    await run.until(f"{a.user}'s roster: {b.user} is 'both'", lambda: a.subscription(b_jid) == "both")
    await run.until(f"{b.user}'s roster: {a.user} is 'both'", lambda: b.subscription(a_jid) == "both")
    await run.until(f"{b.user} sees {a.user} available", lambda: b.find_presence(a.full, None))

    # The server's own rosters agree with what the pushes said.
    ra = await a.server_roster()
    check(
        ra.get(b_jid, {}).get("subscription") == "both" and not ra[b_jid]["ask"] and ra[b_jid]["name"] == "Bob" and ra[b_jid]["groups"] == ["Friends"],
        f"server roster of {a.user}: {b.user} both, Bob, Friends",
        str(ra),
    )
    rb = await b.server_roster()
    check(rb.get(a_jid, {}).get("subscription") == "both" and not rb[a_jid]["ask"], f"server roster of {b.user}: {a.user} both", str(rb))


async def subscription(run):
    alice, bob = run.users
    a = await online(run, alice)
    b = await online(run, bob)
    await befriend(run, a, b)


async def message(run):
    """(c) Chat between mutual contacts, to the bare and to the full JID."""
    alice, bob = run.users
    a = await online(run, alice)
    b = await online(run, bob)
    await befriend(run, a, b)

    body_ab = "Hello Bob <&> 'quotes' \"double\" — ünïcödé 🐧"
    a.xmpp.send_message(mto=b.bare, mbody=body_ab, mtype="chat")
    m = await run.until(f"{b.user} receives the chat sent to his bare JID", lambda: b.messages())
    m = m[0]
    check(m["body"] == body_ab, "body arrives intact", repr(m["body"]))
    check(m["from"].full == a.full, f"from is {a.user}'s full JID", str(m["from"]))
    check(m["type"] == "chat", "type stays chat", m["type"])

    body_ba = "Hi Alice!\nsecond line\ttab"
    b.xmpp.send_message(mto=a.full, mbody=body_ba, mtype="chat")
    m = (await run.until(f"{a.user} receives the chat sent to her full JID", lambda: a.messages()))[0]
    check(m["body"] == body_ba, "body arrives intact", repr(m["body"]))
    check(m["from"].full == b.full, f"from is {b.user}'s full JID", str(m["from"]))
    check(m["to"].full == a.full, f"to is {a.user}'s full JID", str(m["to"]))


async def offline(run):
    """(d) XEP-0160: messages to an offline user wait for him and come
    with a XEP-0203 delay stamp, in order, once."""
    alice, bob = run.users
    a = await online(run, alice)
    bodies = [f"offline {i} of 3" for i in (1, 2, 3)]
    sent_at = dt.datetime.now(dt.timezone.utc)
    for body in bodies:
        a.xmpp.send_message(mto=run.jid(bob), mbody=body, mtype="chat")
    # The server handles a session's stanzas in order: once the ping is
    # answered the messages have been routed, so bob cannot be online yet
    # when they are (he would get them live, without delay).
    await a.ping_server()
    check(not a.messages(), f"{alice} gets no error back for the stored messages", str(a.messages()))

    b = await run.peer(bob).login()
    await b.roster_get()
    b.xmpp.send_presence()
    got = await run.until(f"{bob} receives 3 messages after initial presence", lambda: len(b.messages()) >= 3 and b.messages())
    check([m["body"] for m in got] == bodies, "in the order they were sent", str([m["body"] for m in got]))
    for m in got:
        check(m["from"].full == a.full, f"'{m['body']}' is from {alice}'s full JID", str(m["from"]))
        stamp = m["delay"]["stamp"]
        check(stamp is not None, f"'{m['body']}' has a XEP-0203 delay stamp", str(m))
        skew = (stamp - sent_at).total_seconds()
        check(-60 < skew < 60, f"'{m['body']}' stamp {stamp.isoformat()} is when it was sent", f"{skew:.1f}s off")
    stamps = [m["delay"]["stamp"] for m in got]
    check(stamps == sorted(stamps), "stamps do not go backwards")

    # Delivered means gone: a new session of bob gets none of them again.
    await b.ping_server()
    check(len(b.messages()) == 3, "exactly 3 messages, no duplicates", str([m["body"] for m in b.messages()]))
    await b.close()
    b2 = await online(run, bob)
    await b2.ping_server()
    check(not b2.messages(), "the offline store is empty after delivery", str([m["body"] for m in b2.messages()]))


async def roster_remove(run):
    """(e) RFC 6121 §2.5.2: removing a 'both' contact makes the server send
    unsubscribe and unsubscribed for the user. By Appendix A.3 the contact's
    item goes both -> to -> none; nobody but the owner deletes an item, so
    it stays in bob's roster with subscription 'none'."""
    alice, bob = run.users
    a = await online(run, alice)
    b = await online(run, bob)
    await befriend(run, a, b)
    pushes_before = len(b.pushes(a.bare))

    # Only the roster set: slixmpp's del_roster_item would also send its
    # own unsubscribe first, and this is about what the server does.
    await a.xmpp.client_roster.update(b.bare, subscription="remove", timeout=STEP)
    await run.until(f"{alice} gets a push with subscription=remove", lambda: any(i["subscription"] == "remove" for i in a.pushes(b.bare)))
    check(not a.xmpp.client_roster.has_jid(b.bare), f"slixmpp dropped {bob} from {alice}'s roster")

    await run.until(f"{bob} receives unsubscribe from {alice} (§3.3.3)", lambda: b.find_presence(a.bare, "unsubscribe"))
    await run.until(f"{bob} receives unsubscribed from {alice} (§3.2.3)", lambda: b.find_presence(a.bare, "unsubscribed"))
    await run.until(f"{bob}'s roster: {alice} is 'none' (pushes)", lambda: b.subscription(a.bare) == "none")
    subs = [i["subscription"] for i in b.pushes(a.bare)[pushes_before:]]
    check(subs and subs[-1] == "none" and "remove" not in subs, f"{bob}'s pushes for {alice} end in 'none'", str(subs))
    # Both directions ended, so each sees the other go unavailable.
    await run.until(f"{bob} gets unavailable from {alice}", lambda: b.find_presence(a.full, "unavailable"))
    await run.until(f"{alice} gets unavailable from {bob}", lambda: a.find_presence(b.full, "unavailable"))

    ra = await a.server_roster()
    check(b.bare not in ra, f"server roster of {alice} has no {bob}", str(ra))
    rb = await b.server_roster()
    check(a.bare in rb and rb[a.bare]["subscription"] == "none" and not rb[a.bare]["ask"], f"server roster of {bob}: {alice} stays, subscription none", str(rb))

    # And presence is no longer shared: a new status of alice stays home.
    a.xmpp.send_presence(pstatus="after removal")
    await a.ping_server()
    await b.ping_server()
    check(not any(s.name == "presence" and s["status"] == "after removal" for s in b.received), f"{bob} no longer gets {alice}'s presence")


async def services(run):
    """(f) Server services through slixmpp's plugins."""
    (alice,) = run.users
    a = await online(run, alice)
    domain = run.domain

    info = await a.xmpp["xep_0030"].get_info(jid=domain, local=False, cached=False, timeout=STEP)
    identities = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
    features = set(info["disco_info"]["features"])
    check(("server", "im") in identities, "disco#info: identity server/im", str(identities))
    for var in ("http://jabber.org/protocol/disco#info", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time"):
        check(var in features, f"disco#info: feature {var}", str(sorted(features)))
    items = await a.xmpp["xep_0030"].get_items(jid=domain, local=False, timeout=STEP)
    check(items["type"] == "result", "disco#items answers", str(items))

    version = await a.xmpp["xep_0092"].get_version(domain, timeout=STEP)
    sv = version["software_version"]
    check(sv["name"] == "Xerra" and sv["version"], f"version: {sv['name']} {sv['version']}", str(version))

    # send_ping, not ping(): ping() of one's own server treats an error
    # reply as success.
    started = time.monotonic()
    pong = await a.xmpp["xep_0199"].send_ping(domain, timeout=STEP)
    check(pong["type"] == "result", f"ping answered in {time.monotonic() - started:.3f}s", str(pong))

    answer = await a.xmpp["xep_0202"].get_entity_time(domain, timeout=STEP)
    # slixmpp 1.8.3's entity_time['utc'] appends a second 'Z' to the
    # correct "...Z" form, so the element text is parsed here.
    utc = answer.xml.find("{urn:xmpp:time}time/{urn:xmpp:time}utc")
    tzo = answer.xml.find("{urn:xmpp:time}time/{urn:xmpp:time}tzo")
    check(utc is not None and tzo is not None, "time has utc and tzo", str(answer))
    when = xep_0082.parse(utc.text)
    skew = (when - dt.datetime.now(dt.timezone.utc)).total_seconds()
    check(when.utcoffset() == dt.timedelta(0), f"utc {utc.text} is in UTC")
    check(abs(skew) < 60, f"server time within a minute of ours ({skew:+.2f}s)")


async def pending_send(run):
    """(g), first half: alice asks offline bob; the server must keep it."""
    alice, bob = run.users
    a = await online(run, alice)
    a.presence_to(run.jid(bob), "subscribe", status="remember me")
    await run.until(f"{alice}'s push shows ask=subscribe", lambda: any(i["ask"] == "subscribe" for i in a.pushes(run.jid(bob))))
    await a.ping_server()
    await a.close()


async def pending_receive(run):
    """(g), second half, after a restart: bob's first initial presence
    brings alice's request (RFC 6121 §3.1.3: stored until the contact is
    available); alice's side still says ask=subscribe. Then bob approves."""
    alice, bob = run.users
    a = await online(run, alice)
    ra = await a.server_roster()
    item = ra.get(run.jid(bob), {})
    check(item.get("subscription") == "none" and item.get("ask") == "subscribe", f"{alice} still has {bob} as none + ask=subscribe", str(ra))

    b = await run.peer(bob).login()
    await b.roster_get()
    b.xmpp.send_presence()
    req = await run.until(f"{bob} receives the stored subscribe from {alice}", lambda: b.find_presence(a.bare, "subscribe"))
    check(req["status"] == "remember me", "the stored request keeps its status text", str(req))
    await b.ping_server()
    n = sum(1 for s in b.received if s.name == "presence" and s["type"] == "subscribe")
    check(n == 1, "delivered once", f"{n} subscribe stanzas")

    b.presence_to(a.bare, "subscribed")
    await run.until(f"{alice}'s roster: {bob} is 'to'", lambda: a.subscription(b.bare) == "to")
    await run.until(f"{alice} sees {bob} available", lambda: a.find_presence(b.full, None))
    rb = await b.server_roster()
    check(rb.get(a.bare, {}).get("subscription") == "from", f"server roster of {bob}: {alice} is 'from'", str(rb))


async def mechanisms(run):
    """(h) Each mechanism, forced through slixmpp's sasl_mech."""
    (alice,) = run.users
    for mech in ("SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"):
        p = await run.peer(alice, mech=mech, channel_binding=False, resource=mech.lower()).login()
        check(p.sasl == [f"{mech} accepted"], f"{mech}: logged in at the first try", str(p.sasl))
        await p.ping_server()
        await p.close()

    # The same forced SCRAM but with binding data: slixmpp sends "y" and,
    # since -PLUS was offered and not tried first, that is refused.
    p = run.peer(alice, mech="SCRAM-SHA-256")
    refused = asyncio.get_running_loop().create_future()
    p.xmpp.add_event_handler("failed_all_auth", lambda _: refused.done() or refused.set_result(True))
    p.closing = True  # the server may close the stream after refusing
    p.xmpp.connect(("127.0.0.1", run.port))
    run.waiting_for = "forced SCRAM-SHA-256 with the 'y' flag to be refused"
    await refused
    check(p.sasl == ["SCRAM-SHA-256 refused (not-authorized)"], "gs2 'y' without a -PLUS attempt is refused (RFC 5802 §6)", str(p.sasl))
    # slixmpp disconnects by itself after failed_all_auth.


async def private_storage(run):
    """XEP-0049 private storage through slixmpp's XEP-0048 bookmarks (the
    legacy place older clients keep them): stored, read back on a second
    connection with special characters intact."""
    from slixmpp.plugins.xep_0048 import Bookmarks

    (alice,) = run.users
    p = run.peer(alice)
    p.xmpp.register_plugin("xep_0048")
    await p.login()
    b = Bookmarks()
    b.add_conference(f"office@rooms.{run.domain}", "alice", name="Office", autojoin=True)
    b.add_url("http://intranet.lan/?a=1&b=2", name="Intranet <&> 'x'")
    result = await p.xmpp["xep_0048"].set_bookmarks(b, method="xep_0049", timeout=STEP)
    check(result["type"] == "result", "bookmarks stored in private storage", str(result))
    await p.close()

    q = run.peer(alice, resource="second")
    q.xmpp.register_plugin("xep_0048")
    await q.login()
    got = await q.xmpp["xep_0048"].get_bookmarks(method="xep_0049", timeout=STEP)
    ns = "{storage:bookmarks}"
    storage = got.xml.find("{jabber:iq:private}query/" + ns + "storage")
    check(storage is not None, "a second connection reads the storage element back", str(got))
    conf = storage.find(ns + "conference")
    url = storage.find(ns + "url")
    check(conf is not None and conf.get("jid") == f"office@rooms.{run.domain}" and conf.get("autojoin") in ("true", "1"), "the conference bookmark is intact", str(got))
    check(conf.find(ns + "nick") is not None and conf.find(ns + "nick").text == "alice", "with its nick", str(got))
    check(url is not None and url.get("name") == "Intranet <&> 'x'" and url.get("url") == "http://intranet.lan/?a=1&b=2", "the URL bookmark keeps <&>' and its query", str(got))


async def last_activity(run):
    """XEP-0012 through slixmpp's plugin: the server's uptime, then bob asks
    for alice (his contact) while she is online (0) and after she left with
    a status."""
    alice, bob = run.users
    a = run.peer(alice)
    b = run.peer(bob)
    for p in (a, b):
        p.xmpp.register_plugin("xep_0012")
    await a.login()
    await b.login()
    a.xmpp.send_presence()
    b.xmpp.send_presence()
    up = await b.xmpp["xep_0012"].get_last_activity(JID(run.domain), timeout=STEP)
    check(0 <= int(up["last_activity"]["seconds"]) < 3600, f"server uptime {up['last_activity']['seconds']}s", str(up))
    online = await b.xmpp["xep_0012"].get_last_activity(JID(a.bare), timeout=STEP)
    check(int(online["last_activity"]["seconds"]) == 0, f"{alice} online: 0 seconds", str(online))
    a.xmpp.send_presence(ptype="unavailable", pstatus="lunch")
    await run.until(f"{bob} sees {alice} leave", lambda: b.find_presence(a.full, "unavailable"))
    gone = await b.xmpp["xep_0012"].get_last_activity(JID(a.bare), timeout=STEP)
    check(gone["last_activity"]["status"] == "lunch", "the status of the last presence comes back", str(gone))


async def vcard(run):
    """XEP-0054 through slixmpp: alice publishes her vCard, bob reads it."""
    alice, bob = run.users
    a = run.peer(alice)
    b = run.peer(bob)
    for p in (a, b):
        p.xmpp.register_plugin("xep_0054")
    await a.login()
    await b.login()
    card = a.xmpp["xep_0054"].make_vcard()
    card["FN"] = "Anna Berg"
    card["NICKNAME"] = "anna"
    # Returns nothing; an error answer would raise IqError.
    await a.xmpp["xep_0054"].publish_vcard(card, timeout=STEP)
    say(f"ok: {alice} published her vCard")
    got = await b.xmpp["xep_0054"].get_vcard(JID(a.bare), timeout=STEP)
    fn = got.xml.find("{vcard-temp}vCard/{vcard-temp}FN")
    nick = got.xml.find("{vcard-temp}vCard/{vcard-temp}NICKNAME")
    check(fn is not None and fn.text == "Anna Berg" and nick is not None and nick.text == "anna", f"{bob} reads it", str(got))


async def carbons(run):
    """XEP-0280 through slixmpp: alice's laptop sees what bob sends to her
    phone (received) and what her phone sends to bob (sent)."""
    alice, bob = run.users
    phone = run.peer(alice, resource="phone")
    laptop = run.peer(alice, resource="laptop")
    b = run.peer(bob)
    for p in (phone, laptop):
        p.xmpp.register_plugin("xep_0280")
    for p in (phone, laptop, b):
        await p.login()
        p.xmpp.send_presence()
    for p in (phone, laptop):
        await p.xmpp["xep_0280"].enable(timeout=STEP)
    say("ok: carbons enabled on both of alice's devices")

    # slixmpp's plugin turns carbons into events of their own.
    copies = []
    laptop.xmpp.add_event_handler("carbon_received", lambda m: keeper(run, copies)(("received", m)))
    laptop.xmpp.add_event_handler("carbon_sent", lambda m: keeper(run, copies)(("sent", m)))

    def carbon(kind, body):
        for k, m in copies:
            fwd = m.xml.find("{urn:xmpp:carbons:2}" + kind + "/{urn:xmpp:forward:0}forwarded/{jabber:client}message/{jabber:client}body")
            if k == kind and fwd is not None and fwd.text == body:
                return m
        return None

    b.xmpp.send_message(mto=phone.full, mbody="hello phone", mtype="chat")
    await run.until("the laptop gets a received carbon", lambda: carbon("received", "hello phone"))
    phone.xmpp.send_message(mto=b.bare, mbody="hello bob", mtype="chat")
    await run.until("the laptop gets a sent carbon", lambda: carbon("sent", "hello bob"))


async def pep(run):
    """XEP-0163 through slixmpp's PEP plugins: alice publishes a tune and an
    avatar before bob is online; bob's client says +notify in its caps
    (XEP-0115, hashed by slixmpp, checked by the server), so he gets the last
    tune at login and the next one live, then fetches the avatar. An OMEMO-
    style node with publish-options: open, and a conflicting precondition."""
    alice, bob = run.users
    a = run.peer(alice)
    b = run.peer(bob)
    for p in (a, b):
        for plugin in ("xep_0060", "xep_0115", "xep_0163", "xep_0118", "xep_0084", "xep_0004"):
            p.xmpp.register_plugin(plugin)
    tunes = []
    metadata = []

    b.xmpp.add_event_handler("user_tune_publish", keeper(run, tunes))
    b.xmpp.add_event_handler("avatar_metadata_publish", keeper(run, metadata))

    def titles():
        return [t.text for m in tunes for t in m.xml.iter("{http://jabber.org/protocol/tune}title")]

    await a.login()
    a.xmpp.send_presence()
    await a.xmpp["xep_0118"].publish_tune(artist="Ella", title="First", timeout=STEP)
    avatar = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    avatar_id = a.xmpp["xep_0084"].generate_id(avatar)
    await a.xmpp["xep_0084"].publish_avatar(avatar, timeout=STEP)
    await a.xmpp["xep_0084"].publish_avatar_metadata(
        {"id": avatar_id, "type": "image/png", "bytes": len(avatar)}, timeout=STEP)
    say("ok: alice published a tune and an avatar")

    await b.login()
    b.xmpp.send_presence()
    await run.until("bob gets alice's last tune once the server knows his caps", lambda: "First" in titles())
    await run.until("and her avatar metadata", lambda: metadata)
    await a.xmpp["xep_0118"].publish_tune(artist="Ella", title="Second", timeout=STEP)
    await run.until("bob gets the next tune live", lambda: "Second" in titles())
    got = await b.xmpp["xep_0084"].retrieve_avatar(JID(a.bare), avatar_id, timeout=STEP)
    data = got.xml.find(".//{urn:xmpp:avatar:data}data")
    check(data is not None and base64.b64decode(data.text) == avatar, "bob fetched the avatar bytes", str(got))

    # publish-options as OMEMO clients send them.
    def options(access):
        form = a.xmpp["xep_0004"].make_form("submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
        form.add_field(var="pubsub#access_model", value=access)
        return form

    node = "eu.siacs.conversations.axolotl.devicelist"
    payload = ET.fromstring("<list xmlns='eu.siacs.conversations.axolotl'><device id='4711'/></list>")
    await a.xmpp["xep_0060"].publish(None, node, id="current", payload=payload, options=options("open"), timeout=STEP)
    items = await b.xmpp["xep_0060"].get_items(JID(a.bare), node, timeout=STEP)
    check("4711" in str(items), "bob reads the open device list", str(items))
    try:
        await a.xmpp["xep_0060"].publish(None, node, id="current", payload=payload, options=options("whitelist"), timeout=STEP)
        check(False, "a conflicting publish-option is refused")
    except IqError as e:
        check(e.condition == "conflict", "a conflicting publish-option is refused with conflict", str(e.iq))


async def stream_management(run):
    """XEP-0198 through slixmpp's plugin: it enables resumable stream
    management, the server acknowledges what alice sends and asks her to
    acknowledge what she gets; then her connection breaks, bob writes
    meanwhile, and slixmpp resumes the session and gets that message."""
    alice, bob = run.users
    a = run.peer(alice)
    b = run.peer(bob)
    a.xmpp.register_plugin("xep_0198")
    events = []

    for name in ("sm_enabled", "session_resumed", "sm_failed", "stanza_acked"):
        a.xmpp.add_event_handler(name, keeper(run, events, name))
    await a.login()
    await b.login()
    a.xmpp.send_presence()
    b.xmpp.send_presence()
    await run.until("stream management is enabled", lambda: "sm_enabled" in events)
    sm = a.xmpp["xep_0198"]
    check(bool(sm.sm_id), "the server offered resumption", str(sm.sm_id))
    for i in range(6):
        a.xmpp.send_message(mto=b.bare, mbody=f"hi {i}", mtype="chat")
    await run.until("bob got them", lambda: len([m for m in b.messages() if m["body"].startswith("hi ")]) == 6)
    # (slixmpp writes <r/> past its send queue, so ask once they are out.)
    sm.request_ack()
    await run.until("the server acknowledges all of alice's stanzas", lambda: not sm.unacked_queue and events.count("stanza_acked") >= 7)
    b.xmpp.send_message(mto=a.bare, mbody="before the break", mtype="chat")
    await run.until("alice got bob's message", lambda: any(m["body"] == "before the break" for m in a.messages()))
    handled = sm.handled

    # The network goes away under alice's client.
    a.closing = True
    a.xmpp.transport.abort()
    await run.until("alice's client notices", lambda: not a.online)
    await asyncio.sleep(0.3)
    b.xmpp.send_message(mto=a.bare, mbody="while you were away", mtype="chat")
    await asyncio.sleep(0.3)
    a.closing = False
    a.xmpp.connect(("127.0.0.1", run.port))
    await run.until("slixmpp resumes the session", lambda: "session_resumed" in events)
    check("sm_failed" not in events, "resumption did not fail", str(events))
    await run.until("the message sent meanwhile arrives", lambda: any(m["body"] == "while you were away" for m in a.messages()))
    check(sm.handled > handled, "alice's count went on from where it was", f"{handled} -> {sm.handled}")


async def client_state(run):
    """XEP-0352 through slixmpp's plugin: the server offers CSI; while alice
    says she is inactive, bob's presence change waits, and his message
    brings it along, presence first."""
    alice, bob = run.users
    a = run.peer(alice)
    b = run.peer(bob)
    a.xmpp.register_plugin("xep_0352")
    offered = []
    a.xmpp.add_event_handler("csi_enabled", lambda _: offered.append(True))
    await a.login()
    await b.login()
    a.xmpp.send_presence()
    b.xmpp.send_presence()
    check(bool(offered), "the server offers client state indication")
    await run.until("alice sees bob", lambda: a.find_presence(b.full, None))
    a.xmpp["xep_0352"].send_inactive()
    await asyncio.sleep(0.2)
    seen = len(a.received)
    b.xmpp.send_presence(pshow="away")
    await asyncio.sleep(0.5)
    check(len(a.received) == seen, "bob's away waits while alice is inactive", str(a.received[seen:]))
    b.xmpp.send_message(mto=a.bare, mbody="ping", mtype="chat")
    await run.until("the message arrives", lambda: any(m["body"] == "ping" for m in a.messages()))
    kinds = [(s.name, s["type"] if s.name == "presence" else s["body"]) for s in a.received[seen:]]
    check(kinds[:2] == [("presence", "away"), ("message", "ping")], "the held presence comes first, then the message", str(kinds))


async def blocking(run):
    """XEP-0191 through slixmpp's plugin: alice blocks bob, his message
    comes back as an error and never reaches her; she unblocks him and the
    next one arrives."""
    a, b = await two_online(run, "xep_0191")
    await a.xmpp["xep_0191"].block(JID(b.bare), timeout=STEP)
    got = await a.xmpp["xep_0191"].get_blocked(timeout=STEP)
    check({str(j) for j in got["blocklist"]["items"]} == {b.bare}, "the block list has bob", str(got))
    errors = []
    b.xmpp.add_event_handler("message_error", keeper(run, errors))
    b.xmpp.send_message(mto=a.bare, mbody="let me in", mtype="chat")
    await run.until("bob's message comes back as service-unavailable",
                    lambda: any(m["error"]["condition"] == "service-unavailable" for m in errors))
    check(not any(m["body"] == "let me in" for m in a.messages()), "alice never saw it")
    await a.xmpp["xep_0191"].unblock(JID(b.bare), timeout=STEP)
    b.xmpp.send_message(mto=a.bare, mbody="thanks", mtype="chat")
    await run.until("after unblocking his message arrives", lambda: any(m["body"] == "thanks" for m in a.messages()))


async def archive(run):
    """XEP-0313 through slixmpp's plugin: alice and bob chat, then bob pages
    through his archive with alice two at a time (XEP-0059)."""
    a, b = await two_online(run, "xep_0313", "xep_0059")
    for i in range(5):
        a.xmpp.send_message(mto=b.bare, mbody=f"line {i}", mtype="chat")
    await run.until("bob got the five lines", lambda: len([m for m in b.messages() if m["body"].startswith("line ")]) == 5)
    got = []
    async for msg in b.xmpp["xep_0313"].iterate(with_jid=JID(a.bare), rsm={"max": 2}):
        got.append(msg["mam_result"]["forwarded"]["stanza"]["body"])
    check(got == [f"line {i}" for i in range(5)], "bob pages through the archive in order", str(got))


async def muc(run):
    """XEP-0045 through slixmpp's plugin: alice makes a room and says
    something, invites bob directly (XEP-0249); bob joins with history and
    sees her in the room; they talk; alice gives the room a subject."""
    alice, bob = run.users
    a = run.peer(alice)
    b = run.peer(bob)
    for p in (a, b):
        p.xmpp.register_plugin("xep_0045")
        p.xmpp.register_plugin("xep_0249")
    room = JID(f"lounge@rooms.{run.domain}")
    got = []
    invites = []

    b.xmpp.add_event_handler("groupchat_message", keeper(run, got))
    a.xmpp.add_event_handler("groupchat_message", keeper(run, got))
    b.xmpp.add_event_handler("groupchat_direct_invite", keeper(run, invites))
    await a.login()
    await b.login()
    a.xmpp.send_presence()
    b.xmpp.send_presence()
    pres, subject, occupants, history = await a.xmpp["xep_0045"].join_muc_wait(room, "Alice", timeout=STEP)
    codes = {int(s) for s in pres["muc"]["status_codes"]}
    check(110 in codes and 201 in codes, "alice made the room and is in it", str(pres))
    a.xmpp.send_message(mto=room, mbody="first!", mtype="groupchat")
    await run.until("alice hears herself", lambda: any(m["body"] == "first!" for m in got))
    a.xmpp["xep_0249"].send_invitation(JID(b.bare), room, reason="come in")
    await run.until("bob gets the direct invitation", lambda: invites)
    pres, subject, occupants, history = await b.xmpp["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=10, timeout=STEP)
    check([m["body"] for m in history] == ["first!"], "bob gets the history", str(history))
    check("Alice" in b.xmpp["xep_0045"].get_roster(room), "bob sees alice in the room", str(b.xmpp["xep_0045"].get_roster(room)))
    b.xmpp.send_message(mto=room, mbody="hello alice", mtype="groupchat")
    await run.until("alice hears bob", lambda: any(m["body"] == "hello alice" and m["from"].resource == "Bob" for m in got))
    subjects = []
    b.xmpp.add_event_handler("groupchat_subject", keeper(run, subjects))
    a.xmpp["xep_0045"].set_subject(room, "Lunch")
    await run.until("bob sees the new subject", lambda: any(m["subject"] == "Lunch" for m in subjects))


async def upload(run):
    """XEP-0363 through slixmpp's plugin: alice finds the upload service,
    uploads a file over HTTPS (verified against the box's CA), sends bob
    the link; bob downloads the same bytes."""
    import aiohttp
    a, b = await two_online(run, "xep_0363")
    # COMPAT: slixmpp 1.8.3's own service lookup (get_info_from_domain)
    # fails on Python 3.11 (asyncio.wait with coroutines), so the service
    # is found with a plain disco#info of the server, as the plugin would.
    info = await a.xmpp["xep_0030"].get_info(jid=JID(run.domain), timeout=STEP)
    check(("store", "file") in {(i[0], i[1]) for i in info["disco_info"]["identities"]}, "the server is a file store")
    check("urn:xmpp:http:upload:0" in info["disco_info"]["features"], "with HTTP upload")
    up = a.xmpp["xep_0363"]
    up.upload_service = JID(run.domain)
    for form in info["disco_info"].iterables:
        if form["values"].get("FORM_TYPE") == ["urn:xmpp:http:upload:0"]:
            up.max_file_size = int(form["values"]["max-file-size"])
    data = bytes(range(256)) * 400
    url = await a.xmpp["xep_0363"].upload_file("report.pdf", size=len(data), content_type="application/pdf",
                                               input_file=io.BytesIO(data), timeout=STEP)
    check(url.startswith("https://" + run.domain + ":"), "the server gave an https URL on its own name", url)
    check(up.max_file_size == 104857600, "the service says its size limit", str(up.max_file_size))
    a.xmpp.send_message(mto=b.bare, mbody=url, mtype="chat")
    await run.until("bob gets the link", lambda: any(m["body"] == url for m in b.messages()))
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            check(response.status == 200, "bob's download works", str(response.status))
            got = await response.read()
    check(got == data, "bob has the same bytes", f"{len(got)} bytes")


async def invite(run):
    """XEP-0401 through slixmpp: alice runs the server's "invite someone"
    command (XEP-0050) and gets an invitation link; bob, who has an
    account, subscribes with its token (XEP-0379) and both are contacts at
    once, without alice answering a request."""
    alice, bob = run.users
    a = run.peer(alice)
    b = run.peer(bob)
    a.xmpp.register_plugin("xep_0050")
    await a.login()
    await b.login()
    for p in (a, b):
        await p.roster_get()  # roster pushes go to resources that asked
        p.xmpp.send_presence()
    result = await a.xmpp["xep_0050"].send_command(JID(run.domain), "urn:xmpp:invite#invite", timeout=STEP)
    form = result["command"]["form"]
    uri = form["values"]["uri"]
    check(uri.startswith(f"xmpp:{a.bare}?roster;preauth="), "alice got a contact invitation", uri)
    token = uri.split("preauth=")[1].split(";")[0]
    p = b.xmpp.make_presence(pto=JID(a.bare), ptype="subscribe")
    p.append(ET.fromstring(f"<preauth xmlns='urn:xmpp:pars:0' token='{token}'/>"))
    p.send()
    await run.until("bob is subscribed to alice", lambda: b.subscription(a.bare) == "both")
    await run.until("and alice to bob", lambda: a.subscription(b.bare) == "both")
    check(not a.find_presence(b.bare, "subscribe"), "alice was not asked")


async def component(run):
    """XEP-0114 through slixmpp's ComponentXMPP: a bot on its own domain
    (XERRA_COMPONENT_DOMAIN, secret and port from the environment) connects,
    answers disco for its domain and echoes what alice says; it asks the
    server's disco, and alice subscribes to it and sees its presence."""
    (alice,) = run.users
    domain = os.environ["XERRA_COMPONENT_DOMAIN"]
    bot_jid = f"echo@{domain}"
    trace = []
    c = await connect_component(run, domain, trace)
    c.register_plugin("xep_0030")
    c["xep_0030"].add_identity(category="gateway", itype="xmpp", name="Echo", jid=domain)
    got = []

    def echo(msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            got.append(msg)
            c.send_message(mto=msg["from"], mfrom=bot_jid, mbody=f"echo: {msg['body']}", mtype="chat")
            run.news.set()

    def subscribe(pres):
        # A contact on the component: approve and show presence.
        c.send_presence(pto=pres["from"].bare, pfrom=bot_jid, ptype="subscribed")
        c.send_presence(pto=pres["from"].bare, pfrom=bot_jid + "/bot", pstatus="echoing")

    c.add_event_handler("message", echo)
    c.add_event_handler("presence_subscribe", subscribe)
    try:
        info = await c["xep_0030"].get_info(jid=run.domain, ifrom=domain, local=False, cached=False, timeout=STEP)
        identities = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
        check(("server", "im") in identities, "the component reads the server's disco#info", str(identities))

        a = await online(run, alice)
        info = await a.xmpp["xep_0030"].get_info(jid=domain, local=False, cached=False, timeout=STEP)
        identities = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
        check(("gateway", "xmpp") in identities, "alice reads the component's disco#info through the server", str(identities))

        a.xmpp.send_message(mto=bot_jid, mbody="ping one", mtype="chat")
        await run.until("the component gets alice's message", lambda: got)
        check(got[0]["from"].bare == a.bare, f"from {got[0]['from']}")
        await run.until("alice gets the echo", lambda: [m for m in a.messages() if m["body"] == "echo: ping one"])

        a.presence_to(bot_jid, "subscribe")
        await run.until("alice is subscribed to the bot", lambda: a.subscription(bot_jid) in ("to", "both"))
        await run.until("alice sees the bot's presence", lambda: a.find_presence(bot_jid + "/bot", None))
    finally:
        if os.environ.get("SLIX_FULL"):
            for line in trace:
                print(f"    {line}", flush=True)
        c.disconnect()


async def connect_component(run, domain, trace):
    """A slixmpp ComponentXMPP for `domain` (secret and port from the
    environment), connected."""
    c = ComponentXMPP(domain, os.environ["XERRA_COMPONENT_SECRET"], "127.0.0.1", int(os.environ["XERRA_COMPONENT_PORT"]))
    c.add_filter("in", lambda st: trace.append(f"COMPONENT IN  {st}") or st)
    c.add_filter("out", lambda st: trace.append(f"COMPONENT OUT {st}") or st)
    started = asyncio.get_running_loop().create_future()
    c.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
    c.add_event_handler("disconnected", lambda _: started.done() or started.set_exception(Failure(f"component disconnected: {trace[-5:]}")))
    c.connect()
    run.waiting_for = f"the handshake of component {domain}"
    await started
    say(f"component {domain} connected (handshake accepted)")
    return c


async def push_app_server(run):
    """An XEP-0357 app server: slixmpp's ComponentXMPP on the component
    domain, answering every publish; returns (its domain, the component,
    the publishes it got, its trace)."""
    domain = os.environ["XERRA_COMPONENT_DOMAIN"]
    trace = []
    c = await connect_component(run, domain, trace)
    c.register_plugin("xep_0060")
    publishes = []

    def on_publish(iq):
        publishes.append(iq)
        iq.reply().send()
        run.news.set()

    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import StanzaPath
    c.register_handler(Callback("push publish", StanzaPath("iq@type=set/pubsub/publish"), on_publish))
    return domain, c, publishes, trace


async def push(run):
    """XEP-0357 with slixmpp's ComponentXMPP as the app server: alice (a
    slixmpp client; slixmpp 1.8.3 has no XEP-0357 plugin, so the enable iq
    is built by hand) registers it, goes offline, and bob's message makes
    the server publish a notification that the app server answers."""
    alice, bob = run.users
    domain, c, publishes, trace = await push_app_server(run)
    try:
        a = await online(run, alice)
        enable = ET.fromstring(
            f"<enable xmlns='urn:xmpp:push:0' jid='{domain}' node='slix-node'>"
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            "<field var='secret'><value>app-secret</value></field></x></enable>")
        iq = a.xmpp.Iq()
        iq["type"] = "set"
        iq.append(enable)
        result = await iq.send(timeout=STEP)
        check(result["type"] == "result", "alice enabled push with her app server")
        await a.close()
        b = await online(run, bob)
        b.xmpp.send_message(mto=run.jid(alice), mbody="wake up", mtype="chat")
        got = await run.until("the app server gets a notification", lambda: publishes)
        p = got[0]
        check(p["pubsub"]["publish"]["node"] == "slix-node", f"published to node {p['pubsub']['publish']['node']}")
        check(p["from"].bare == run.jid(alice), f"from {p['from']}")
        xml = str(p)
        check("urn:xmpp:push:summary" in xml and "message-count" in xml, "a summary with the message count")
        check("app-secret" in xml, "with alice's publish options")
        check("wake up" not in xml, "without the message text")
    finally:
        if os.environ.get("SLIX_FULL"):
            for line in trace:
                print(f"    {line}", flush=True)
        c.disconnect()


async def federation(run):
    """Federation with a real Prosody (PROSODY_DOMAIN at PROSODY_ADDR, user
    romeo, password secret): alice on Xerra and romeo on Prosody chat both
    ways, subscribe to each other until both, see each other's presence,
    and alice reads the Prosody server's disco#info."""
    (alice,) = run.users
    domain = os.environ["PROSODY_DOMAIN"]
    host, port = os.environ["PROSODY_ADDR"].rsplit(":", 1)
    a = await online(run, alice)
    r = run.peer("romeo", domain=domain, addr=(host, int(port)), password="secret")
    await r.login()
    await r.roster_get()
    await r.available()
    romeo = r.bare

    a.xmpp.send_message(mto=romeo, mbody="hello prosody", mtype="chat")
    got = await run.until("romeo (on Prosody) gets alice's message", lambda: [m for m in r.messages() if m["body"] == "hello prosody"])
    check(got[0]["from"].full == a.full, f"from {got[0]['from']}")
    r.xmpp.send_message(mto=a.full, mbody="hello xerra", mtype="chat")
    await run.until("alice gets romeo's answer", lambda: [m for m in a.messages() if m["body"] == "hello xerra"])

    a.presence_to(romeo, "subscribe")
    await run.until("romeo gets alice's subscription request", lambda: r.find_presence(a.bare, "subscribe"))
    r.presence_to(a.bare, "subscribed")
    await run.until("alice is subscribed to romeo", lambda: a.subscription(romeo) in ("to", "both"))
    r.presence_to(a.bare, "subscribe")
    await run.until("alice gets romeo's request", lambda: a.find_presence(romeo, "subscribe"))
    a.presence_to(romeo, "subscribed")
    await run.until("alice and romeo: subscription both", lambda: a.subscription(romeo) == "both")
    await run.until("romeo sees alice online", lambda: r.find_presence(a.full, None))
    r.xmpp.send_presence(pstatus="in Verona")
    await run.until("alice sees romeo's new status", lambda: [p for p in a.received if p.name == "presence" and p["status"] == "in Verona"])

    info = await a.xmpp["xep_0030"].get_info(jid=domain, local=False, cached=False, timeout=STEP)
    identities = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
    check(("server", "im") in identities, "alice reads Prosody's disco#info over federation", str(identities))


SCENARIOS = {
    "login": (login, 2),
    "subscription": (subscription, 2),
    "message": (message, 2),
    "offline": (offline, 2),
    "roster_remove": (roster_remove, 2),
    "services": (services, 1),
    "pending_send": (pending_send, 2),
    "pending_receive": (pending_receive, 2),
    "mechanisms": (mechanisms, 1),
    "private_storage": (private_storage, 1),
    "last_activity": (last_activity, 2),
    "vcard": (vcard, 2),
    "carbons": (carbons, 2),
    "pep": (pep, 2),
    "stream_management": (stream_management, 2),
    "client_state": (client_state, 2),
    "blocking": (blocking, 2),
    "archive": (archive, 2),
    "muc": (muc, 2),
    "upload": (upload, 2),
    "invite": (invite, 2),
    "component": (component, 1),
    "push": (push, 2),
    "federation": (federation, 1),
}


def _resolve_test_domain():
    """XERRA_TEST_RESOLVE: the test domain's name resolves to that address
    (what a LAN's DNS or mDNS does for a real box)."""
    addr = os.environ.get("XERRA_TEST_RESOLVE")
    if not addr:
        return
    import socket
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kw):
        if isinstance(host, str) and host.endswith(ARGS_DOMAIN[0]):
            host = addr
        return real(host, *args, **kw)
    socket.getaddrinfo = getaddrinfo


ARGS_DOMAIN = [""]


def report(run):
    """What each client saw, for the failure message."""
    print(f"--- was waiting for: {run.waiting_for}", flush=True)
    for p in run.peers:
        print(f"--- {p.user} ({p.full if p.xmpp.boundjid.resource else 'not bound'}), SASL {p.sasl}: last stanzas", flush=True)
        for line in p.trace[-40:] if not os.environ.get("SLIX_FULL") else p.trace:
            print(f"    {line}", flush=True)


async def main(args, scenarios):
    ARGS_DOMAIN[0] = args.domain
    _resolve_test_domain()
    run = Run(args)
    scenario, users = scenarios[args.scenario]
    if len(args.users) != users:
        raise SystemExit(f"{args.scenario} needs {users} user name(s)")
    say(f"scenario {args.scenario} with {', '.join(args.users)} on 127.0.0.1:{args.port}")
    try:
        await asyncio.wait_for(scenario(run), args.timeout)
        await asyncio.wait_for(run.close_all(), STEP)
    except asyncio.TimeoutError:
        say(f"FAILED: timed out after {args.timeout}s waiting for: {run.waiting_for}")
        report(run)
        return 1
    except (Failure, IqError, IqTimeout) as e:
        detail = f"{type(e).__name__}: {e.iq}" if isinstance(e, (IqError, IqTimeout)) else str(e)
        say(f"FAILED: {detail}")
        report(run)
        return 1
    say(f"PASSED {args.scenario}")
    return 0


def cli(scenarios, doc):
    """The command line of this script and of those that add scenarios."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="STARTTLS c2s port")
    parser.add_argument("--domain", required=True)
    parser.add_argument("--password", required=True, help="every user's password")
    parser.add_argument("--timeout", type=float, default=20, help="seconds for the whole scenario")
    parser.add_argument("scenario", choices=sorted(scenarios))
    parser.add_argument("users", nargs="+")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if os.environ.get("SLIX_DEBUG") else logging.CRITICAL)
    sys.exit(asyncio.run(main(args, scenarios)))


if __name__ == "__main__":
    cli(SCENARIOS, __doc__)
