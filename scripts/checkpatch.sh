#!/bin/bash
# Run checkpatch.pl --strict on every patch of kernel/series. A finding
# fails its patch unless kernel/checkpatch.allow justifies it. Ends with
# "N passed, N failed" (one case per patch).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
allow=$top/kernel/checkpatch.allow
# checkpatch runs scripts/spdxcheck.py, which needs Debian's python3-ply
export PATH=/usr/bin:/bin:$PATH

"$top/scripts/deps.sh" kernel checkpatch || exit 1
[ -d "$tree/.git" ] || "$top/scripts/kernel-tree.sh" || exit 1

passed=0 failed=0
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	out=$("$tree/scripts/checkpatch.pl" --strict --terse --no-summary \
		--root="$tree" "$top/kernel/$p" 2>&1)
	findings=$(grep -E ': (ERROR|WARNING|CHECK): ' <<<"$out" | sed 's/^[^:]*:[0-9]*: //')
	other=$(grep -vE ': (ERROR|WARNING|CHECK): ' <<<"$out" | sed '/^$/d')
	left=""
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		ok=""
		while IFS=$'\t' read -r glob re why; do
			case "$glob" in ''|'#'*) continue ;; esac
			# shellcheck disable=SC2053
			if [[ "$p" == $glob ]] && grep -qE -- "$re" <<<"$f"; then
				ok=1
				break
			fi
		done < "$allow"
		[ -n "$ok" ] || left="$left  $f"$'\n'
	done <<<"$findings"
	if [ -n "$left$other" ]; then
		echo "FAIL $p"
		printf '%s' "$left"
		[ -n "$other" ] && printf '  %s\n' "$other"
		failed=$((failed + 1))
	else
		n=$(sed '/^$/d' <<<"$findings" | wc -l)
		echo "ok   $p${findings:+ ($n justified in kernel/checkpatch.allow)}"
		passed=$((passed + 1))
	fi
done < "$top/kernel/series"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
