#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the snapcheck benchmark on a sparse file in DIR (default: .):
#   bench/bench-check.sh [DIR] [EXCEPTIONS...]
dir=${1:-.}
[ $# -gt 0 ] && shift
exec "$(dirname "$0")/bench-check" -f "$dir/bench-check.cow" "$@"
