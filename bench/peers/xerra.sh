# shellcheck shell=bash
# bench/peers/xerra.sh -- the Xerra part of bench/peers/start (sourced).
# Defines start_xerra, which expects PORT NUSERS WORKDIR DOMAIN PREFIX
# PASSWORD NOFILE HERE (and optionally S2S_PORT) to be set and prints nothing
# on stdout; launch_xerra starts it again on the same data (bench/peers/restart).
#
# Layout under WORKDIR/xerra:  data/ (the data directory), tls/ (the same kind
# of RSA-2048 certificate the peers get, unless XERRA_CERT=ecdsa: then Xerra's
# own generated ECDSA P-256 one), console.log.

start_xerra() {
  local bin=${XERRA_BIN:-$HERE/../../target/release/xerra}
  [ -x "$bin" ] || peers_die "no Xerra binary at $bin (cargo build --release)"
  local base="$WORKDIR/xerra"
  local data="$base/data" tls="$base/tls"
  rm -rf "$base"
  mkdir -p "$data" "$tls"

  # Same settings as the peers: loopback c2s only, STARTTLS required (always
  # on in Xerra), SCRAM with 4096 iterations (the default), no direct-TLS
  # port, and no per-address connection limit (every client comes from
  # 127.0.0.1 here) unless XERRA_DEFAULT_LIMITS is set: the abuse scenario
  # measures Xerra with its default connection limits, which are part of
  # its defence (the peers have no such limits by default).  S2S_PORT: the
  # s2s port on 127.0.0.1 (the peers get one too), otherwise none.
  local settings=(domain="$DOMAIN" listen=127.0.0.1 c2s_port="$PORT" c2s_tls_port=off http_port=off upload_port=off
    s2s_port="${S2S_PORT:-off}" component_port=off proxy_port=off scram_iterations=4096)
  [ -n "${XERRA_DEFAULT_LIMITS:-}" ] || settings+=(max_connections_per_ip=1000000 max_connections=1000000)
  if [ "${XERRA_CERT:-rsa}" = rsa ]; then
    peers_make_cert "$tls" "$DOMAIN"
    settings+=(tls_cert="$tls/$DOMAIN.crt" tls_key="$tls/$DOMAIN.key")
  fi
  # XERRA_SETTINGS="name=value ...": more settings, e.g. mam_default=never
  # to see what message archiving costs.
  local extra
  for extra in ${XERRA_SETTINGS:-}; do settings+=("$extra"); done
  local s
  for s in "${settings[@]}"; do
    "$bin" --data-dir "$data" config set "${s%%=*}" "${s#*=}" >/dev/null
  done
  local t0=$SECONDS
  seq 1 "$NUSERS" | sed "s/^/$PREFIX/; s/\$/:$PASSWORD/" | "$bin" --data-dir "$data" user import - >&2
  peers_log "xerra: $NUSERS accounts in $((SECONDS - t0)) s"

  # The stanza limits the abuse scenario sizes its attacks by: 16 KiB before
  # authentication (src/net/c2s.rs PRE_AUTH_STANZA_BYTES, also for s2s
  # before dialback), max_stanza_bytes after.
  local stanza
  stanza=$("$bin" --data-dir "$data" config list | sed -n 's/^max_stanza_bytes = //p')
  # shellcheck disable=SC2034 # read by bench/peers/start
  LIMITS="c2s_preauth=$((stanza < 16384 ? stanza : 16384)),c2s_stanza=$stanza,s2s_preauth=$((stanza < 16384 ? stanza : 16384))"
  # shellcheck disable=SC2034 # read by bench/peers/start
  DATA_DIR=$data
  launch_xerra
}

# launch_xerra: runs Xerra on WORKDIR/xerra/data; sets SERVER_PID, STARTUP_MS.
launch_xerra() {
  local bin=${XERRA_BIN:-$HERE/../../target/release/xerra}
  local base="$WORKDIR/xerra"
  local data="$base/data"
  peers_raise_nofile "$NOFILE"
  local launched
  launched=$(date +%s%N)
  "$bin" --data-dir "$data" --log warn run </dev/null >>"$base/console.log" 2>&1 &
  SERVER_PID=$!
  if ! peers_wait_tcp "$PORT" 60 "$SERVER_PID"; then
    tail -n 30 "$base/console.log" >&2 || true
    peers_die "xerra did not accept connections on 127.0.0.1:$PORT"
  fi
  # shellcheck disable=SC2034 # read by bench/peers/start
  STARTUP_MS=$((($(date +%s%N) - launched) / 1000000))
}
