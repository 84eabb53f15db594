#!/usr/bin/python3
"""More interop scenarios with slixmpp, beside slix_flows.py (whose helpers
this reuses), run the same way by tests/real_clients.rs:

    /usr/bin/python3 slix_office.py --port PORT --domain DOMAIN \
        --password PASSWORD SCENARIO USER [USER...]

Scenarios: a file sent through the server's SOCKS5 proxy (XEP-0065), an
explicit PEP subscription (XEP-0060 §6.1), a room's avatar and occupant
ids (XEP-0486, XEP-0421), and an account changing its password and
removing itself (XEP-0077).

Needs Debian's python3-slixmpp (1.8.3); run it with /usr/bin/python3.
"""

import asyncio
import base64
import hashlib
import xml.etree.ElementTree as ET

from slixmpp import JID

import slix_flows
from slix_flows import STEP, check, keeper, say, two_online

async def proxy(run):
    """alice sends bob bytes through proxy.DOMAIN with slixmpp's XEP-0065
    plugin: it finds the proxy, offers it to bob, both connect, alice
    activates the stream; then bob answers on the same stream."""
    a, b = await two_online(run, "xep_0065")
    # bob's client takes any offered stream (a user would click "accept").
    b.xmpp["xep_0065"].auto_accept = True
    got_b, got_a, streams = [], [], []
    b.xmpp.add_event_handler("socks5_stream", keeper(run, streams))
    b.xmpp.add_event_handler("socks5_data", keeper(run, got_b))
    a.xmpp.add_event_handler("socks5_data", keeper(run, got_a))
    proxies = await a.xmpp["xep_0065"].discover_proxies(timeout=STEP)
    check(JID(f"proxy.{run.domain}") in proxies, "alice found the server's proxy", str(proxies))
    sock = await a.xmpp["xep_0065"].handshake(JID(b.full), timeout=STEP)
    check(sock is not None, "the stream is open and activated")
    await run.until("bob has the stream", lambda: streams)
    data = bytes(range(256)) * 64
    await sock.write(data)
    await run.until("bob got every byte", lambda: len(b"".join(got_b)) >= len(data))
    check(b"".join(got_b) == data, "bob got the same bytes", f"{len(b''.join(got_b))} bytes")
    await streams[0].write(b"thanks")
    await run.until("alice got bob's answer", lambda: b"".join(got_a) == b"thanks")
    # COMPAT: slixmpp 1.8.3's xep_0065 close() calls a close() its
    # Socks5Protocol does not have; the transports close for real.
    sock.transport.close()
    streams[0].transport.close()


async def pep_subscribe(run):
    """bob subscribes to a node of alice's with slixmpp's pubsub plugin (no
    +notify of his own): he gets alice's next item, lists his subscription,
    unsubscribes and gets nothing more."""
    a, b = await two_online(run, "xep_0060")
    node = "urn:example:status"
    ps_a, ps_b = a.xmpp["xep_0060"], b.xmpp["xep_0060"]
    opts = a.xmpp["xep_0004"].make_form(ftype="submit")
    opts.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
    opts.add_field(var="pubsub#access_model", value="open")
    first = ET.fromstring("<status xmlns='urn:example:status'>in</status>")
    await ps_a.publish(JID(a.bare), node, id="now", payload=first, options=opts, timeout=STEP)
    got = []
    b.xmpp.add_event_handler("pubsub_publish", keeper(run, got))
    result = await ps_b.subscribe(JID(a.bare), node, timeout=STEP)
    sub = result["pubsub"]["subscription"]
    check(sub["subscription"] == "subscribed" and sub["node"] == node, "bob is subscribed", str(result))
    await run.until("bob gets the last item at once", lambda: any(m["pubsub_event"]["items"]["item"]["id"] == "now" for m in got))
    listed = await ps_b.get_subscriptions(JID(a.bare), timeout=STEP)
    nodes = [s["node"] for s in listed["pubsub"]["subscriptions"]]
    check(nodes == [node], "bob lists his subscription", str(listed))
    second = ET.fromstring("<status xmlns='urn:example:status'>out</status>")
    await ps_a.publish(JID(a.bare), node, id="later", payload=second, timeout=STEP)
    await run.until("bob gets the new item", lambda: any(m["pubsub_event"]["items"]["item"]["id"] == "later" for m in got))
    await ps_b.unsubscribe(JID(a.bare), node, timeout=STEP)
    third = ET.fromstring("<status xmlns='urn:example:status'>back</status>")
    await ps_a.publish(JID(a.bare), node, id="third", payload=third, timeout=STEP)
    await b.ping_server()
    await a.ping_server()
    check(not any(m["pubsub_event"]["items"]["item"]["id"] == "third" for m in got), "after unsubscribing, nothing comes")


