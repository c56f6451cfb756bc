# A private, throw-away PostgreSQL cluster for tests. Source this file, then:
#   pg_start   initdb in a new temp dir, start on a free port on 127.0.0.1 (socket in that
#              dir), export IMGTAG_PG_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   pg_stop    stop it (fast) and delete the dir; safe to call twice or before pg_start.
# As root (CI), the server runs as user `postgres` (it refuses to run as root); otherwise as
# the current user. Needs the Debian `postgresql` package (/usr/lib/postgresql/*/bin).

pg_start() {
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL missing: apt-get install postgresql" >&2
    return 1
  fi
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then
    # /tmp, not $TMPDIR: the postgres user must be able to reach the directory.
    PG_DIR="$(mktemp -d /tmp/imgtag-pg.XXXXXX)"
    chown postgres: "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  else
    PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/imgtag-pg.XXXXXX")"
  fi
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # Trust auth on a private port and socket dir; fsync off: test data, speed matters.
  if ! "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 \
      --no-locale --no-sync >"$PG_DIR/initdb.log" 2>&1; then
    cat "$PG_DIR/initdb.log" >&2
    return 1
  fi
  if ! "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200" \
      start >/dev/null; then
    cat "$PG_DIR/server.log" >&2
    return 1
  fi
  export IMGTAG_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=
}
