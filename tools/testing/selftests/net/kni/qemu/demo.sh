#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo, guest side: kni with a dataplane. The demo itself is the
# kselftest kni_demo.sh, run here with the kni-fwd the host built.
#
# usage: demo.sh KNI_FWD
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fwd=${1:?usage: demo.sh PATH_TO_KNI_FWD}

KNI_FWD=$fwd "$here/../kni_demo.sh"
rc=$?
# A skipped demo showed nothing: that is a failure here.
[ $rc -eq 4 ] && echo "demo: skipped, see above"
[ $rc -eq 0 ] || exit 1
