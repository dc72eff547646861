#!/usr/bin/env bash
# Container HEALTHCHECK without curl: GET /healthz over bash's /dev/tcp.
set -eu
exec 3<>"/dev/tcp/127.0.0.1/${PORT:-8080}"
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 3 _ status _ <&3
[ "$status" = "200" ]
