#!/usr/bin/python3
"""Service administration (XEP-0133 over XEP-0050) with slixmpp's own
xep_0050 and xep_0133 plugins, run like slix_flows.py by tests/real_clients.rs:

    /usr/bin/python3 slix_admin.py --port PORT --domain DOMAIN \
        --password PASSWORD admin ADMIN USER

ADMIN has the admin role, USER has not. Needs Debian's python3-slixmpp
(1.8.3); run it with /usr/bin/python3.
"""

import asyncio

from slixmpp import JID

import slix_flows
from slix_flows import STEP, check, say

ADMIN = "http://jabber.org/protocol/admin"


def admin_client(run, user, **kw):
    p = run.peer(user, **kw)
    for plugin in ("xep_0004", "xep_0050", "xep_0133"):
        p.xmpp.register_plugin(plugin)
    return p


async def command(peer, name, fields=None):
    """Runs admin command `name` with slixmpp's xep_0133 plugin: the first
    answer's form is filled with `fields` and completed. Returns the last
    answer (a result or an error iq)."""
    x = peer.xmpp
    fut = asyncio.get_running_loop().create_future()

    def finish(iq, session):
        if not fut.done():
            fut.set_result(iq)

    def first(iq, session):
        if iq["command"]["status"] == "completed" or fields is None:
            return finish(iq, session)
        form = x["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value=ADMIN)
        for var, value in fields.items():
            form.add_field(var=var, value=value)
        session["payload"] = form
        session["next"] = finish
        x["xep_0050"].complete_command(session)

    getattr(x["xep_0133"], name.replace("-", "_"))(session={"next": first, "error": finish})
    return await asyncio.wait_for(fut, STEP)


def status(iq):
    return iq["command"]["status"] if iq["type"] == "result" else f"error {iq['error']['condition']}"


async def admin(run):
    """The admin lists the commands, adds an account, counts and lists users,
    disables and re-enables the account, sends an announcement and sets the
    message of the day; a user without the role is refused."""
    boss, user = run.users
    b = admin_client(run, boss)
    u = admin_client(run, user)
    for p in (b, u):
        await p.login()
        p.xmpp.send_presence()
    items = await b.xmpp["xep_0133"].get_commands(timeout=STEP)
    nodes = {i[1] for i in items["disco_items"]["items"]}
    for name in ("add-user", "delete-user", "disable-user", "reenable-user", "change-user-password",
                 "get-registered-users-num", "get-online-users-num", "announce", "set-motd", "delete-motd"):
        check(f"{ADMIN}#{name}" in nodes, f"the admin sees {name}", str(sorted(nodes)))
    items = await u.xmpp["xep_0133"].get_commands(timeout=STEP)
    check(not any(i[1].startswith(ADMIN) for i in items["disco_items"]["items"]), "a user sees no admin command")
    r = await command(u, "add-user", {"accountjid": run.jid("mallory"), "password": "x", "password-verify": "x"})
    check(status(r) == "error forbidden", "a user may not add accounts", status(r))

    r = await command(b, "add-user", {"accountjid": run.jid("carol"), "password": "carol words", "password-verify": "carol words"})
    check(status(r) == "completed", "the admin added carol", str(r))
    c = await run.peer("carol", password="carol words").login()
    await c.close()
    r = await command(b, "get-registered-users-num")
    check(r["command"]["form"]["values"]["registeredusersnum"] == "3", "three accounts", str(r))
    r = await command(b, "get-online-users-num")
    check(r["command"]["form"]["values"]["onlineusersnum"] == "2", "two online", str(r))

    r = await command(b, "disable-user", {"accountjids": [run.jid("carol")]})
    check(status(r) == "completed", "carol disabled", str(r))
    locked = run.peer("carol", password="carol words")
    # slixmpp tries every mechanism, then the server ends the stream: expected here.
    locked.closing = True
    try:
        await asyncio.wait_for(locked.login(), STEP)
    except slix_flows.Failure:
        check(any("account-disabled" in s for s in locked.sasl), "carol's login is refused as account-disabled", str(locked.sasl))
    else:
        raise slix_flows.Failure("a disabled account logged in")
    r = await command(b, "reenable-user", {"accountjids": [run.jid("carol")]})
    check(status(r) == "completed", "carol re-enabled", str(r))
    c = await run.peer("carol", password="carol words").login()
    await c.close()

    r = await command(b, "announce", {"announcement": "Lunch is served"})
    check(status(r) == "completed", "announcement sent", str(r))
    await run.until("the user gets the announcement from the server",
                    lambda: any(m.name == "message" and m["from"] == JID(run.domain) and m["body"] == "Lunch is served" for m in u.received))
    r = await command(b, "set-motd", {"motd": "Welcome to the office"})
    check(status(r) == "completed", "message of the day set", str(r))
    late = run.peer(user, resource="later")
    await late.login()
    late.xmpp.send_presence()
    await run.until("a new session gets the message of the day",
                    lambda: any(m.name == "message" and m["body"] == "Welcome to the office" for m in late.received))
    r = await command(b, "delete-motd")
    check(status(r) == "completed", "message of the day deleted", str(r))
    say("done")


SCENARIOS = {"admin": (admin, 2)}


if __name__ == "__main__":
    slix_flows.cli(SCENARIOS, __doc__)
