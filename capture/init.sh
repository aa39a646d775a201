#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
# Guest /init of vmapref capture: load the module, print /proc/vmallocinfo,
# run the program, print the module's log between markers, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo 3 > /proc/sys/kernel/printk
echo "@@VMAPREF boot $(uname -r)"
if insmod /vmapref_capture.ko $(cat /modparams) 2>/tmp.err; then
	echo "@@VMAPREF BEGIN vmallocinfo"
	cat /proc/vmallocinfo
	echo "@@VMAPREF END vmallocinfo"
	# capture --load: other users of the vmalloc range while the program runs
	loaders=""
	if [ -f /load ]; then
		for m in $(cat /load-base); do insmod /mod/$m.ko || echo "@@VMAPREF load: insmod $m failed"; done
		if grep -q erofs /load; then
			mkdir -p /mnt
			losetup /dev/loop0 /load.erofs && mount -t erofs -o ro /dev/loop0 /mnt || echo "@@VMAPREF load: erofs mount failed"
			(while :; do cat /mnt/* > /dev/null; echo 3 > /proc/sys/vm/drop_caches; done) &
			loaders="$loaders $!"
		fi
		if grep -q modules /load; then
			(while :; do for m in $(cat /load-churn); do insmod /mod/$m.ko; rmmod $m; done; done) 2>/dev/null &
			loaders="$loaders $!"
		fi
		sleep 2
	fi
	if cat /program > /proc/vmapref_capture 2>/tmp.err; then
		for p in $loaders; do kill $p; done
		wait
		echo stop > /proc/vmapref_capture
		echo "@@VMAPREF BEGIN log"
		cat /proc/vmapref_capture
		echo "@@VMAPREF END log"
	else
		echo "@@VMAPREF ERROR run: $(cat /tmp.err)"
	fi
else
	echo "@@VMAPREF ERROR insmod: $(cat /tmp.err)"
fi
echo "@@VMAPREF done"
sync
poweroff -f
