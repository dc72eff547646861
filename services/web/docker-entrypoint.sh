#!/bin/sh
# Render the nginx config from the environment into a writable dir, check it,
# then run nginx in the foreground. Root fs can be read-only except /tmp.
set -eu

: "${API_UPSTREAM:?API_UPSTREAM must be set to host:port of the API, e.g. api.local:8000}"
PORT="${PORT:-8080}"
NGINX_TMP="${NGINX_TMP:-/tmp/nginx}"
WEB_ROOT="${WEB_ROOT:-/usr/share/nginx/html}"
TEMPLATE_DIR="${TEMPLATE_DIR:-/etc/seed-web}"

if ! printf '%s' "$API_UPSTREAM" | grep -Eq '^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$'; then
    echo "docker-entrypoint: API_UPSTREAM='$API_UPSTREAM' is not host:port" >&2
    exit 2
fi
if ! printf '%s' "$PORT" | grep -Eq '^[0-9]{1,5}$'; then
    echo "docker-entrypoint: PORT='$PORT' is not a port number" >&2
    exit 2
fi
export API_UPSTREAM PORT NGINX_TMP WEB_ROOT

mkdir -p "$NGINX_TMP"
# shellcheck disable=SC2016  # the literal variable list is for envsubst
envsubst '${API_UPSTREAM} ${PORT} ${NGINX_TMP} ${WEB_ROOT}' \
    < "$TEMPLATE_DIR/nginx.conf.template" > "$NGINX_TMP/nginx.conf"
cp "$TEMPLATE_DIR/security-headers.conf" "$NGINX_TMP/security-headers.conf"

nginx -e stderr -q -t -c "$NGINX_TMP/nginx.conf"
exec nginx -e stderr -c "$NGINX_TMP/nginx.conf" -g 'daemon off;'
