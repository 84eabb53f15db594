#!/usr/bin/python3
"""Moving in from Prosody: fill a real Prosody 0.12 with an office's data,
then check that the same people find it all on Xerra after the import.

Run by tests/prosody_import.rs:

    /usr/bin/python3 prosody_move.py fill  --host IP --port PORT --domain DOMAIN --muc MUC
    /usr/bin/python3 prosody_move.py check --host IP --port PORT --domain DOMAIN --muc MUC
    /usr/bin/python3 prosody_move.py login --port PORT --domain DOMAIN --muc MUC --mech M

Users alice, bob, carol (passwords "alice-old-pw", "bob pw é", "carol pw").
fill: alice and bob subscribe to each other (both); alice asks carol, who
never answers (pending); alice sets a vCard, private XML and a PEP nick;
alice and bob chat (archived); bob goes away and alice writes to him
(offline); alice makes a persistent room with bob as a member and says
something there (the room's archive).
check: logs each in (slixmpp's choice of SASL mechanism) and finds all of
that. login: only logs each in, with --mech. Prints one line per step; exits 0 only if all held.
Needs Debian's python3-slixmpp (1.8.3).
"""

import argparse
import asyncio
import ssl
import sys
import time

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

PASSWORDS = {"alice": "alice-old-pw", "bob": "bob pw \u00e9", "carol": "carol pw"}
PRIVATE_NS = "urn:example:xerra:prefs"
ROOM = "office"
START = time.monotonic()


def say(text):
    print(f"[{time.monotonic() - START:6.2f}s] {text}", flush=True)


class Failure(Exception):
    pass


def check(cond, what, detail=""):
    if not cond:
        raise Failure(f"{what}{': ' + str(detail) if detail else ''}")
    say(f"ok: {what}")


