#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The series as emails, ready to send and not sent: patches/linux for
# netdev (net-next) and patches/iproute2 (iproute2-next) go through b4 as
# a submitter runs it, each in a scratch clone of its pristine base (tag
# kni-base of the assembled kernel tree, of the iproute2 tree of
# tree/iproute2.sh):
#
#   "b4 prep --enroll" the base with the subject prefix, the cover letter
#   of 0000-cover-letter.patch (subject and body) through "b4 prep
#   --edit-cover", git am the series, "b4 prep --auto-to-cc" (Linux:
#   lists To and people Cc, from the kernel's scripts/get_maintainer.pl;
#   iproute2: To netdev, Cc the maintainers its MAINTAINERS names, or its
#   README in a source without one), then "b4 send -o DIR".
#
# A one-patch series without a cover letter goes out without one, with a
# note under its "---" naming the kernel series. b4 never reaches the
# network: --offline-mode, no web endpoint, a mail command that only
# records that it was called (nothing calls it), and a network namespace
# of its own where the system lets a user have one.
#
# usage: submission.sh [--check] [--linux DIR] [--iproute2 DIR]
#
# Without --check, writes build/submission/linux/ and
# build/submission/iproute2/ (one .eml file per message), after the checks
# below passed on them. With --check, writes them to a temporary directory
# and fails unless: there is one message per patch (and the cover letter
# for a longer series), numbered 1/M to M/M (0/M the cover) with the
# subject prefix "PATCH net-next" or "PATCH iproute2-next", each with the
# Subject: of its patch file; To holds netdev@vger.kernel.org; Cc holds
# every M: address of kni's MAINTAINERS entry (Linux) or of the iproute2
# maintainers; each patch's author, commit message and diff are
# byte-identical to the patch file's; the cover letter's body is
# 0000-cover-letter.patch's; "git am" of the messages onto the base gives
# the series' tree; and nothing was sent. --linux and --iproute2 read the
# series from DIR instead of patches/linux and patches/iproute2.
set -euo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

usage="usage: submission.sh [--check] [--linux DIR] [--iproute2 DIR]"
check=0
linux_in=$KNI_REPO/patches/linux
iproute2_in=$KNI_REPO/patches/iproute2
while [ $# -gt 0 ]; do
	case "$1" in
	--check) check=1 ;;
	--linux) [ $# -ge 2 ] || kni_die "$usage"; linux_in=$2; shift ;;
	--iproute2) [ $# -ge 2 ] || kni_die "$usage"; iproute2_in=$2; shift ;;
	*) kni_die "$usage" ;;
	esac
	shift
done

command -v b4 >/dev/null || kni_die "b4 is not installed: run tree/deps.sh"
git -C "$KNI_SRC" rev-parse -q --verify 'kni-base^{commit}' >/dev/null 2>&1 ||
	kni_die "no assembled kernel tree in $KNI_SRC: run make tree"
# The iproute2 tree of tree/iproute2.sh (fetched if need be).
iproute2_src=$("$KNI_REPO/tree/iproute2.sh" source | tail -n 1) ||
	kni_die "no pristine iproute2 source: tree/iproute2.sh source failed"
git -C "$iproute2_src" rev-parse -q --verify 'kni-base^{commit}' >/dev/null 2>&1 ||
	kni_die "no tag kni-base in $iproute2_src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Neither the user's nor the system's git configuration (sendemail.*,
# diff.*, b4.*) shapes or sends the messages: each scratch clone has its
# own.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

# The mail command b4 is given: it records any call, and fails.
cat > "$tmp/sendmail" <<EOF
#!/bin/sh
echo "\$*" >> '$tmp/sent'
exit 1
EOF
chmod +x "$tmp/sendmail"

netns=()
! unshare -rn true 2>/dev/null || netns=(unshare -rn)

