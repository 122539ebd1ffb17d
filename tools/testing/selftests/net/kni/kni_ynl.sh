#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kni devices through the kernel's YNL CLI (tools/net/ynl/cli.py) and the
# kni section of its rt_link spec: the spec passes its schema; a device
# created with every IFLA_KNI_* attribute off its default reads back the
# same from getlink (do and dump) and from "ip -d link show"; a change
# reads back; the device is deleted; invalid values are refused with the
# driver's extack message and leave no device behind, and the range the
# kernel's policy reports for an out-of-range value is the spec's checks.
#
# The Makefile installs cli.py, its library, the spec and its schema in
# ynl/ beside the test; without them, or without python3-yaml and
# python3-jsonschema, the test fails rather than skips.

source ../lib.sh
source kni_lib.sh

YNL=./ynl/cli.py
SPEC=./ynl/specs/rt_link.yaml
SCHEMA=./ynl/netlink-raw.yaml

cleanup()
{
	cleanup_all_ns
}
trap cleanup EXIT

# YNL_RUN: Python that runs cli.py, its path first in sys.argv, after
# YNL_PATCH. cli.py reads the rt_link spec, 2400 lines of YAML, at every
# call, with PyYAML's pure Python loader: on an emulated debug kernel that
# is seconds a call. Its C loader (libyaml, which Debian's python3-yaml
# has) reads the same YAML to the same objects in a fraction of that.
YNL_RUN='
import os, runpy, sys, yaml
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
yaml.safe_load = lambda stream: yaml.load(stream, Loader=loader)
from lib import YnlFamily
exec(os.environ.get("YNL_PATCH", ""))
runpy.run_path(sys.argv[0], run_name="__main__")'

# ynl ARGS...: cli.py on the rt_link spec in NS, printing JSON; the spec
# passed its schema once, in test_spec.
ynl()
{
	ip netns exec "$NS" python3 -c "$YNL_RUN" \
		"$YNL" --spec "$SPEC" --no-schema --output-json "$@"
}

# newlink [FLAG...] JSON: ynl newlink with the attributes JSON and cli.py's
# FLAGs (--create, --excl).
newlink()
{
	ynl --do newlink "${@:1:$#-1}" --json "${*: -1}"
}

