# shellcheck shell=bash
# bench/peers/lib.sh -- helpers shared by bench/peers/start and bench/peers/stop.
# Sourced, never executed.  Everything here logs to stderr; stdout is reserved
# for the one value a script is asked to print (the server PID).

peers_log() { printf '[peers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
peers_die() { peers_log "error: $*"; exit 1; }

# peers_need CMD... : fail early with a clear message when a tool is missing.
peers_need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || peers_die "'$c' not found (apt-get install the peer packages first)"
  done
}

# peers_port_busy PORT : true when something already listens on PORT (any address).
peers_port_busy() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# peers_tcp_ok PORT : true when a TCP connect to 127.0.0.1:PORT succeeds.
peers_tcp_ok() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# peers_alive PID : process exists and is not a zombie (a server that was
# started by a now-finished script is reparented; if nothing reaps it, a dead
# server would otherwise still answer kill -0).
peers_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ] && [ "$state" != X ]
}

# peers_wait_tcp PORT SECONDS [PID] : wait until the port accepts connections;
# gives up early if PID (the server) dies meanwhile.
peers_wait_tcp() {
  local port=$1 secs=$2 pid=${3:-} deadline
  deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    peers_tcp_ok "$port" && return 0
    if [ -n "$pid" ] && ! peers_alive "$pid"; then
      return 1
    fi
    # Fine-grained: start-up times are measured with this loop.
    sleep 0.01
  done
  return 1
}

# peers_wait_gone PID SECONDS : wait until PID has exited; 1 on timeout.
peers_wait_gone() {
  local pid=$1 tenths=$(($2 * 10)) i
  for ((i = 0; i < tenths; i++)); do
    peers_alive "$pid" || return 0
    sleep 0.1
  done
  ! peers_alive "$pid"
}

# peers_make_cert DIR DOMAIN : self-signed RSA-2048 certificate for DOMAIN and
# *.DOMAIN (covers the MUC component).  Writes DOMAIN.key, DOMAIN.crt and
# DOMAIN.pem (certificate followed by key, the form ejabberd wants).
peers_make_cert() {
  local dir=$1 domain=$2
  openssl req -x509 -nodes -newkey rsa:2048 -sha256 -days 90 \
    -subj "/CN=$domain" \
    -addext "subjectAltName=DNS:$domain,DNS:*.$domain" \
    -keyout "$dir/$domain.key" -out "$dir/$domain.crt" >/dev/null 2>&1 \
    || peers_die "openssl could not create a certificate for $domain"
  cat "$dir/$domain.crt" "$dir/$domain.key" >"$dir/$domain.pem"
  chmod 600 "$dir/$domain.key" "$dir/$domain.pem"
}

# peers_raise_nofile N : raise this shell's (and so the server's) fd limit.
# As root the hard limit can be raised too; otherwise clamp to the hard limit.
peers_raise_nofile() {
  local want=$1 hard
  if ! ulimit -Hn "$want" 2>/dev/null; then
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && ((hard < want)); then
      peers_log "warning: fd hard limit is $hard, cannot reach $want"
      want=$hard
    fi
  fi
  ulimit -Sn "$want" || peers_die "cannot set fd limit to $want"
}

# peers_setup_runas USER : fills the global array RUNAS with the command
# prefix that runs a program as USER.  setpriv (unlike su/runuser) does not go
# through PAM, so pam_limits cannot reset the fd limit set above; ejabberd
# otherwise hits EMFILE at ~1000 sessions.  Not root: run as ourselves.
RUNAS=()
RUNAS_USER=$(id -un)
peers_setup_runas() {
  if [ "$(id -u)" -eq 0 ]; then
    id "$1" >/dev/null 2>&1 || peers_die "system user '$1' does not exist (is the package installed?)"
    RUNAS=(setpriv "--reuid=$1" "--regid=$1" --init-groups --)
    RUNAS_USER=$1
  else
    RUNAS=()
    RUNAS_USER=$(id -un)
  fi
}

# peers_give DIR... : hand server-owned directories to the run-as user.
peers_give() {
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$RUNAS_USER:" "$@"
  fi
}

# peers_check_access PATH : the run-as user must be able to reach PATH
# (catches a WORKDIR below a directory only root may enter).
peers_check_access() {
  "${RUNAS[@]}" test -r "$1" -a -x "$(dirname "$1")" \
    || peers_die "$RUNAS_USER cannot reach $1; use a WORKDIR whose parents are world-searchable (e.g. under /tmp)"
}

# peers_limits_of PID : "soft/hard" open-files limit of a running process.
peers_limits_of() {
  awk '/^Max open files/ {print $4 "/" $5}' "/proc/$1/limits" 2>/dev/null
}
