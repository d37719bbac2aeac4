#!/bin/sh
# Makes the example's PostgreSQL cluster in ./data (and its socket folder) as the user postgres.
# Run as root, from anywhere; needs Debian's postgresql package (apt-get install -y postgresql).
# Arguments are passed to initdb (the tests add --no-sync --wal-segsize=1 to be quick).
set -eu
cd "$(dirname "$0")"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "setup.sh: PostgreSQL is not installed; apt-get install -y postgresql" >&2; exit 1; }
mkdir -p data socket
chown postgres:postgres data socket
chmod 700 socket # only postgres (and root) may connect
runuser -u postgres -- "$bin/initdb" -D data --data-checksums --auth=trust "$@"
echo "setup.sh: cluster in $(pwd)/data; now: ckpt run (or ckpt run -j ckpt.basebackup.json)"
