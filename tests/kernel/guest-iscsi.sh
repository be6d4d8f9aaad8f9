# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The iSCSI part of guest-targetcli.sh (sourced by it; uses its tcli,
# $w, $sc, $SIZE): the origin backstore ovol exported a second time, by
# LIO's iSCSI target on 127.0.0.1, and logged in to with open-iscsi in the
# same guest; a seeded O_DIRECT workload through the iSCSI disk pauses
# for a live snapshot (s4), which must later read the origin as it was
# then (checked by the kernel's dm-snapshot at the end of the suite).
#
# Output in /share/iscsi:
#   target.out            the targetcli batch creating the target
#   iscsid.log            iscsid's output
#   discovery.out, login.out, login.rc, logout.out, logout.rc
#   disk                  the iSCSI disk (sdX) and its SCSI host's proc_name
#   wl/                   the workload (model.sha256), wl.rc
#   live-model.sha256     the origin's model when s4 was taken
#   live.out, live.rc     snapctl snapshot --served ovol s4.cow
#   served.sha256         what the iSCSI disk served after the workload

# shellcheck disable=SC2154 # w and sc are guest-targetcli.sh's
IQN=iqn.2026-12.org.snapcow:ovol
IQN_INIT=iqn.2026-12.org.snapcow:guest
ISCSI=$SHARE/iscsi

# iscsi_disk: the disk of the one iSCSI session (waits for it).
iscsi_disk() {
	local _ d
	for _ in $(seq 100); do
		d=$(iscsiadm -m session -P 3 2>/dev/null |
			awk '/Attached scsi disk/ { print $4; exit }')
		[ -n "$d" ] && [ -b "/dev/$d" ] && { echo "$d"; return 0; }
		sleep 0.2
	done
	echo "guest: no iSCSI disk" >&2
	return 1
}

# iscsi_start: the target (demo mode: no ACL, no authentication) on
# 127.0.0.1:3260 only, iscsid, discovery and login.
iscsi_start() {
	local rc=0
	mkdir -p "$ISCSI"
	if ! modprobe iscsi_target_mod || ! modprobe iscsi_tcp; then
		echo "guest: no iSCSI modules" >&2
		return 1
	fi
	tcli >"$ISCSI/target.out" 2>&1 <<EOF2
/iscsi create $IQN
/iscsi/$IQN/tpg1/portals delete 0.0.0.0 3260
/iscsi/$IQN/tpg1/portals create 127.0.0.1 3260
/iscsi/$IQN/tpg1/luns create /backstores/user:snapcow/ovol
/iscsi/$IQN/tpg1 set attribute authentication=0 demo_mode_write_protect=0 generate_node_acls=1 cache_dynamic_acls=1
EOF2
	# The guest's loopback interface starts down.
	ip link set lo up
	echo "InitiatorName=$IQN_INIT" >/etc/iscsi/initiatorname.iscsi
	mkdir -p /run/lock/iscsi /var/lib/iscsi
	# iscsid in its own session: it must outlive nothing but the guest.
	setsid iscsid -f >"$ISCSI/iscsid.log" 2>&1 </dev/null &
	sleep 1
	iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 \
		>"$ISCSI/discovery.out" 2>&1
	iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --login \
		>"$ISCSI/login.out" 2>&1 || rc=$?
	echo "$rc" >"$ISCSI/login.rc"
	return "$rc"
}

# iscsi_run: the workload through the iSCSI disk, paused after 10 of 30
# writes for the live snapshot s4.
iscsi_run() {
	local d h wpid rc=0
	d=$(iscsi_disk)
	h=$(basename "$(readlink "/sys/block/$d/device")")
	echo "$d $(cat "/sys/class/scsi_host/host${h%%:*}/proc_name")" \
		>"$ISCSI/disk"
	# The origin as it is now: the workload's starting image.
	dd if="/dev/$d" of="$w/ovol-i.img" bs=1M iflag=direct status=none
	truncate -s 8M "$w/s4.cow"
	mkdir -p "$ISCSI/wl"
	rm -f "$w/iscsi-pause"
	workload disk "/dev/$d" "$w/ovol-i.img" 81 30 "$ISCSI/wl" 10 \
		"$w/iscsi-pause" "$ISCSI/live-model.sha256" &
	wpid=$!
	wait_file "$w/iscsi-pause"
	"$sc" snapshot --served ovol "$w/s4.cow" >"$ISCSI/live.out" 2>&1 ||
		rc=$?
	echo "$rc" >"$ISCSI/live.rc"
	rm -f "$w/iscsi-pause"
	rc=0
	wait "$wpid" || rc=$?
	echo "$rc" >"$ISCSI/wl.rc"
	workload hash 8192 "/dev/$d" "$ISCSI/served.sha256"
}

iscsi_stop() {
	local rc=0
	iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --logout \
		>"$ISCSI/logout.out" 2>&1 || rc=$?
	echo "$rc" >"$ISCSI/logout.rc"
}
