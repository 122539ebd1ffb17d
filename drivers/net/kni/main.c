// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: module registration. Everything else lives in a file per concern.
 */

#include <linux/module.h>

#include "kni.h"

static int __init kni_mod_init(void)
{
	return rtnl_link_register(&kni_link_ops);
}

static void __exit kni_mod_exit(void)
{
	rtnl_link_unregister(&kni_link_ops);
}

module_init(kni_mod_init);
module_exit(kni_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Network device for userspace dataplanes");
MODULE_ALIAS_RTNL_LINK(KNI_DRV_NAME);
