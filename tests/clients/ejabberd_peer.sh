#!/bin/bash
# A private ejabberd (Debian's 23.01) for tests/migrate.rs, never the system
# service: its own config, spool and logs in WORK, c2s on 127.0.0.1:PORT with
# STARTTLS, SCRAM-SHA-1 (or plain) password storage, no epmd, no DNS (an inetrc hosts map).
#   ejabberd_peer.sh start WORK PORT DOMAIN [scram|plain]   (password storage; fails if it does not start)
#   ejabberd_peer.sh ctl WORK ARGS...         (ejabberdctl for this instance)
#   ejabberd_peer.sh stop WORK
set -euo pipefail
cmd=${1:?usage}; WORK=${2:?usage}
RUN_USER=ejabberd
as_user() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=$RUN_USER --regid=$RUN_USER --init-groups "$@"; else "$@"; fi; }
case "$cmd" in
start)
	PORT=${3:?port}; DOMAIN=${4:?domain}; FORMAT=${5:-scram}; DIST_PORT=$((PORT + 1))
	mkdir -p "$WORK/spool" "$WORK/logs" "$WORK/io"
	WORK=$(cd "$WORK" && pwd)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
		-subj "/CN=$DOMAIN" -addext "subjectAltName=DNS:$DOMAIN" >/dev/null 2>&1
	cat "$WORK/cert.pem" "$WORK/key.pem" > "$WORK/both.pem"
	printf '%s\n' '{lookup,["file"]}.' '{host,{127,0,0,1},["localhost"]}.' > "$WORK/inetrc"
	cat > "$WORK/ejabberd.yml" <<CFG
loglevel: info
log_rotate_count: 0
hosts:
  - "$DOMAIN"
certfiles:
  - "$WORK/both.pem"
listen:
  -
    port: $PORT
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
    shaper: none
auth_method: internal
auth_password_format: $FORMAT
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  pubsub_createnode:
    allow: local
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
shaper_rules:
  c2s_shaper: none
modules:
  mod_roster: {}
  mod_disco: {}
  mod_caps: {}
  mod_private: {}
  mod_vcard: {}
  mod_ping: {}
  mod_offline: {}
  mod_mam:
    default: always
  mod_pubsub:
    access_createnode: pubsub_createnode
    plugins:
      - "pep"
CFG
	COOKIE=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	cat > "$WORK/ejabberdctl.cfg" <<CFG
ERLANG_NODE=xerratest$PORT@localhost
ERL_DIST_PORT=$DIST_PORT
INET_DIST_INTERFACE=127.0.0.1
ERL_OPTIONS="-setcookie $COOKIE"
EJABBERD_PID_PATH=$WORK/ejabberd.pid
EJABBERD_BYPASS_WARNINGS=true
CFG
	[ "$(id -u)" = 0 ] && chown -R $RUN_USER: "$WORK" && chmod 755 "$WORK"
	"$0" ctl "$WORK" start
	"$0" ctl "$WORK" started
	;;
ctl)
	shift 2
	# ejabberdctl points ERL_INETRC at the config dir's inetrc itself.
	exec env HOME="$WORK" $( [ "$(id -u)" = 0 ] && echo setpriv --reuid=$RUN_USER --regid=$RUN_USER --init-groups ) \
		ejabberdctl --config-dir "$WORK" --config "$WORK/ejabberd.yml" --ctl-config "$WORK/ejabberdctl.cfg" \
		--logs "$WORK/logs" --spool "$WORK/spool" "$@"
	;;
stop)
	PID=$(cat "$WORK/ejabberd.pid" 2>/dev/null || true)
	"$0" ctl "$WORK" stop >/dev/null 2>&1 || true
	[ -n "$PID" ] && for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
	;;
*) echo "usage: $0 start|ctl|stop WORK ..." >&2; exit 2 ;;
esac
