#!/usr/bin/python3
"""What the clients named in issue 5 look for on a server, checked the way
they check it, with a real client (slixmpp) against a running Xerra.

    /usr/bin/python3 compliance.py --port PORT --domain DOMAIN \
        --password PASSWORD compliance USER

Each check is one row of the table it prints: what is looked at, the
clients (and compliance suite) that look at it, and whether it holds. The
checks follow what those clients do, read from their sources: the
Conversations compliance tester (caas), Monal's account and server
discovery, Gajim's server-info window, and the XMPP Compliance Suites 2023
(XEP-0479, IM and Mobile, advanced server). Where a client only reads an
announcement, the feature behind it is exercised by the other tests; where
it tries the feature (OMEMO-style publish, upload CORS, a room, the SOCKS5
proxy), so does this script.

Exits 0 only if every row holds. Needs Debian's python3-slixmpp (1.8.3) and
python3-aiohttp; run it with /usr/bin/python3. XERRA_TEST_RESOLVE maps the
domain to an address (the upload URL names the domain).
"""

import uuid
import xml.etree.ElementTree as ET

from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout

import slix_flows
from slix_flows import STEP, Failure, say

DISCO_INFO = "http://jabber.org/protocol/disco#info"
PUBSUB = "http://jabber.org/protocol/pubsub"
DATA = "jabber:x:data"

ROWS = []


def row(what, who, ok, detail=""):
    ROWS.append((what, who, bool(ok), "" if ok else detail))


def form_values(x):
    """A data form element -> {var: [values]}."""
    out = {}
    for field in x.findall(f"{{{DATA}}}field"):
        out[field.get("var")] = [v.text or "" for v in field.findall(f"{{{DATA}}}value")]
    return out


async def info(p, jid, node=None):
    """disco#info of `jid` as (identities {(category, type)}, features, forms)."""
    iq = p.xmpp.Iq(stype="get", sto=jid)
    q = ET.SubElement(iq.xml, f"{{{DISCO_INFO}}}query")
    if node:
        q.set("node", node)
    result = await iq.send(timeout=STEP)
    q = result.xml.find(f"{{{DISCO_INFO}}}query")
    identities = {(i.get("category"), i.get("type")) for i in q.findall(f"{{{DISCO_INFO}}}identity")}
    features = {f.get("var") for f in q.findall(f"{{{DISCO_INFO}}}feature")}
    forms = [form_values(x) for x in q.findall(f"{{{DATA}}}x")]
    return identities, features, forms


async def items(p, jid):
    got = await p.xmpp["xep_0030"].get_items(jid=jid, local=False, timeout=STEP)
    return [str(i[0]) for i in got["disco_items"]["items"]]


def stream_checks(features_xml):
    f = features_xml
    has = lambda tag: f is not None and f.find(tag) is not None
    row("stream: entity caps <c/> of the server (XEP-0115 §6.3)", "Conversations", has("{http://jabber.org/protocol/caps}c"))
    row("stream: roster versioning (XEP-0237)", "Conversations, Monal", has("{urn:xmpp:features:rosterver}ver"))
    row("stream: stream management (XEP-0198)", "Conversations, Monal, Gajim; CS Mobile", has("{urn:xmpp:sm:3}sm"))
    row("stream: client state indication (XEP-0352)", "Conversations, Monal; CS Mobile", has("{urn:xmpp:csi:0}csi"))
    row("stream: subscription pre-approval (RFC 6121 §3.4)", "Monal", has("{urn:xmpp:features:pre-approval}sub"))


async def server_checks(p, domain):
    ids, feats, forms = await info(p, domain)
    want = [
        ("urn:xmpp:blocking", "user blocking (XEP-0191)", "Conversations, Monal, Gajim; CS IM"),
        ("urn:xmpp:carbons:2", "message carbons (XEP-0280)", "Conversations, Monal, Gajim; CS IM"),
        ("msgoffline", "offline storage (XEP-0160)", "Conversations"),
        ("vcard-temp", "vcard-temp (XEP-0054)", "Conversations, Gajim; CS IM"),
        ("urn:xmpp:ping", "ping (XEP-0199)", "Monal"),
        ("jabber:iq:last", "uptime (XEP-0012)", "Gajim"),
        ("jabber:iq:version", "software version (XEP-0092)", "Gajim, Monal"),
        ("jabber:iq:register", "in-band registration, password change (XEP-0077)", "Gajim, Conversations"),
        ("urn:xmpp:http:upload:0", "HTTP upload (XEP-0363)", "Conversations, Monal, Gajim; CS IM"),
    ]
    for var, what, who in want:
        row(f"server disco: {what}", who, var in feats, f"not in {sorted(feats)}")
    upload = [f for f in forms if f.get("FORM_TYPE") == ["urn:xmpp:http:upload:0"]]
    row("server disco: upload max-file-size form", "Monal, Gajim", upload and upload[0].get("max-file-size"), str(forms))
    info_form = [f for f in forms if f.get("FORM_TYPE") == ["http://jabber.org/network/serverinfo"]]
    contacts = info_form[0] if info_form else {}
    row("server disco: contact addresses (XEP-0157)", "Conversations, Gajim, Monal", any(
        contacts.get(k) for k in ("admin-addresses", "support-addresses", "abuse-addresses")), str(forms))
    return ids, feats


