#!/usr/bin/python3
"""Call invitations (XEP-0353 Jingle Message Initiation) with slixmpp,
beside slix_flows.py (whose helpers this reuses), run by
tests/call_invitations.rs the same way:

    /usr/bin/python3 slix_calls.py --port PORT --domain DOMAIN \
        --password PASSWORD SCENARIO USER [USER...]

Scenarios: a call proposed to an offline contact (delivered at login, in
the archive), carbons of a call and its answer to a second device, and a
push notification for a call, marked as one.

slixmpp 1.8.3 has no XEP-0353 plugin: the messages are built as
Conversations sends them (type chat, a <store/> hint).

Needs Debian's python3-slixmpp (1.8.3); run it with /usr/bin/python3.
"""

import os
import xml.etree.ElementTree as ET

from slixmpp import JID

import slix_flows
from slix_flows import STEP, check, connect_component, keeper, online, say

JMI = "urn:xmpp:jingle-message:0"


def jmi(peer, to, action, sid, media=True):
    """Sends a JMI `action` (propose, retract, accept, reject, proceed,
    ringing, finish) for session `sid` to `to`."""
    m = peer.xmpp.make_message(mto=to, mtype="chat")
    el = ET.Element(f"{{{JMI}}}{action}", {"id": sid})
    if action == "propose" and media:
        ET.SubElement(el, "{urn:xmpp:jingle:apps:rtp:1}description", {"media": "audio"})
    m.append(el)
    m.append(ET.Element("{urn:xmpp:hints}store"))
    m.send()


def jmi_in(stanza, action, sid):
    """The JMI `action` element for `sid` in a message (or None)."""
    el = stanza.xml.find(f"{{{JMI}}}{action}")
    return el if el is not None and el.get("id") == sid else None


