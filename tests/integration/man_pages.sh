#!/bin/bash
# man_pages.sh - every command has a man page, every option a command
# accepts is documented in it, and every page renders without warnings.
. "$(dirname "$0")/lib.sh"

MAN=$BW_SRCDIR/docs/man
cmds=$("$BULWARK" --help | awk '/^commands:/ {on=1; next} on && !NF {exit} on {print $1}')
ok $([ -n "$cmds" ]; echo $?) "bulwark --help lists commands"
for c in $cmds; do
	page=$MAN/bulwark-$c.1
	ok $([ -f "$page" ]; echo $?) "bulwark-$c.1 exists"
	[ -f "$page" ] || continue
	# the options are those of the usage text, and --help
	for opt in $("$BULWARK" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u) --help; do
		esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" "$page"
		ok $? "bulwark $c $opt is documented in bulwark-$c.1"
	done
done
# every key of the configuration file (the table in src/net/serve_conf.c)
# has an entry in bulwark.conf(5)
keys=$(sed -n '/bw_serve_conf_keys\[\] = {/,/NULL/s/^[[:space:]]*"\([a-z_]*\)",$/\1/p' \
	"$BW_SRCDIR/src/net/serve_conf.c")
ok $([ "$(echo "$keys" | wc -w)" -ge 11 ]; echo $?) "the configuration keys are found"
for k in $keys; do
	grep -q "^\.BI $k " "$MAN/bulwark.conf.5"
	ok $? "configuration key $k is documented in bulwark.conf.5"
done
for page in "$MAN"/*.1 "$MAN"/*.5; do
	warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	is "$warn" "" "$(basename "$page") renders without warnings"
done
done_testing
