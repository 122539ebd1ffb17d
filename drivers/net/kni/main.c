// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: module registration and per network namespace state. Everything
 * else lives in a file per concern.
 */

#include <linux/module.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "kni.h"

unsigned int kni_net_id __read_mostly;

static int __net_init kni_net_init(struct net *net)
{
	struct kni_net *kn = net_generic(net, kni_net_id);

	INIT_LIST_HEAD(&kn->devs);
	return 0;
}

/*
 * The devices of a dying namespace are deleted by the core through
 * kni_link_ops.dellink after this runs; nothing else is held per namespace.
 */
static struct pernet_operations kni_net_ops __read_mostly = {
	.init	= kni_net_init,
	.id	= &kni_net_id,
	.size	= sizeof(struct kni_net),
};

static int __init kni_mod_init(void)
{
	int ret;

	ret = register_pernet_device(&kni_net_ops);
	if (ret)
		return ret;

	ret = rtnl_link_register(&kni_link_ops);
	if (ret)
		goto err_pernet;

	ret = kni_chrdev_init();
	if (ret)
		goto err_link;

	return 0;

err_link:
	rtnl_link_unregister(&kni_link_ops);
err_pernet:
	unregister_pernet_device(&kni_net_ops);
	return ret;
}

static void __exit kni_mod_exit(void)
{
	kni_chrdev_exit();
	rtnl_link_unregister(&kni_link_ops);
	unregister_pernet_device(&kni_net_ops);
}

module_init(kni_mod_init);
module_exit(kni_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Network device for userspace dataplanes");
MODULE_ALIAS_RTNL_LINK(KNI_DRV_NAME);