def watch(peer):
    """Records body-less messages too: slixmpp's "message" event (what
    Peer records) fires only for messages with a body."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    peer.jmi = []

    def got(stanza):
        peer.jmi.append(stanza)
        peer.run.news.set()
    peer.xmpp.register_handler(Callback("jmi", MatchXPath("{jabber:client}message"), got))
    return peer


def calls(peer, action, sid):
    return [s for s in peer.jmi if jmi_in(s, action, sid) is not None]


async def call_offline(run):
    """alice calls bob while he is offline, then gives up: at login bob gets
    the proposal and the retraction (a missed call), and both are in his
    archive (XEP-0313), so each of his devices learns of the missed call."""
    alice, bob = run.users
    a = await online(run, alice)
    jmi(a, run.jid(bob), "propose", "call-1")
    jmi(a, run.jid(bob), "retract", "call-1")
    # In order, once handled: bob cannot be online before they are stored.
    await a.ping_server()
    errors = [s for s in a.received if s.name == "message" and s["type"] == "error"]
    check(not errors, f"{alice} gets no error back for the proposal", str(errors))
    b = watch(run.peer(bob))
    b.xmpp.register_plugin("xep_0313")
    b.xmpp.register_plugin("xep_0059")
    await b.login()
    await b.roster_get()
    b.xmpp.send_presence()
    got = await run.until(f"{bob} gets the proposal after login", lambda: calls(b, "propose", "call-1"))
    check(got[0]["from"].bare == run.jid(alice), f"from {alice}", str(got[0]["from"]))
    check(got[0].xml.find("{urn:xmpp:delay}delay") is not None, "with a XEP-0203 delay stamp (stored offline)", str(got[0]))
    await run.until(f"{bob} gets the retraction too", lambda: calls(b, "retract", "call-1"))
    kept = []
    async for msg in b.xmpp["xep_0313"].iterate(with_jid=JID(run.jid(alice)), rsm={"max": 10}):
        kept.append(msg["mam_result"]["forwarded"]["stanza"])
    actions = [c.tag.split("}")[1] for m in kept for c in m.xml if c.tag.startswith(f"{{{JMI}}}")]
    check(actions == ["propose", "retract"], "the proposal and the retraction are in bob's archive, in order", str(actions))


async def call_carbons(run):
    """bob's phone and laptop both have carbons on: alice's proposal to the
    phone reaches the laptop as a received carbon, and the phone's
    <proceed/> reaches it as a sent carbon, so the laptop stops ringing."""
    alice, bob = run.users
    phone = watch(run.peer(bob, resource="phone"))
    laptop = run.peer(bob, resource="laptop")
    for p in (phone, laptop):
        p.xmpp.register_plugin("xep_0280")
        await p.login()
        p.xmpp.send_presence()
        await p.xmpp["xep_0280"].enable(timeout=STEP)
    a = watch(run.peer(alice))
    await a.login()
    a.xmpp.send_presence()
    copies = []
    laptop.xmpp.add_event_handler("carbon_received", lambda m: keeper(run, copies)(("received", m)))
    laptop.xmpp.add_event_handler("carbon_sent", lambda m: keeper(run, copies)(("sent", m)))

    def carbon(kind, action, sid):
        for k, m in copies:
            inner = m.xml.find(f"{{urn:xmpp:carbons:2}}{kind}/{{urn:xmpp:forward:0}}forwarded/{{jabber:client}}message")
            el = inner.find(f"{{{JMI}}}{action}") if inner is not None else None
            if k == kind and el is not None and el.get("id") == sid:
                return m
        return None

    jmi(a, phone.full, "propose", "call-2")
    await run.until("the phone gets the proposal", lambda: calls(phone, "propose", "call-2"))
    await run.until("the laptop gets it as a received carbon", lambda: carbon("received", "propose", "call-2"))
    jmi(phone, JID(a.full), "ringing", "call-2")
    await run.until("the laptop gets the phone's ringing as a sent carbon", lambda: carbon("sent", "ringing", "call-2"))
    jmi(phone, JID(a.full), "proceed", "call-2")
    await run.until("alice gets proceed", lambda: calls(a, "proceed", "call-2"))
    await run.until("the laptop gets the phone's proceed as a sent carbon", lambda: carbon("sent", "proceed", "call-2"))
    jmi(a, phone.full, "finish", "call-2")
    await run.until("the laptop gets the finish as a received carbon", lambda: carbon("received", "finish", "call-2"))


async def call_push(run):
    """bob's phone registered an app server (XEP-0357) and went away;
    alice's call makes the server publish a notification marked as a call:
    the summary's last-message-body is "Incoming call" (a fixed text, never
    the message's content)."""
    alice, bob = run.users
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
    try:
        b = await online(run, bob)
        iq = b.xmpp.Iq()
        iq["type"] = "set"
        iq.append(ET.fromstring(f"<enable xmlns='urn:xmpp:push:0' jid='{domain}' node='bob-phone'/>"))
        result = await iq.send(timeout=STEP)
        check(result["type"] == "result", "bob enabled push with his app server")
        await b.close()
        a = await online(run, alice)
        jmi(a, run.jid(bob), "propose", "call-3")
        got = await run.until("the app server gets a notification for the call", lambda: publishes)
        p = got[0]
        check(p["pubsub"]["publish"]["node"] == "bob-phone", f"published to node {p['pubsub']['publish']['node']}")
        fields = {}
        for f in p.xml.iter("{jabber:x:data}field"):
            v = f.find("{jabber:x:data}value")
            fields[f.get("var")] = v.text if v is not None else None
        check(fields.get("FORM_TYPE") == "urn:xmpp:push:summary", "a XEP-0357 summary", str(fields))
        check(fields.get("last-message-body") == "Incoming call", "marked as a call", str(fields))
        check(fields.get("message-count") == "1", "one message waiting", str(fields))
    finally:
        if os.environ.get("SLIX_FULL"):
            for line in trace:
                print(f"    {line}", flush=True)
        c.disconnect()


SCENARIOS = {
    "call_offline": (call_offline, 2),
    "call_carbons": (call_carbons, 2),
    "call_push": (call_push, 2),
}

if __name__ == "__main__":
    slix_flows.cli(SCENARIOS, __doc__)
