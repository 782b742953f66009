#!/usr/bin/env bash
# The README's test command (`./task test`): unit tests, then the real-kernel tests, both always
# run so that one failing part does not hide the other; exits non-zero if either failed.
# Tests run with --allow-all like mdts itself: Deno grants /dev, /sys and /proc/PID only with it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deno task test:unit
unit=$?
deno task test:vm
vm=$?
echo "test: unit tests exit $unit, real-kernel tests exit $vm"
[ "$unit" -eq 0 ] && [ "$vm" -eq 0 ]
