#!/bin/bash
# nginx.sh - a throwaway nginx on 127.0.0.1 that stores PUTs (WebDAV
# module) and lists directories (autoindex, JSON), for tests and benchmarks.
#
# Sourced (the tests), so that nginx is a child of the test's shell:
#   source tests/servers/nginx.sh
#   nginx_start DIR [PORT]   start; sets NGINX_URL (http://127.0.0.1:PORT)
#                            and NGINX_PID; a PORT given reuses it (restart)
#   nginx_stop               kill $NGINX_PID; wait $NGINX_PID
# Run (by hand, the benchmark):
#   tests/servers/nginx.sh start DIR [PORT]   prints the URL; pid in DIR/pid
#   tests/servers/nginx.sh stop DIR           kills DIR/pid and waits for it
#
# URLs under /readonly/ refuse PUT and DELETE (403), for error tests.
# URLs under /auth/ need HTTP Basic auth as user $NGINX_AUTH_USER with the
# password $NGINX_AUTH_PASSWORD (it holds a '/', for the redaction tests).
# WebDAV MOVE and COPY are on (ddloop creates catalog entries with MOVE
# and "Overwrite: F").
# Everything lives under DIR: nginx.conf, the document root DIR/www, temp
# paths, logs (DIR/error.log, DIR/access.log with bytes received and sent
# per request). `daemon off; master_process off;`: one process that runs as
# the caller (a master process running as root would hand PUTs to a
# `nobody` worker that cannot write DIR/www). nginx writes a PUT body to a
# temp file and renames it into place when complete, so a cut-off upload
# never appears under its URL. Nothing touches /etc/nginx or /var.
#
# Needs the Debian package nginx-light (or nginx); exit 77 without it when
# run, return 77 when sourced.

# nginx_free_port: a TCP port on 127.0.0.1 nobody listens on.
NGINX_AUTH_USER=alice
NGINX_AUTH_PASSWORD='Zq9/x7pw'

nginx_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

nginx_start() {
  local dir=$1 port=${2:-}
  local bin
  bin=$(command -v nginx || echo /usr/sbin/nginx)
  if [ ! -x "$bin" ]; then
    echo "SKIP: nginx is not installed (apt-get install nginx-light)" >&2
    return 77
  fi
  mkdir -p "$dir/www" "$dir/tmp"
  dir=$(cd "$dir" && pwd)
  [ -n "$port" ] || port=$(nginx_free_port)
  printf '%s:{PLAIN}%s\n' "$NGINX_AUTH_USER" "$NGINX_AUTH_PASSWORD" >"$dir/htpasswd"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
  access_log $dir/access.log combined;
  log_format bytes '\$request_method \$uri \$status \$request_length \$bytes_sent';
  access_log $dir/bytes.log bytes;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  client_max_body_size 0;
  sendfile on;
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
    location /readonly/ {
      limit_except GET HEAD { deny all; }
      autoindex on;
      autoindex_format json;
    }
    location /auth/ {
      auth_basic "ddloop test";
      auth_basic_user_file $dir/htpasswd;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      autoindex on;
      autoindex_format json;
    }
    location / {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      autoindex on;
      autoindex_format json;
    }
  }
}
EOF
  "$bin" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
  NGINX_PID=$!
  NGINX_URL=http://127.0.0.1:$port
  echo "$NGINX_PID" >"$dir/pid"
  local i
  for i in $(seq 50); do
    if curl -s -o /dev/null "$NGINX_URL/"; then return 0; fi
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "nginx.sh: nginx did not start on $NGINX_URL:" >&2
  tail -5 "$dir/error.log" >&2
  kill "$NGINX_PID" 2>/dev/null
  return 1
}

nginx_stop() {
  [ -n "${NGINX_PID:-}" ] || return 0
  kill "$NGINX_PID" 2>/dev/null
  wait "$NGINX_PID" 2>/dev/null
  NGINX_PID=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  case "${1:-} ${2:+x}" in
    "start x")
      nginx_start "$2" "${3:-}" || exit $?
      echo "$NGINX_URL"
      ;;
    "stop x")
      pid=$(cat "$2/pid" 2>/dev/null) || exit 0
      kill "$pid" 2>/dev/null
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
      echo "nginx.sh: $pid did not stop" >&2
      exit 1
      ;;
    *)
      echo "usage: $0 start DIR [PORT] | stop DIR" >&2
      exit 2
      ;;
  esac
fi
