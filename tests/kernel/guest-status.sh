# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# snapctl list and snapctl status --served in guest-targetcli.sh, on the
# devices it serves: ovol (origin ovol.img with s1, s2 and s3), svol
# (snapshot s1), s2vol (snapshot s2).  A workload whose counts are known:
# with s3 just taken (no exception yet), four 4 KiB O_DIRECT writes to
# the origin disk in four of s3's 4 KiB chunks (the data read back
# first, so the origin's image stays), three 4 KiB reads of svol.
# Needs $w, $sc (snapctl) and $SHARE.
#
# Output in /share/status:
#   {ovol,svol}-{0,1}.json   status --served --json before and after
#   svol.txt, svol.ima       status --served svol, --ima
#   list.json, list.txt      snapctl list --json, snapctl list
#   nope.out/.rc, many.out/.rc   an unknown VOL; ovol without --cow
#   svol-2.json              svol's served document just before it stops
#   s1-offline.json          status --json of s1 once snapcowd stopped
#   notify                   what snapcowd sent to $NOTIFY_SOCKET, one
#                            message a line

# notify_listen: receive snapcowd's sd_notify messages from now on (the
# daemons started later inherit NOTIFY_SOCKET).
notify_listen() {
	mkdir -p "$SHARE/status"
	export NOTIFY_SOCKET=$w/notify.sock
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    print("ready", file=f, flush=True)
    while True:
        print(s.recv(4096).decode().replace("\n", " "), file=f, flush=True)
' "$NOTIFY_SOCKET" "$SHARE/status/notify" &
	notify_pid=$!
	for _ in $(seq 100); do
		[ -s "$SHARE/status/notify" ] && return 0
		sleep 0.1
	done
	echo "guest: no notify listener" >&2
}

notify_stop() {
	kill "$notify_pid" 2>/dev/null
	wait "$notify_pid" 2>/dev/null || true
}

# served_status OSD SSD: the origin's and svol's sd disks.
served_status() {
	local osd=$1 ssd=$2 s=$SHARE/status i rc
	mkdir -p "$s"
	for i in 0 16 32 48; do
		dd if="/dev/$osd" of="$w/blk$i" bs=4096 count=1 skip="$i" \
			iflag=direct status=none
	done
	"$sc" status --served --json --cow "$w/s3.cow" ovol >"$s/ovol-0.json" 2>&1
	"$sc" status --served --json svol >"$s/svol-0.json" 2>&1
	for i in 0 16 32 48; do
		dd if="$w/blk$i" of="/dev/$osd" bs=4096 count=1 seek="$i" \
			oflag=direct conv=notrunc status=none
	done
	dd if="/dev/$ssd" of=/dev/null bs=4096 count=3 iflag=direct status=none
	"$sc" status --served --json --cow "$w/s3.cow" ovol >"$s/ovol-1.json" 2>&1
	"$sc" status --served --json svol >"$s/svol-1.json" 2>&1
	"$sc" status --served svol >"$s/svol.txt" 2>&1
	"$sc" status --served --ima svol >"$s/svol.ima" 2>&1
	"$sc" list --json >"$s/list.json" 2>&1
	"$sc" list >"$s/list.txt" 2>&1
	rc=0
	"$sc" status --served nope >"$s/nope.out" 2>&1 || rc=$?
	echo "$rc" >"$s/nope.rc"
	rc=0
	"$sc" status --served ovol >"$s/many.out" 2>&1 || rc=$?
	echo "$rc" >"$s/many.rc"
}

# served_status_last: svol's document as snapcowd serves it last (the
# iSCSI workload copied into s1 since served_status).
served_status_last() {
	"$sc" status --served --json svol >"$SHARE/status/svol-2.json" 2>&1
}

# served_status_offline: once snapcowd released s1, the offline document.
served_status_offline() {
	"$sc" status --json --origin "$w/ovol.img" "$w/s1.cow" \
		>"$SHARE/status/s1-offline.json" 2>&1
}
