// SPDX-License-Identifier: GPL-2.0
/*
 * A module whose init never returns: the fault matrix's "a module that hangs in
 * init" (tests/faults.rs). msleep is an uninterruptible sleep, like a driver waiting
 * for hardware that never answers: finit_module(2) does not return and no signal
 * ends the task, so the init must bound the load and leave it behind.
 */
#include <linux/delay.h>
#include <linux/module.h>

static int __init zos_hang_init(void)
{
	pr_info("zos_hang: init entered, sleeping forever\n");
	for (;;)
		msleep(1000);
	return 0;
}
module_init(zos_hang_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("zos-initramfs fault test: a module whose init never returns");
