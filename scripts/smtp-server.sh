#!/usr/bin/env bash
# Starts a throwaway SMTP server (aiosmtpd, from PyPI) on a loopback port
# that stores every message it receives in a maildir, for the e-mail
# tests, and prints the environment they read:
#
#   eval "$(bash scripts/smtp-server.sh start /tmp/cti-smtp)"
#   cargo test -p cti-media --features email --test email
#   bash scripts/smtp-server.sh stop /tmp/cti-smtp
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
if [ "$cmd" = stop ]; then
  if [ -f "$dir/smtpd.pid" ]; then kill "$(cat "$dir/smtpd.pid")" 2>/dev/null || true; fi
  exit 0
fi
[ "$cmd" = start ] || { echo "unknown command $cmd" >&2; exit 2; }

python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check 'aiosmtpd==1.4.6'
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
mkdir -p "$dir/maildir/tmp" "$dir/maildir/new" "$dir/maildir/cur"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
nohup python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$dir/maildir" \
  > "$dir/smtpd.log" 2>&1 &
echo $! > "$dir/smtpd.pid"
for _ in $(seq 100); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$port" 2>/dev/null && break
  sleep 0.1
done
echo "export CTI_SMTP_HOST=127.0.0.1"
echo "export CTI_SMTP_PORT=$port"
echo "export CTI_SMTP_MAILDIR=$dir/maildir"
