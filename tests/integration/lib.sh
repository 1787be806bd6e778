# lib.sh - TAP helpers for the integration tests (sourced, bash).
#
# Environment from meson: BULWARK (the binary), BW_TEST_DATA (tests/data),
# BW_SRCDIR (the source tree).  Each script gets a scratch directory $T that
# is removed on exit, after the background processes whose ids the script
# added to $pids (pids="$pids $!") are stopped.

set -u
: "${BULWARK:?BULWARK must name the bulwark binary}"
: "${BW_TEST_DATA:?}"
T=$(mktemp -d /tmp/bw-it-XXXXXX)
pids=""
cleanup() {
	if [ -n "$pids" ]; then
		for p in $pids; do kill "$p" 2>/dev/null; done
		wait 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
_n=0
_failed=0

ok() { # condition-result description
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

# is GOT WANT DESCRIPTION
is() {
	_n=$((_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $_n - $3"
	else
		echo "not ok $_n - $3"
		echo "#   got:  $1"
		echo "#   want: $2"
		_failed=$((_failed + 1))
	fi
}

# contains HAYSTACK NEEDLE DESCRIPTION
contains() {
	_n=$((_n + 1))
	case "$1" in
	*"$2"*) echo "ok $_n - $3" ;;
	*)
		echo "not ok $_n - $3"
		echo "#   '$2' not in:"
		printf '%s\n' "$1" | head -20 | sed 's/^/#   /'
		_failed=$((_failed + 1))
		;;
	esac
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds;
# 1 if it never does
wait_for() {
	local n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# lines FILE N: FILE exists and has N lines or more
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# json_field JSON KEY: the value of a top-level scalar key of a one-line
# JSON object (enough for bulwark's summaries).
json_field() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\(\"[^\"]*\"\|true\|false\|-\{0,1\}[0-9][0-9]*\).*/\1/p" | head -1
}
