// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: module registration. Everything else lives in a file per concern.
 * No state is kept per network namespace: a namespace's kni devices are
 * unregistered with it by the core.
 */

#include <linux/module.h>
#include <net/rtnetlink.h>

#include "kni.h"

static int __init kni_mod_init(void)
{
	int ret;

	ret = rtnl_link_register(&kni_link_ops);
	if (ret)
		return ret;

	ret = kni_chrdev_init();
	if (ret)
		rtnl_link_unregister(&kni_link_ops);
	return ret;
}

static void __exit kni_mod_exit(void)
{
	kni_chrdev_exit();
	rtnl_link_unregister(&kni_link_ops);
}

module_init(kni_mod_init);
module_exit(kni_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Network device for userspace dataplanes");
MODULE_ALIAS_RTNL_LINK(KNI_DRV_NAME);
