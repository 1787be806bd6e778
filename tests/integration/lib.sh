# lib.sh - TAP helpers for the integration tests (sourced, bash).
#
# Environment from meson: BULWARK (the binary), BW_TEST_DATA (tests/data),
# BW_SRCDIR (the source tree).  Each script gets a scratch directory $T that
# is removed on exit.

set -u
: "${BULWARK:?BULWARK must name the bulwark binary}"
: "${BW_TEST_DATA:?}"
T=$(mktemp -d /tmp/bw-it-XXXXXX)
trap 'rm -rf "$T"' EXIT
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

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# json_field JSON KEY: the value of a top-level scalar key of a one-line
# JSON object (enough for bulwark's summaries).
json_field() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\(\"[^\"]*\"\|true\|false\|-\{0,1\}[0-9][0-9]*\).*/\1/p" | head -1
}
