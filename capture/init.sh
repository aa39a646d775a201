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
	if cat /program > /proc/vmapref_capture 2>/tmp.err; then
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
