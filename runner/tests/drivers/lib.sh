# lib.sh - shared by the fake drivers of the runner's self-tests.
#
# A driver is started as DRIVER [ARG ...] MODDIR. Each fake driver
# records "PID PGID MODDIR" in $MLR_TEST_PIDFILE (when set) so that a test
# can check that the runner gave it its own process group and that
# nothing of that group outlives the run.

record_pid() {
	if [ -n "${MLR_TEST_PIDFILE:-}" ]; then
		read -r stat < /proc/$$/stat
		set -- ${stat##*) }
		echo "$$ $3 $moddir" > "$MLR_TEST_PIDFILE"
	fi
}

# The last argument is MODDIR.
last_arg() {
	for a in "$@"; do :; done
	printf '%s\n' "$a"
}

greet() {
	printf 'modlife 1\n'
}

# Prints what LOG says follows its N-th "> " line (1-based), if the
# command matches; prints "bad unexpected command" otherwise. LOG is a
# transcript in the case format without groups; "#" lines and blank
# lines are skipped. Returns 1 when LOG has no step N.
replay_step() {
	awk -v n="$2" -v cmd="$3" '
		/^#/ || /^$/ { next }
		/^> / { step++; if (step == n) { found = 1; if (substr($0, 3) != cmd) { print "bad unexpected command"; exit } } ; next }
		step == n { print }
		END { if (!found) exit 1 }
	' "$1"
}

# Answers every command from stdin out of LOG; stops (returns) at the
# end of input or at a command LOG has no step for.
replay() {
	_n=0
	while IFS= read -r _cmd; do
		_n=$((_n + 1))
		replay_step "$1" "$_n" "$_cmd" || return 0
	done
}

# Hostile drivers (issue 11): answers every command on stdin with the
# expected lines of its step in the case file KEY, group syntax dropped;
# "bad no answer key" when KEY is empty or unreadable. FIRST: a command
# already read.
answer_from() {
	_n=0
	_key=$1
	if [ $# -ge 2 ]; then
		_n=1
		_answer "$_key" 1
	fi
	while IFS= read -r _cmd; do
		_n=$((_n + 1))
		_answer "$_key" "$_n"
	done
}

_answer() {
	if [ -z "$1" ] || [ ! -s "$1" ]; then
		echo "bad no answer key"
		return
	fi
	awk -v n="$2" '
		/^=== transcript/ { t = 1; next }
		!t || /^#/ || /^$/ || /^! / { next }
		/^> / { step++; next }
		step == n && !/^[{}]/ && $0 != "--" { print }' "$1"
}