class Client:
    def __init__(self, args, user, mech=None):
        self.args = args
        self.user = user
        self.bare = f"{user}@{args.domain}"
        self.messages = []
        self.sasl = []
        x = ClientXMPP(f"{self.bare}/move", PASSWORDS[user], sasl_mech=mech)
        self.x = x
        x.ssl_context.check_hostname = False
        x.ssl_context.verify_mode = ssl.CERT_NONE
        x.auto_authorize = None
        x.auto_subscribe = False
        for p in ("xep_0030", "xep_0045", "xep_0049", "xep_0054", "xep_0060", "xep_0163", "xep_0172", "xep_0199", "xep_0313", "xep_0203"):
            x.register_plugin(p)
        self.requests = []
        if mech and not mech.endswith("-PLUS"):
            self._drop_channel_binding()
        x.add_event_handler("message", lambda m: self.messages.append(m))
        x.add_event_handler("presence_subscribe", lambda p: self.requests.append(p))
        x.add_event_handler("failed_auth", lambda e: self.sasl.append(f"failed {e}"))
        x.add_event_handler("auth_success", lambda e: self.sasl.append("success"))

    def _drop_channel_binding(self):
        """With binding data at hand slixmpp sends the GS2 flag "y" for a
        plain SCRAM it was told to use; the server offers -PLUS, so RFC 5802
        has it refuse "y" as a downgrade. A client without -PLUS sends "n"."""
        mechs = self.x["feature_mechanisms"]
        default = mechs.sasl_callback

        def without_binding(required, optional):
            creds = default(required, optional)
            creds.pop("channel_binding", None)
            return creds

        mechs.sasl_callback = without_binding

    async def start(self, presence=True):
        done = asyncio.get_event_loop().create_future()
        self.x.add_event_handler("session_start", lambda e: done.done() or done.set_result(True))
        self.x.add_event_handler("disconnected", lambda e: done.done() or done.set_exception(Failure(f"{self.user}: disconnected: {self.sasl}")))
        self.x.connect(address=(self.args.host, self.args.port), force_starttls=False, disable_starttls=False)
        await asyncio.wait_for(done, 20)
        say(f"{self.user} logged in ({self.sasl}, mechanism {self.x['feature_mechanisms'].mech.name if self.x['feature_mechanisms'].mech else '?'})")
        self.x.send_presence() if presence else None

    async def stop(self):
        gone = asyncio.get_event_loop().create_future()
        self.x.add_event_handler("disconnected", lambda e: gone.done() or gone.set_result(True))
        self.x.disconnect()
        await asyncio.wait_for(gone, 10)

    async def until(self, what, cond, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = cond()
            if v:
                return v
            await asyncio.sleep(0.1)
        raise Failure(f"{self.user}: timed out waiting for {what}")


def prefs():
    el = ET.Element(f"{{{PRIVATE_NS}}}prefs")
    el.set("theme", "dark")
    # Prosody keeps only elements with children (an empty one deletes).
    el.text = "compact"
    return el


async def private(client, kind, el):
    """XEP-0049 with the element as given (slixmpp's plugin wants a registered stanza class)."""
    iq = client.x.Iq()
    iq["type"] = kind
    ET.SubElement(iq.xml, "{jabber:iq:private}query").append(el)
    return await iq.send(timeout=15)


async def fill(args):
    alice, bob, carol = Client(args, "alice"), Client(args, "bob"), Client(args, "carol")
    await alice.start()
    await bob.start()
    # alice <-> bob: both; alice -> carol: pending (carol is offline and never answers).
    alice.x.send_presence(pto=bob.bare, ptype="subscribe")
    await bob.until("alice's request", lambda: True, 1)
    await asyncio.sleep(0.5)
    bob.x.send_presence(pto=alice.bare, ptype="subscribed")
    bob.x.send_presence(pto=alice.bare, ptype="subscribe")
    await asyncio.sleep(0.5)
    alice.x.send_presence(pto=bob.bare, ptype="subscribed")
    alice.x.send_presence(pto=carol.bare, ptype="subscribe")
    await asyncio.sleep(1)
    roster = await alice.x.get_roster()
    items = roster["roster"]["items"]
    say(f"alice's roster on Prosody: { {str(k): (v['subscription'], v['ask']) for k, v in items.items()} }")
    check(items[bob.bare]["subscription"] == "both", "alice and bob see each other (both)")
    check(items[carol.bare]["ask"] == "subscribe", "alice's request to carol is pending")

    # vCard, private XML, PEP nick.
    vcard = alice.x["xep_0054"].make_vcard()
    vcard["FN"] = "Alice Old-Server"
    await alice.x["xep_0054"].publish_vcard(vcard)
    await private(alice, "set", prefs())
    await alice.x["xep_0172"].publish_nick("Ally")
    say("alice set a vCard, private XML and a PEP nick")

    # A chat (archived on both sides).
    alice.x.send_message(mto=bob.bare, mbody="hello from the old server", mtype="chat")
    await bob.until("alice's message", lambda: any(m["body"] == "hello from the old server" for m in bob.messages))
    bob.x.send_message(mto=alice.bare, mbody="hi alice, archived", mtype="chat")
    await alice.until("bob's answer", lambda: any(m["body"] == "hi alice, archived" for m in alice.messages))

    # A persistent room, bob a member.
    room = f"{ROOM}@{args.muc}"
    await alice.x["xep_0045"].join_muc_wait(room, "alice", timeout=15)
    form = alice.x["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", value="http://jabber.org/protocol/muc#roomconfig")
    form.add_field(var="muc#roomconfig_persistentroom", value=True, ftype="boolean")
    form.add_field(var="muc#roomconfig_roomname", value="The Office")
    await alice.x["xep_0045"].set_room_config(room, form)
    await alice.x["xep_0045"].set_affiliation(room, "member", jid=bob.bare)
    alice.x.send_message(mto=room, mbody="welcome to the office", mtype="groupchat")
    await alice.until("the room's echo", lambda: any(m["body"] == "welcome to the office" and m["type"] == "groupchat" for m in alice.messages))
    say("alice made a persistent room with bob as a member, and said something in it")

    await bob.stop()
    await asyncio.sleep(0.5)
    alice.x.send_message(mto=bob.bare, mbody="while you were away", mtype="chat")
    await asyncio.sleep(1)
    await alice.stop()
    say("filled")


async def login_check(args):
    mech = args.mech
    alice, bob, carol = Client(args, "alice", mech), Client(args, "bob", mech), Client(args, "carol", mech)
    await bob.start()
    check(
        await bob.until("the offline message", lambda: [m for m in bob.messages if m["body"] == "while you were away"]),
        "bob gets the offline message alice sent while he was away",
    )
    await alice.start()
    roster = (await alice.x.get_roster())["roster"]["items"]
    say(f"alice's roster on Xerra: { {str(k): (v['subscription'], v['ask']) for k, v in roster.items()} }")
    check(bob.bare in roster and roster[bob.bare]["subscription"] == "both", "alice still has bob (both)", roster.keys())
    check(carol.bare in roster and roster[carol.bare]["ask"] == "subscribe", "alice's request to carol is still pending")
    await carol.start()
    check(
        await carol.until("alice's request", lambda: [p for p in carol.requests if p["from"].bare == alice.bare]),
        "carol is asked again for alice's pending request",
    )

    vcard = await alice.x["xep_0054"].get_vcard(alice.bare)
    check(vcard["vcard_temp"]["FN"] == "Alice Old-Server", "alice's vCard came along", vcard["vcard_temp"]["FN"])
    stored = await private(alice, "get", ET.Element(f"{{{PRIVATE_NS}}}prefs"))
    got = stored.xml.find(f"{{jabber:iq:private}}query/{{{PRIVATE_NS}}}prefs")
    check(got is not None and got.get("theme") == "dark" and got.text == "compact", "alice's private XML came along", stored)
    items = await alice.x["xep_0060"].get_items(alice.bare, "http://jabber.org/protocol/nick")
    nicks = [i.xml.find("{http://jabber.org/protocol/nick}nick") for i in items["pubsub"]["items"]]
    check(any(n is not None and n.text == "Ally" for n in nicks), "alice's PEP nick came along", items)

    bodies = []
    async for rsm in alice.x["xep_0313"].retrieve(jid=None, with_jid=None, iterator=True, rsm={"max": 50}):
        for msg in rsm["mam"]["results"]:
            bodies.append(msg["mam_result"]["forwarded"]["stanza"]["body"])
    say(f"alice's archive: {bodies}")
    check("hello from the old server" in bodies and "hi alice, archived" in bodies, "alice's history came along")

    room = f"{ROOM}@{args.muc}"
    info = await alice.x["xep_0030"].get_info(jid=room)
    check("muc_persistent" in info["disco_info"]["features"], "the room is there and persistent", info)
    members = await alice.x["xep_0045"].get_affiliation_list(room, "member")
    check(bob.bare in [str(j) for j in members], "bob is still a member of the room", members)
    owners = await alice.x["xep_0045"].get_affiliation_list(room, "owner")
    check(alice.bare in [str(j) for j in owners], "alice still owns the room", owners)
    said = []
    async for rsm in alice.x["xep_0313"].retrieve(jid=room, iterator=True, rsm={"max": 50}):
        for msg in rsm["mam"]["results"]:
            said.append(msg["mam_result"]["forwarded"]["stanza"]["body"])
    check("welcome to the office" in said, "the room's history came along", said)
    for c in (alice, bob, carol):
        await c.stop()
    say("checked")


async def login_only(args):
    for user in PASSWORDS:
        c = Client(args, user, args.mech)
        await c.start(presence=False)
        used = c.x["feature_mechanisms"].mech.name
        check(args.mech is None or used == args.mech, f"{user} logged in with {used}")
        await c.stop()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("fill", "check", "login"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--muc", required=True)
    ap.add_argument("--mech", default=None)
    args = ap.parse_args()
    try:
        run = {"fill": fill, "check": login_check, "login": login_only}[args.what]
        await asyncio.wait_for(run(args), 120)
    except (Failure, IqError, IqTimeout, asyncio.TimeoutError) as e:
        print(f"FAILED: {e!r} {getattr(e, 'iq', '')}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