async def room_extras(run):
    """alice makes a room and gives it a picture (a vCard on the room, as
    XEP-0486 says); bob sees its hash in the room's disco#info and fetches
    it; in the room, everything alice sends carries one occupant id."""
    a, b = await two_online(run, "xep_0045", "xep_0054", "xep_0421")
    room = JID(f"office@rooms.{run.domain}")
    await a.xmpp["xep_0045"].join_muc_wait(room, "Alice", timeout=STEP)
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    card = a.xmpp["xep_0054"].make_vcard()
    card["PHOTO"]["TYPE"] = "image/png"
    card["PHOTO"]["BINVAL"] = png
    await a.xmpp["xep_0054"].publish_vcard(card, jid=room, timeout=STEP)
    info = await b.xmpp["xep_0030"].get_info(jid=room, local=False, cached=False, timeout=STEP)
    check("vcard-temp" in info["disco_info"]["features"], "the room announces its vCard")
    fields = info.xml.findall("{http://jabber.org/protocol/disco#info}query/{jabber:x:data}x/{jabber:x:data}field")
    hashes = [v.text for f in fields if f.get("var") == "muc#roominfo_avatarhash" for v in f.findall("{jabber:x:data}value")]
    want = hashlib.sha1(png).hexdigest()
    check(hashes == [want], "the room's info has the picture's hash", str(hashes))
    fetched = await b.xmpp["xep_0054"].get_vcard(room, local=False, timeout=STEP)
    check(fetched["vcard_temp"]["PHOTO"]["BINVAL"] == png, "bob fetches the picture")
    presences, messages = [], []
    b.xmpp.add_event_handler("muc::%s::presence" % room, keeper(run, presences))
    b.xmpp.add_event_handler("groupchat_message", keeper(run, messages))
    await b.xmpp["xep_0045"].join_muc_wait(room, "Bob", timeout=STEP)
    a.xmpp.send_message(mto=room, mbody="hello", mtype="groupchat")
    await run.until("bob hears alice", lambda: any(m["body"] == "hello" for m in messages))
    alice_presence = [p for p in presences if p["from"].resource == "Alice"]
    check(alice_presence, "bob has alice's presence in the room")
    pid = alice_presence[0]["occupant-id"]["id"]
    mid = [m for m in messages if m["body"] == "hello"][0]["occupant-id"]["id"]
    check(pid and pid == mid, "her presence and her message carry the same occupant id", f"{pid} / {mid}")
    own = [p for p in presences if p["from"].resource == "Bob"]
    check(own and own[-1]["occupant-id"]["id"] not in ("", pid), "bob's own id is another one")


async def account(run):
    """alice changes the password the wizard gave her with slixmpp's
    XEP-0077 plugin, logs in again with the new one, then removes her
    account; logging in then fails."""
    (alice,) = run.users
    a = run.peer(alice)
    a.xmpp.register_plugin("xep_0077")
    await a.login()
    await a.xmpp["xep_0077"].change_password("chosen by alice", timeout=STEP)
    await a.close()
    b = await run.peer(alice, password="chosen by alice").login()
    b.xmpp.register_plugin("xep_0077")
    say(f"ok: {alice} logs in with the new password")
    await b.xmpp["xep_0077"].cancel_registration(timeout=STEP)
    b.closing = True
    await run.until("the server ends the stream of a removed account", lambda: not b.online)
    gone = run.peer(alice, password="chosen by alice")
    try:
        await asyncio.wait_for(gone.login(), STEP)
    except slix_flows.Failure as e:
        check("SASL failed" in str(e), "the removed account cannot log in", str(e))
    else:
        raise slix_flows.Failure("the removed account still logs in")


SCENARIOS = {
    "account": (account, 1),
    "proxy": (proxy, 2),
    "pep_subscribe": (pep_subscribe, 2),
    "room_extras": (room_extras, 2),
}


if __name__ == "__main__":
    slix_flows.cli(SCENARIOS, __doc__)
