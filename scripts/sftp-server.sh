#!/usr/bin/env bash
# Starts a throwaway OpenSSH SFTP server on a loopback port for the SFTP
# export tests, and prints the environment the tests read:
#
#   eval "$(bash scripts/sftp-server.sh start /tmp/cti-sftp)"
#   cargo test -p cti-media --features sftp --test export
#   bash scripts/sftp-server.sh stop /tmp/cti-sftp
#
# Everything (host key, client key, config, the upload folder) lives in
# the given directory. Needs Debian's openssh-server (sshd). Run as root,
# it also creates the user `ctisftp` with a random password, so password
# logins are tested as well as keys; as another user, only key logins
# (for that user) are possible and CTI_SFTP_PASSWORD is left unset.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

if [ "$cmd" = stop ]; then
  if [ -f "$dir/sshd.pid" ]; then kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true; fi
  exit 0
fi
[ "$cmd" = start ] || { echo "unknown command $cmd" >&2; exit 2; }

sshd_bin="$(command -v sshd || echo /usr/sbin/sshd)"
[ -x "$sshd_bin" ] || { echo "sshd is not installed (apt-get install openssh-server)" >&2; exit 1; }

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
rm -f "$dir/host_key" "$dir/host_key.pub" "$dir/client_key" "$dir/client_key.pub"
ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"

password=""
if [ "$(id -u)" -eq 0 ]; then
  user=ctisftp
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
  echo "$user:$password" | chpasswd
  usermod --unlock "$user" >/dev/null 2>&1 || true
  mkdir -p /run/sshd
else
  user="$(id -un)"
fi
cp "$dir/client_key.pub" "$dir/authorized_keys"
mkdir -p "$dir/upload"
chmod 755 "$dir"
chown "$user" "$dir/upload" "$dir/authorized_keys" 2>/dev/null || true
chmod 644 "$dir/authorized_keys"

cat > "$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication $([ -n "$password" ] && echo yes || echo no)
KbdInteractiveAuthentication no
UsePAM $([ "$(id -u)" -eq 0 ] && echo yes || echo no)
PermitRootLogin no
AllowUsers $user
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
"$sshd_bin" -f "$dir/sshd_config" -E "$dir/sshd.log"
for _ in $(seq 50); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$port" 2>/dev/null && break
  sleep 0.1
done

echo "export CTI_SFTP_HOST=127.0.0.1"
echo "export CTI_SFTP_PORT=$port"
echo "export CTI_SFTP_USER=$user"
echo "export CTI_SFTP_KEY=$dir/client_key"
echo "export CTI_SFTP_HOST_KEY=$dir/host_key.pub"
echo "export CTI_SFTP_DIR=$dir/upload"
if [ -n "$password" ]; then echo "export CTI_SFTP_PASSWORD=$password"; fi