# check_ynl_link JSON DEV DICT WHAT: getlink's JSON (one link, or a dump's
# list of them) holds DEV once, a kni device whose kni attributes are
# exactly DICT (a Python literal, in the spec's names).
check_ynl_link()
{
	local out

	out=$(python3 -c '
import ast, json, sys
links = json.loads(sys.argv[1])
if isinstance(links, dict):
    links = [links]
found = [l for l in links if l.get("ifname") == sys.argv[2]]
info = found[0].get("linkinfo") if len(found) == 1 else f"{len(found)} links"
print(info)
sys.exit(info != {"kind": "kni", "data": ast.literal_eval(sys.argv[3])})' \
		"$1" "$2" "$3" 2>&1)
	check_err $? "$4: $2's linkinfo is '$out', expected kni with $3"
}

# check_ynl DEV DICT: getlink of DEV, and a dump of every link, say DEV is
# a kni device with the kni attributes DICT.
check_ynl()
{
	local out

	out=$(ynl --do getlink --json "{\"ifname\": \"$1\"}" 2>&1)
	check_err $? "ynl getlink $1 failed: $out"
	check_ynl_link "$out" "$1" "$2" "getlink"
	out=$(ynl --dump getlink 2>&1)
	check_err $? "ynl getlink dump failed: $out"
	check_ynl_link "$out" "$1" "$2" "getlink dump"
}

# ynl_refused ARGS...: ynl for a request the kernel refuses. The YNL of
# 6.12 cannot follow an extack's attribute offset into a sub-message such
# as the kni data (IFLA_INFO_DATA): it raises "Can't dive into 2 (data)
# for extack" and never prints the message, until upstream's "tools: ynl:
# parse extack for sub-messages" (09d7ff0694ea). Run cli.py with that
# offset left undecoded instead: the message is what the tests check.
ynl_refused()
{
	YNL_PATCH='
decode = YnlFamily._decode_extack
def decode_extack(self, *args):
    try:
        decode(self, *args)
    except Exception:
        pass
YnlFamily._decode_extack = decode_extack' ynl "$@"
}

# reject_ynl TEXT [FLAG...] JSON: ynl newlink with the attributes JSON and
# cli.py's FLAGs fails with TEXT, and NS is left with as many kni devices
# as it had.
reject_ynl()
{
	local text=$1 n

	shift
	n=$(kni_count "$NS")
	expect_fail "$text" ynl_refused --do newlink "${@:1:$#-1}" --json "${*: -1}"
	check_kni_count "$NS" "$n" "after ynl newlink ${*: -1}"
}

# check_policy ATTR VALUE: creating kni1 with the kni attribute ATTR at
# VALUE, out of its range, fails with the policy's message and leaves kni0
# alone in NS, and the policy the kernel reports in the extack is the
# spec's: the attribute's type and checks.
check_policy()
{
	local json out

	json="{\"ifname\": \"kni1\", \"linkinfo\": {\"kind\": \"kni\", \"data\": {\"$1\": $2}}}"
	out=$(ynl_refused --do newlink --create --excl --json "$json" 2>&1)
	check_fail $? "ynl newlink with $1 $2 succeeded"
	check_kni_count "$NS" 1 "after ynl newlink with $1 $2"
	out=$(python3 - "$SPEC" "$1" "$out" 2>&1 <<-'EOF'
		import ast, re, sys, yaml
		spec, name, out = sys.argv[1:]
		print(out)
		extack = ast.literal_eval(re.search(r"extack: (\{.*\})", out)[1])
		loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
		with open(spec) as f:
		    sets = yaml.load(f, Loader=loader)["attribute-sets"]
		kni = next(s for s in sets if s["name"] == "linkinfo-kni-attrs")
		attr = next(a for a in kni["attributes"] if a["name"] == name)
		checks = attr.get("checks", {})
		bits = int(attr["type"][1:])
		want = {"type": attr["type"], "min-value": checks.get("min", 0),
		        "max-value": checks.get("max", 2 ** bits - 1)}
		print(f"policy: kernel {extack.get('policy')}, spec {want}")
		sys.exit(extack.get("msg") != "integer out of range" or
		         extack.get("policy") != want)
	EOF
	)
	check_err $? "ynl newlink with $1 $2: $out"
}

test_spec()
{
	local out

	RET=0
	out=$(python3 "$YNL" --spec "$SPEC" --schema "$SCHEMA" --list-msgs 2>&1)
	check_err $? "the rt_link spec does not pass its schema: $out"
	log_test "the rt_link spec passes the netlink-raw schema"
}

test_create()
{
	local out

	RET=0
	out=$(newlink --create --excl '{"ifname": "kni0",
		"num-tx-queues": 2, "num-rx-queues": 2, "linkinfo": {"kind": "kni",
		"data": {"ring-size": 256, "frame-size": 4096, "loopback": "fifo-skb",
		"owner": 1000, "group": 1001}}}' 2>&1)
	check_err $? "ynl newlink kni0 with every kni attribute failed: $out"

	expect_out "ring_size 256 frame_size 4096 loopback fifo_skb owner 1000 group 1001" \
		ip -n "$NS" -d link show kni0
	check_info_data "$NS" kni0 \
		"{'ring_size': 256, 'frame_size': 4096, 'loopback': 'fifo_skb', 'owner': 1000, 'group': 1001}"
	check_queues "$NS" kni0 2
	check_ynl kni0 \
		"{'ring-size': 256, 'frame-size': 4096, 'loopback': 'fifo-skb', 'owner': 1000, 'group': 1001}"
	log_test "ynl newlink with every kni attribute, read back by ip and ynl"
}

test_change()
{
	local out

	RET=0
	out=$(newlink '{"ifname": "kni0", "linkinfo": {"kind": "kni",
		"data": {"loopback": "fifo"}}}' 2>&1)
	check_err $? "ynl newlink changing kni0's loopback failed: $out"
	expect_out "ring_size 256 frame_size 4096 loopback fifo owner 1000 group 1001" \
		ip -n "$NS" -d link show kni0
	check_ynl kni0 \
		"{'ring-size': 256, 'frame-size': 4096, 'loopback': 'fifo', 'owner': 1000, 'group': 1001}"

	# -1 is no owner, and no owner is not reported.
	out=$(newlink '{"ifname": "kni0", "linkinfo": {"kind": "kni",
		"data": {"owner": 4294967295}}}' 2>&1)
	check_err $? "ynl newlink removing kni0's owner failed: $out"
	check_info_data "$NS" kni0 \
		"{'ring_size': 256, 'frame_size': 4096, 'loopback': 'fifo', 'group': 1001}"
	check_ynl kni0 \
		"{'ring-size': 256, 'frame-size': 4096, 'loopback': 'fifo', 'group': 1001}"
	log_test "ynl newlink changes an existing kni device"
}

test_invalid()
{
	RET=0
	check_policy ring-size 32
	check_policy ring-size 65536
	check_policy frame-size 1024
	check_policy frame-size 131072
	check_policy loopback 3
	log_test "ynl newlink out of range: the kernel's policy is the spec's"

	RET=0
	reject_ynl "kni ring_size must be a power of two" --create --excl \
		'{"ifname": "kni1", "linkinfo": {"kind": "kni",
		"data": {"ring-size": 1000}}}'
	reject_ynl "kni frame_size must be a power of two" --create --excl \
		'{"ifname": "kni1", "linkinfo": {"kind": "kni",
		"data": {"frame-size": 6144}}}'
	reject_ynl "kni supports at most 64 queues" --create --excl \
		'{"ifname": "kni1", "num-tx-queues": 65, "num-rx-queues": 65,
		"linkinfo": {"kind": "kni"}}'
	reject_ynl "kni ring_size is fixed when the device is created (it is 256)" \
		'{"ifname": "kni0", "linkinfo": {"kind": "kni",
		"data": {"ring-size": 512}}}'
	check_ynl kni0 \
		"{'ring-size': 256, 'frame-size': 4096, 'loopback': 'fifo', 'group': 1001}"
	log_test "ynl newlink with invalid values fails with the driver's message"
}

test_delete()
{
	local out

	RET=0
	out=$(ynl --do dellink --json '{"ifname": "kni0"}' 2>&1)
	check_err $? "ynl dellink kni0 failed: $out"
	check_kni_count "$NS" 0 "after ynl dellink kni0"
	expect_fail "No such device" ynl --do getlink --json '{"ifname": "kni0"}'
	log_test "ynl dellink"
}

setup_ns NS || exit "$ksft_skip"
require_kni "$NS"
for f in "$YNL" "$SPEC" "$SCHEMA"; do
	if [ ! -f "$f" ]; then
		echo "FAIL: $f is missing (the Makefile installs it)"
		exit "$ksft_fail"
	fi
done
if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
	echo "FAIL: YNL needs python3-yaml and python3-jsonschema"
	exit "$ksft_fail"
fi
test_spec
test_create
test_change
test_invalid
test_delete
exit "$EXIT_STATUS"