async def account_checks(p, bare):
    ids, feats, _ = await info(p, bare)
    row("account disco: identity pubsub/pep (XEP-0163)", "Conversations, Monal, Gajim; CS Core", ("pubsub", "pep") in ids, str(ids))
    # Monal counts PEP as supported only with all of these, and bookmarks 2
    # only with the second group too.
    basic = ["filtered-notifications", "publish-options", "publish", "subscribe", "create-nodes", "delete-items",
             "delete-nodes", "persistent-items", "retrieve-items", "auto-create"]
    missing = [f for f in basic if f"{PUBSUB}#{f}" not in feats]
    row("account disco: Monal's PEP feature set", "Monal, Gajim (#publish-options)", not missing, f"missing {missing}")
    modern = ["item-ids", "multi-items", "config-node-max"]
    missing = [f for f in modern if f"{PUBSUB}#{f}" not in feats]
    row("account disco: multi-item nodes and max items (XEP-0402 needs)", "Monal", not missing, f"missing {missing}")
    want = [
        ("urn:xmpp:mam:2", "message archive (XEP-0313)", "Conversations, Monal, Gajim; CS IM"),
        ("urn:xmpp:push:0", "push (XEP-0357)", "Conversations, Monal; CS Mobile"),
        ("urn:xmpp:pep-vcard-conversion:0", "avatar conversion (XEP-0398)", "Conversations, Gajim; CS IM"),
        ("urn:xmpp:bookmarks-conversion:0", "bookmarks conversion (XEP-0411)", "Conversations, Gajim"),
        ("urn:xmpp:bookmarks:1#compat", "bookmarks 2 compat (XEP-0402)", "Conversations, Gajim; CS IM"),
        ("urn:xmpp:bookmarks:1#compat-pep", "bookmarks 2 compat-pep (XEP-0402)", "Monal, Gajim"),
    ]
    for var, what, who in want:
        row(f"account disco: {what}", who, var in feats, f"not in {sorted(feats)}")


async def omemo_check(p):
    """caas's OMEMO test: publish to a fresh node with publish-options
    access_model=open, read the node configuration back, delete the node."""
    node = f"eu.siacs.conversations.axolotl.{uuid.uuid4()}"
    ps = p.xmpp["xep_0060"]
    opts = p.xmpp["xep_0004"].make_form(ftype="submit")
    opts.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
    opts.add_field(var="pubsub#access_model", value="open")
    payload = ET.Element("{eu.siacs.conversations.axolotl}list")
    ok, detail = False, ""
    try:
        await ps.publish(JID(p.bare), node, payload=payload, options=opts, timeout=STEP)
        conf = await ps.get_node_config(JID(p.bare), node, timeout=STEP)
        values = conf["pubsub_owner"]["configure"]["form"]["values"]
        ok = values.get("pubsub#access_model") == "open"
        detail = str(values)
        await ps.delete_node(JID(p.bare), node, timeout=STEP)
    except (IqError, IqTimeout) as e:
        detail = str(e.iq)
    row("OMEMO: publish with access_model=open, read it back, delete", "Conversations; XEP-0384", ok, detail)