# run_b4 DIR ARGS...: b4 ARGS in the clone DIR, offline, its output in
# $tmp/b4.NAME.log (NAME: DIR's last component).
run_b4()
{
	local dir=$1 log=$tmp/b4.${1##*/}.log

	shift
	echo "== b4 $*" >> "$log"
	if ! (cd "$dir" && XDG_CACHE_HOME=$tmp/xdg XDG_DATA_HOME=$tmp/xdg \
		"${netns[@]}" b4 --offline-mode --no-interactive "$@" \
		< /dev/null >> "$log" 2>&1); then
		tail -n 20 "$log" >&2
		kni_die "b4 $1 failed in the ${dir##*/} clone"
	fi
}

# header FILE NAME: the value of header NAME of message FILE, unfolded.
header()
{
	awk -v name="$2" '
		/^$/ { exit }
		/^[ \t]/ { if (cur) val = val $0; next }
		{
			i = index($0, ":")
			cur = tolower(substr($0, 1, i - 1)) == tolower(name)
			if (cur) {
				val = substr($0, i + 1)
				sub(/^[ \t]+/, "", val)
			}
		}
		END { print val }' "$1"
}

# addresses: the email addresses in stdin (header values, MAINTAINERS
# lines), one a line.
addresses()
{
	grep -oE '[[:alnum:]._%+=-]+@[[:alnum:].-]+' || true
}

# diff_of: the git diff in stdin (the patch part of "git mailinfo"), from
# its first "diff --git" line to the end of its last hunk. Hunks are read
# by their line counts, so that nothing after the diff (a signature, b4's
# notes) is taken in.
diff_of()
{
	awk '
		state == 0 && !/^diff --git / { next }
		state == 2 {
			print
			c = substr($0, 1, 1)
			if (c == " " || c == "-") old--
			if (c == " " || c == "+") new--
			if (old <= 0 && new <= 0)
				state = 1
			next
		}
		/^@@ -[0-9]+(,[0-9]+)? \+[0-9]+(,[0-9]+)? @@/ {
			print
			n = split($2, o, ",")
			old = n > 1 ? o[2] : 1
			n = split($3, w, ",")
			new = n > 1 ? w[2] : 1
			state = old > 0 || new > 0 ? 2 : 1
			next
		}
		/^(diff --git |index |old mode |new mode |deleted file mode |new file mode |similarity index |dissimilarity index |rename from |rename to |copy from |copy to |--- |\+\+\+ |Binary files |\\ )/ {
			print
			state = 1
			next
		}
		{ exit }'
}

# mailinfo FILE PREFIX: "git mailinfo" of message FILE into PREFIX.info
# (author, email, subject), PREFIX.msg (commit message) and PREFIX.diff.
mailinfo()
{
	git mailinfo "$2.msg" "$2.patch" < "$1" > "$2.hdr" ||
		kni_die "git mailinfo cannot read $1"
	grep -E '^(Author|Email|Subject): ' "$2.hdr" > "$2.info" || true
	diff_of < "$2.patch" > "$2.diff"
}

# The series in DIR: its patch files, in order, in the array "patches",
# and its cover letter (or nothing) in "cover".
read_series()
{
	local dir p

	dir=$(cd "$1" 2>/dev/null && pwd) || kni_die "$1: no such directory"
	patches=()
	cover=
	for p in "$dir"/[0-9][0-9][0-9][0-9]-*.patch; do
		[ -f "$p" ] || continue
		if [ "${p##*/}" = 0000-cover-letter.patch ]; then
			cover=$p
		else
			patches+=("$p")
		fi
	done
	[ ${#patches[@]} -gt 0 ] || kni_die "$dir: no patches"
}

# cover_text FILE NPATCHES: the cover letter FILE as b4 keeps it, its
# subject (without the [PATCH ...] prefix), a blank line and its body
# up to format-patch's shortlog.
cover_text()
{
	local file=$1 n=$2 info author

	info=$(git mailinfo "$tmp/cover.msg" /dev/null < "$file") ||
		kni_die "git mailinfo cannot read $file"
	author=$(sed -n 's/^Author: //p' <<< "$info")
	sed -n 's/^Subject: //p' <<< "$info"
	echo
	awk -v stop="$author ($n):" '
		$0 == stop { found = 1; exit }
		{ body = body $0 "\n" }
		END {
			if (!found)
				exit 1
			sub(/\n+$/, "\n", body)
			printf "%s", body
		}' "$tmp/cover.msg" ||
		kni_die "${file##*/}: no shortlog line '$author ($n):'"
}

# clone SRC DIR SPARSE: a scratch clone of SRC in DIR, on branch kni at
# kni-base, configured for b4; with SPARSE (a file of paths), only those
# paths are checked out. The identity is the series' own author.
clone()
{
	local src=$1 dir=$2 sparse=$3 info

	info=$(git mailinfo /dev/null /dev/null < "${patches[0]}") ||
		kni_die "git mailinfo cannot read ${patches[0]}"
	git clone -q --shared --no-checkout "$src" "$dir" ||
		kni_die "cannot clone $src"
	if [ -n "$sparse" ]; then
		git -C "$dir" sparse-checkout set --no-cone --stdin < "$sparse" ||
			kni_die "cannot set up a sparse checkout of $src"
	fi
	git -C "$dir" checkout -q -B kni 'kni-base^{commit}' ||
		kni_die "cannot check out kni-base of $src"
	git -C "$dir" config user.name "$(sed -n 's/^Author: //p' <<< "$info")"
	git -C "$dir" config user.email "$(sed -n 's/^Email: //p' <<< "$info")"
	# As format-patch wrote the series (and as netdev asks).
	git -C "$dir" config core.abbrev 12
	git -C "$dir" config sendemail.smtpserver "$tmp/sendmail"
	git -C "$dir" config b4.send-no-patatt-sign yes
}

# submit NAME DIR PREFIX TEXT: the series of read_series enrolled in the
# clone DIR with the subject prefix PREFIX and the cover letter in file
# TEXT (cover_text), applied, and written by b4 to $tmp/out/NAME; the tree
# of the series in $tmp/NAME.tree.
submit()
{
	local name=$1 dir=$2 prefix=$3 text=$4

	run_b4 "$dir" prep --enroll "$(git -C "$dir" rev-parse HEAD)" \
		--set-prefixes "$prefix"
	# b4 takes the cover letter from its "editor": here, a copy.
	EDITOR="cp '$text'" run_b4 "$dir" prep --edit-cover
	git -C "$dir" am -q "${patches[@]}" ||
		kni_die "the series does not apply with git am: ${patches[*]}"
	git -C "$dir" rev-parse 'HEAD^{tree}' > "$tmp/$name.tree"
	run_b4 "$dir" prep --auto-to-cc
	run_b4 "$dir" send --no-sign --output-dir "$tmp/out/$name"
}

# iproute2_maintainers MAINTAINERS FILE...: the M: and L: lines of the
# sections of iproute2's MAINTAINERS that cover the whole tree (no F:
# line: its main and next trees) or one of FILEs (F: patterns as that
# file describes them: a trailing slash takes subdirectories, "*" does not).
iproute2_maintainers()
{
	local maintainers=$1

	shift
	awk -v list="$(printf '%s\n' "$@")" '
		function glob_re(p,   r, i, c) {
			r = "^"
			for (i = 1; i <= length(p); i++) {
				c = substr(p, i, 1)
				if (c == "*")
					r = r "[^/]*"
				else if (c == "?")
					r = r "[^/]"
				else if (index("\\^$.[]|()+{}", c))
					r = r "\\" c
				else
					r = r c
			}
			return p ~ /\/$/ ? r : r "$"
		}
		function flush(   i, j, hit) {
			hit = !npat
			for (i = 1; i <= npat && !hit; i++)
				for (j = 1; j <= nfiles; j++)
					if (files[j] ~ glob_re(pat[i]))
						hit = 1
			for (i = 1; hit && i <= nlines; i++)
				print lines[i]
			npat = nlines = 0
		}
		BEGIN { nfiles = split(list, files, "\n") }
		/^[[:space:]]*$/ { flush(); next }
		/^[ML]:/ { lines[++nlines] = $0; next }
		/^F:/ { sub(/^F:[[:space:]]*/, ""); pat[++npat] = $0; next }
		END { flush() }' "$maintainers"
}

# verify NAME DIR PREFIX TO CCFILE: the messages in $tmp/out/NAME are the
# series of read_series (enrolled in the clone DIR) with the subject
# prefix PREFIX, To holds address TO and Cc every address in CCFILE, and
# nothing was sent.
verify()
{
	local name=$1 dir=$2 prefix=$3 to=$4 ccs=$5
	local out=$tmp/out/$name n=${#patches[@]} want m k total subject a p
	local re="^\\[$prefix ([0-9]+)/([0-9]+)\\] "
	local msgs=() bynum=()

	want=$n
	[ -z "$cover" ] || [ "$n" -eq 1 ] || want=$((n + 1))
	mapfile -t msgs < <(find "$out" -maxdepth 1 -type f -name '*.eml' | LC_ALL=C sort)
	[ ${#msgs[@]} -eq "$want" ] ||
		kni_die "$name: b4 wrote ${#msgs[@]} messages, expected $want"
	for m in "${msgs[@]}"; do
		subject=$(header "$m" Subject)
		if [ "$want" -eq 1 ]; then
			[[ $subject == "[$prefix] "* ]] ||
				kni_die "$name: ${m##*/}: subject '$subject' is not [$prefix] ..."
			k=1
		else
			[[ $subject =~ $re ]] ||
				kni_die "$name: ${m##*/}: subject '$subject' is not [$prefix N/$n] ..."
			k=$((10#${BASH_REMATCH[1]}))
			total=$((10#${BASH_REMATCH[2]}))
			if [ "$total" -ne "$n" ] || [ "$k" -gt "$n" ]; then
				kni_die "$name: ${m##*/}: subject '$subject' is not numbered out of $n"
			fi
			[ "$k" -gt 0 ] || [ -n "$cover" ] ||
				kni_die "$name: ${m##*/}: a cover letter, and the series has none"
		fi
		[ -z "${bynum[k]:-}" ] ||
			kni_die "$name: ${m##*/} and ${bynum[k]##*/} are both number $k"
		bynum[k]=$m
		if [ "$k" -eq 0 ]; then
			p=$cover
		else
			p=${patches[k - 1]}
		fi
		[ "$subject" = "$(header "$p" Subject)" ] ||
			kni_die "$name: ${m##*/}: subject '$subject' is not the one of ${p##*/}"

		header "$m" To | addresses > "$tmp/v.to"
		grep -Fx -- "$to" "$tmp/v.to" >/dev/null ||
			kni_die "$name: ${m##*/}: $to is not in To: $(header "$m" To)"
		header "$m" Cc | addresses > "$tmp/v.cc"
		while read -r a; do
			grep -Fx -- "$a" "$tmp/v.cc" >/dev/null ||
				kni_die "$name: ${m##*/}: $a is not in Cc: $(header "$m" Cc)"
		done < "$ccs"

		mailinfo "$m" "$tmp/v.m"
		if [ "$k" -eq 0 ]; then
			# The cover letter: the subject and body cover_text took.
			[ "$(sed -n 's/^Subject: //p' "$tmp/v.m.info")" = "$(head -n 1 "$tmp/$name.cover")" ] ||
				kni_die "$name: ${m##*/}: not the subject of ${cover##*/}"
			tail -n +3 "$tmp/$name.cover" > "$tmp/v.c.msg"
			sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$tmp/v.m.msg" |
				cmp -s - "$tmp/v.c.msg" ||
				kni_die "$name: ${m##*/}: not the body of ${cover##*/}"
			continue
		fi
		mailinfo "$p" "$tmp/v.p"
		# diff_of must take the patch file's diff whole.
		if [ ! -s "$tmp/v.p.diff" ] ||
		   ! sed -n '/^diff --git /,$p' "$tmp/v.p.patch" | cmp -s - "$tmp/v.p.diff"; then
			kni_die "$name: cannot read the diff of ${p##*/} to its end"
		fi
		cmp -s "$tmp/v.m.info" "$tmp/v.p.info" ||
			kni_die "$name: ${m##*/}: author or subject differ from ${p##*/}"
		cmp -s "$tmp/v.m.msg" "$tmp/v.p.msg" ||
			kni_die "$name: ${m##*/}: commit message differs from ${p##*/}"
		cmp -s "$tmp/v.m.diff" "$tmp/v.p.diff" ||
			kni_die "$name: ${m##*/}: diff differs from ${p##*/}"
	done

	# The messages, applied in order, give the series' tree.
	git -C "$dir" checkout -q -B kni-check 'kni-base^{commit}' ||
		kni_die "$name: cannot check out kni-base"
	git -C "$dir" am -q "${bynum[@]:1}" ||
		kni_die "$name: the messages do not apply with git am"
	[ "$(git -C "$dir" rev-parse 'HEAD^{tree}')" = "$(cat "$tmp/$name.tree")" ] ||
		kni_die "$name: the messages applied give another tree than the series"

	# Nothing was sent: the mail command never ran, b4 did not tag the
	# series as sent, and said so.
	[ ! -e "$tmp/sent" ] ||
		kni_die "$name: b4 ran the mail command: $(cat "$tmp/sent")"
	[ -z "$(git -C "$dir" tag -l 'sent/*')" ] ||
		kni_die "$name: b4 tagged the series as sent"
	grep -Fx "DRYRUN: Would have sent $want messages" "$tmp/b4.$name.log" >/dev/null ||
		kni_die "$name: b4 did not report a dry run of $want messages"
}

netdev=netdev@vger.kernel.org
mkdir -p "$tmp/out"

# Linux, for net-next: only the files the series touches, what
# get_maintainer.pl reads, and .gitattributes, whose diff drivers name
# the functions in hunk headers as in the patch files, are checked out
# (a kernel tree is large).
read_series "$linux_in"
[ -n "$cover" ] || kni_die "$linux_in: no 0000-cover-letter.patch"
{ printf '/%s\n' MAINTAINERS .mailmap .get_maintainer.ignore .gitattributes \
	scripts/get_maintainer.pl
  sed -n 's|^--- a/|/|p; s|^+++ b/|/|p' "${patches[@]}" | LC_ALL=C sort -u
} > "$tmp/linux.sparse"
clone "$KNI_SRC" "$tmp/linux" "$tmp/linux.sparse"
gm="scripts/get_maintainer.pl --no-tree --nogit --nogit-fallback --nogit-chief-penguins --norolestats"
git -C "$tmp/linux" config b4.send-auto-to-cmd "$gm --nom --nor"
git -C "$tmp/linux" config b4.send-auto-cc-cmd "$gm --nol"
git -C "$tmp/linux" config b4.send-series-to "$(header "$cover" To)"
cover_text "$cover" ${#patches[@]} > "$tmp/linux.cover"
linux_subject=$(header "$cover" Subject)
submit linux "$tmp/linux" net-next "$tmp/linux.cover"
git -C "$tmp/linux" show HEAD:MAINTAINERS |
	awk '$0 == "KNI NETWORK DRIVER" { sec = 1; next }
	     /^$/ { sec = 0 }
	     sec && /^M:/' | addresses > "$tmp/linux.cc"
[ -s "$tmp/linux.cc" ] || kni_die "the series adds no M: line to kni's MAINTAINERS entry"
verify linux "$tmp/linux" "PATCH net-next" "$netdev" "$tmp/linux.cc"
linux_count=$(find "$tmp/out/linux" -name '*.eml' | wc -l)

# iproute2, for iproute2-next: To netdev, Cc the maintainers the source
# names, in its MAINTAINERS (sections for the whole tree or for a file
# the series touches, and their lists To) or, in a source that has none
# (6.1), the first name and address at the end of its README.
read_series "$iproute2_in"
[ -n "$cover" ] || [ ${#patches[@]} -eq 1 ] ||
	kni_die "$iproute2_in: ${#patches[@]} patches and no 0000-cover-letter.patch"
clone "$iproute2_src" "$tmp/iproute2" ""
echo "$netdev" > "$tmp/iproute2.to"
if [ -f "$tmp/iproute2/MAINTAINERS" ]; then
	mapfile -t touched < <(sed -n 's|^--- a/||p; s|^+++ b/||p' "${patches[@]}" | LC_ALL=C sort -u)
	iproute2_maintainers "$tmp/iproute2/MAINTAINERS" "${touched[@]}" > "$tmp/iproute2.maintainers"
	sed -n 's/^M:[[:space:]]*//p' "$tmp/iproute2.maintainers" > "$tmp/iproute2.m"
	sed -n 's/^L:[[:space:]]*//p' "$tmp/iproute2.maintainers" | addresses >> "$tmp/iproute2.to"
else
	# The first pair is the maintainer; the next one, the original
	# author, no longer maintains it.
	awk 'prev != "" && /^[^[:space:]@]+@[^[:space:]@]+$/ { print prev " <" $0 ">"; exit }
	     { prev = $0 }' "$tmp/iproute2/README" > "$tmp/iproute2.m"
fi
addresses < "$tmp/iproute2.m" > "$tmp/iproute2.cc"
[ -s "$tmp/iproute2.cc" ] || kni_die "iproute2's MAINTAINERS or README names no maintainer"
git -C "$tmp/iproute2" config b4.send-series-to "$(LC_ALL=C sort -u "$tmp/iproute2.to" | paste -sd,)"
git -C "$tmp/iproute2" config b4.send-series-cc "$(paste -sd, "$tmp/iproute2.m")"
if [ -n "$cover" ]; then
	cover_text "$cover" ${#patches[@]} > "$tmp/iproute2.cover"
else
	# One patch: b4 puts the cover letter's body under its "---".
	{ git mailinfo /dev/null /dev/null < "${patches[0]}" | sed -n 's/^Subject: //p'
	  echo
	  echo "The kernel side is the series \"$linux_subject\" on netdev." | fmt -w 72
	} > "$tmp/iproute2.cover"
fi
submit iproute2 "$tmp/iproute2" iproute2-next "$tmp/iproute2.cover"
verify iproute2 "$tmp/iproute2" "PATCH iproute2-next" "$netdev" "$tmp/iproute2.cc"
iproute2_count=$(find "$tmp/out/iproute2" -name '*.eml' | wc -l)

summary="$linux_count messages for net-next and $iproute2_count for iproute2-next by b4 $(b4 --version): numbered, To $netdev, Cc the maintainers, the patch files' subjects and diffs, apply to the bases; nothing sent"
if [ "$check" = 1 ]; then
	echo "submission: $summary"
	exit 0
fi
dest=$KNI_REPO/build/submission
rm -rf "$dest/linux" "$dest/iproute2"
mkdir -p "$dest"
cp -r "$tmp/out/linux" "$tmp/out/iproute2" "$dest/"
echo "submission: $summary" >&2
echo "$dest"
