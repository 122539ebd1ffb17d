#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The edits kni makes to existing kernel files. Each file is recomputed from
# its pristine version (tag kni-base in the assembled tree) and written only
# when the result differs, so running this again changes nothing.
#
# usage: integrate.sh KERNEL_TREE
set -euo pipefail

tree=${1:?usage: integrate.sh KERNEL_TREE}

# insert MODE ANCHOR TEXT: put TEXT (one or more lines) before/after the first
# line equal to ANCHOR; fail if the anchor is gone (the base moved).
insert()
{
	awk -v mode="$1" -v anchor="$2" -v text="$3" '
		!done && $0 == anchor {
			if (mode == "after") print
			print text
			if (mode == "before") print
			done = 1
			next
		}
		{ print }
		END { if (!done) exit 3 }'
}

# edit FILE MODE ANCHOR TEXT [MODE ANCHOR TEXT]...: FILE is its pristine
# version with each TEXT inserted at its ANCHOR, in order.
edit()
{
	local file=$1 new

	shift
	if [ $# -eq 0 ] || [ $(($# % 3)) -ne 0 ]; then
		echo "integrate: edit $file: expected MODE ANCHOR TEXT triples" >&2
		exit 1
	fi
	new=$(git -C "$tree" show "kni-base:$file") ||
		{ echo "integrate: no $file at kni-base" >&2; exit 1; }
	while [ $# -gt 0 ]; do
		new=$(insert "$1" "$2" "$3" <<< "$new") ||
			{ echo "integrate: anchor '$2' not found in $file" >&2; exit 1; }
		shift 3
	done
	if [ "$new" != "$(cat "$tree/$file")" ]; then
		printf '%s\n' "$new" > "$tree/$file"
		echo "integrate: $file"
	fi
}

edit drivers/net/Kconfig before 'config NET_VRF' \
'source "drivers/net/kni/Kconfig"
'

edit drivers/net/Makefile after 'obj-$(CONFIG_NETKIT) += netkit.o' \
'obj-$(CONFIG_KNI) += kni/'

edit tools/testing/selftests/Makefile after 'TARGETS += net/hsr' \
'TARGETS += net/kni'

edit include/uapi/linux/if_link.h before '/* VXLAN section */' \
"$(cat "$(dirname "$0")/uapi/if_link-kni.h")
"

edit Documentation/networking/index.rst after '   kcm' \
'   kni'

edit Documentation/userspace-api/ioctl/ioctl-number.rst before '0xEC  00-01  drivers/platform/chrome/cros_ec_dev.h                     ChromeOS EC driver' \
'0xE6  00-1F  uapi/linux/kni.h                                          kni network device'

edit MAINTAINERS before 'KPROBES' \
'KNI NETWORK DRIVER
M:	Seed fb7b8144 maintainers <maintainers@users.noreply.h-seed-fb7b8144.example>
L:	netdev@vger.kernel.org
S:	Maintained
F:	Documentation/networking/kni.rst
F:	drivers/net/kni/
F:	include/uapi/linux/kni.h
F:	tools/lib/kni/
F:	tools/testing/selftests/net/kni/
'

# The kni section of the rt_link spec: the enum of IFLA_KNI_LOOPBACK, the
# IFLA_KNI_* attribute set (checks as in kni_policy) and the "kni" format
# of IFLA_INFO_DATA.
edit Documentation/netlink/specs/rt_link.yaml \
after '      - name: l3' \
'  -
    name: kni-loopback
    type: enum
    header: linux/if_link.h
    enum-name: kni-loopback
    name-prefix: kni-loopback-
    entries:
      - none
      - fifo
      - fifo-skb' \
after '        enum: netkit-mode' \
'  -
    name: linkinfo-kni-attrs
    name-prefix: ifla-kni-
    attributes:
      -
        name: ring-size
        type: u32
        doc: Descriptors per ring, a power of two; fixed at creation.
        checks:
          min: 64
          max: 32768
      -
        name: frame-size
        type: u32
        doc: Bytes per frame, a power of two; fixed at creation.
        checks:
          min: 2048
          max: 65536
      -
        name: loopback
        type: u32
        enum: kni-loopback
        checks:
          max: 2
      -
        name: owner
        type: u32
        doc: The uid allowed to attach, or -1 for none; reported when set.
      -
        name: group
        type: u32
        doc: The gid allowed to attach, or -1 for none; reported when set.' \
after '        attribute-set: linkinfo-netkit-attrs' \
'      -
        value: kni
        attribute-set: linkinfo-kni-attrs'
