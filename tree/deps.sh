#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages kni needs (tree/packages and the base
# linux-source at the exact version in tree/base). Only what is missing is
# installed, so a second run costs a dpkg query.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tree/base
. "$here/base"

want=()
while read -r pkg; do
	case "$pkg" in ''|'#'*) continue ;; esac
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
		want+=("$pkg")
done < "$here/packages"

have=$(dpkg-query -W -f='${Version}' "$KNI_BASE_PKG" 2>/dev/null || true)
[ "$have" = "$KNI_BASE_DEB" ] || want+=("$KNI_BASE_PKG=$KNI_BASE_DEB")

[ ${#want[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install: ${want[*]}" >&2
	exit 1
fi
echo "deps: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends --allow-downgrades "${want[@]}" >/dev/null
