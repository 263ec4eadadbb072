#!/usr/bin/env bash
# The Debian packages the bundled `offline` registry's servers need beyond Python and Node.js:
# database services firefly starts and stops itself (PostgreSQL, MariaDB, Redis), and programs
# some servers call (pandoc, ripgrep, Chromium, Stockfish, SWI-Prolog). Without them those
# servers are reported as failed (one clear server-failed event each) and the rest run.
# Usage (root, Debian or Ubuntu): scripts/install_offline_deps.sh
set -euo pipefail
PACKAGES=(postgresql mariadb-server redis-server pandoc ripgrep chromium stockfish swi-prolog-nox)
if [ "$(id -u)" != 0 ]; then
    echo "run as root (it installs Debian packages: ${PACKAGES[*]})" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
# the packages' own services are not used: firefly starts private instances on loopback
for service in postgresql mariadb redis-server; do
    (command -v systemctl >/dev/null && systemctl disable --now "$service" 2>/dev/null) || service "$service" stop 2>/dev/null || true
done
echo "installed: ${PACKAGES[*]}"