async def upload_cors_check(p, domain):
    """caas's HttpUploadCors: a slot for hello.png, then an OPTIONS preflight."""
    import aiohttp
    ok, detail = False, ""
    try:
        slot = await p.xmpp["xep_0363"].request_slot(JID(domain), "hello.png", 1234, content_type="image/png", timeout=STEP)
        put = slot["http_upload_slot"]["put"]["url"]
        async with aiohttp.ClientSession() as session:
            async with session.options(put, headers={"Origin": "https://example.org", "Access-Control-Request-Method": "PUT"}) as r:
                h = r.headers
                need = ["Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"]
                ok = all(k in h for k in need)
                detail = f"{r.status} {dict(h)}"
    except (IqError, IqTimeout) as e:
        detail = str(e.iq)
    row("upload: slot, then CORS preflight on the PUT URL", "Conversations (web clients)", ok, detail)


async def service_checks(p, domain):
    """Services found the way clients find them: disco#items of the domain,
    then disco#info of each item (or the domain itself)."""
    found = {}
    for jid in [domain] + await items(p, domain):
        try:
            ids, feats, forms = await info(p, jid)
        except (IqError, IqTimeout):
            continue
        found[jid] = (ids, feats, forms)
    def where(var):
        return [j for j, (_, f, _) in found.items() if var in f]
    muc = where("http://jabber.org/protocol/muc")
    row("service: group chat (XEP-0045)", "Conversations, Monal, Gajim; CS IM", muc, str(list(found)))
    proxy = where("http://jabber.org/protocol/bytestreams")
    row("service: SOCKS5 bytestreams proxy (XEP-0065)", "Conversations", proxy, str(list(found)))
    if proxy:
        await proxy_check(p, proxy[0])
    return muc[0] if muc else None


async def proxy_check(p, proxy):
    """XEP-0065 §6.3.1: the proxy says where it listens."""
    iq = p.xmpp.Iq(stype="get", sto=proxy)
    ET.SubElement(iq.xml, "{http://jabber.org/protocol/bytestreams}query")
    ok, detail = False, ""
    try:
        result = await iq.send(timeout=STEP)
        hosts = result.xml.findall("{http://jabber.org/protocol/bytestreams}query/{http://jabber.org/protocol/bytestreams}streamhost")
        ok = any(h.get("host") and h.get("port") and h.get("jid") == proxy for h in hosts)
        detail = str(result)
    except (IqError, IqTimeout) as e:
        detail = str(e.iq)
    row("proxy: announces its network address (XEP-0065 §6.3.1)", "Conversations", ok, detail)


async def room_checks(p, service):
    """caas's room tests: make a room, join, look at its disco#info."""
    room = JID(f"compliance-{uuid.uuid4().hex[:8]}@{service}")
    await p.xmpp["xep_0045"].join_muc_wait(room, "test", timeout=STEP)
    ids, feats, forms = await info(p, room)
    row("room disco: archive (XEP-0313 for MUC)", "Conversations; CS IM", "urn:xmpp:mam:2" in feats, str(sorted(feats)))
    row("room disco: vcard-temp (avatars of rooms)", "Conversations", "vcard-temp" in feats, str(sorted(feats)))
    row("room disco: occupant ids (XEP-0421)", "Conversations", "urn:xmpp:occupant-id:0" in feats, str(sorted(feats)))
    row("room disco: self-ping (XEP-0410)", "CS IM", "http://jabber.org/protocol/muc#self-ping-optimization" in feats, str(sorted(feats)))
    await p.xmpp["xep_0045"].destroy(room, timeout=STEP)


async def scenario(run):
    (user,) = run.users
    p = run.peer(user)
    for plugin in ("xep_0045", "xep_0060", "xep_0004", "xep_0363"):
        p.xmpp.register_plugin(plugin)
    features = []
    p.xmpp.add_filter("in", lambda s: (features.append(s.xml) if s.xml.tag.endswith("}features") else None) or s)
    await p.login()
    await p.available()
    stream_checks(features[-1] if features else None)
    await server_checks(p, run.domain)
    await account_checks(p, p.bare)
    await omemo_check(p)
    await upload_cors_check(p, run.domain)
    service = await service_checks(p, run.domain)
    if service:
        await room_checks(p, service)
    width = max(len(r[0]) for r in ROWS)
    for what, who, ok, detail in ROWS:
        say(f"{'ok  ' if ok else 'MISS'} {what.ljust(width)}  [{who}]{'  ' + detail if detail else ''}")
    missing = [r for r in ROWS if not r[2]]
    if missing:
        raise Failure(f"{len(missing)} of {len(ROWS)} missing: " + "; ".join(r[0] for r in missing))
    say(f"all {len(ROWS)} present")


SCENARIOS = {"compliance": (scenario, 1)}

if __name__ == "__main__":
    slix_flows.cli(SCENARIOS, __doc__)
