// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: /dev/kni, through which a dataplane attaches to a queue, maps the
 * queue's region, kicks the kernel and polls for work.
 *
 * The region belongs to the file, not to the device: every mapping holds
 * the file, so the memory stays valid until the last munmap() and close()
 * whatever happens to the device. The device points at the file only
 * while attached; deleting the device detaches it and the file then
 * reports EPOLLHUP and -ENODEV.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <net/net_namespace.h>

#include "kni.h"
#include "ring.h"

/* struct kni_attach as version 1 of the ABI defined it. */
#define KNI_ATTACH_SIZE_VER1	offsetofend(struct kni_attach, event)

/*
 * Lay out one ring at *off: producer, consumer and flags on cache lines of
 * their own (each is written by one side only), then the slots.
 */
static void kni_layout_ring(struct kni_ring_offsets *ro, size_t *off,
			    u32 ring_size, size_t slot_size)
{
	ro->producer = *off;
	ro->consumer = *off + SMP_CACHE_BYTES;
	ro->flags = *off + 2 * SMP_CACHE_BYTES;
	ro->desc = *off + 3 * SMP_CACHE_BYTES;
	*off = ALIGN(ro->desc + (size_t)ring_size * slot_size, SMP_CACHE_BYTES);
}

static void kni_ring_init(struct kni_ring *r, void *base,
			  const struct kni_ring_offsets *ro, u32 ring_size)
{
	r->producer = base + ro->producer;
	r->consumer = base + ro->consumer;
	r->flags = base + ro->flags;
	r->desc = base + ro->desc;
	r->mask = ring_size - 1;
	r->prod = 0;
	r->cons = 0;
}

/*
 * Every frame of the area can be on rx (or free) and on alloc (or tx) at
 * once: twice the ring size.
 */
static int kni_region_alloc(struct kni_region *r, u32 ring_size,
			    u32 frame_size, struct kni_attach *at)
{
	size_t off = 0, frames, area;
	void *addr;

	at->ring_size = ring_size;
	at->frame_size = frame_size;
	at->frame_count = 2 * ring_size;
	at->headroom = KNI_FRAME_HEADROOM;
	kni_layout_ring(&at->rx, &off, at->ring_size, sizeof(struct kni_desc));
	kni_layout_ring(&at->free, &off, at->ring_size, sizeof(struct kni_desc));
	kni_layout_ring(&at->alloc, &off, at->ring_size, sizeof(struct kni_desc));
	kni_layout_ring(&at->tx, &off, at->ring_size, sizeof(struct kni_desc));
	at->event_ring_size = KNI_EVENT_RING_SIZE;
	at->pad = 0;
	at->state = off;
	off += ALIGN(sizeof(struct kni_state), SMP_CACHE_BYTES);
	kni_layout_ring(&at->event, &off, at->event_ring_size,
			sizeof(struct kni_event));
	frames = PAGE_ALIGN(off);
	area = array_size(at->frame_count, at->frame_size);
	if (area == SIZE_MAX || frames + area < frames)
		return -ENOMEM;
	at->frames = frames;
	at->mmap_size = PAGE_ALIGN(frames + area);

	/* Charged to the attaching process's memory cgroup. */
	addr = __vmalloc(at->mmap_size, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
			 __GFP_NOWARN);
	if (!addr)
		return -ENOMEM;

	r->addr = addr;
	r->size = at->mmap_size;
	r->frames = addr + frames;
	r->area_size = area;
	r->frame_size = at->frame_size;
	kni_ring_init(&r->rx, addr, &at->rx, at->ring_size);
	kni_ring_init(&r->free, addr, &at->free, at->ring_size);
	kni_ring_init(&r->alloc, addr, &at->alloc, at->ring_size);
	kni_ring_init(&r->tx, addr, &at->tx, at->ring_size);
	kni_ring_init(&r->event, addr, &at->event, at->event_ring_size);
	r->event.desc = NULL;
	r->events = addr + at->event.desc;
	r->state = addr + at->state;
	r->tx_unflushed = 0;
	/* Nothing is polling rx until the first kick. */
	WRITE_ONCE(*r->rx.flags, KNI_RING_F_NEED_WAKEUP);
	return 0;
}

/* tun's rule: CAP_NET_ADMIN in the device's netns, or its owner or group. */
static bool kni_may_attach(const struct kni_dev *kni)
{
	kuid_t owner = READ_ONCE(kni->owner);
	kgid_t group = READ_ONCE(kni->group);

	if (uid_valid(owner) && uid_eq(current_euid(), owner))
		return true;
	if (gid_valid(group) && in_egroup_p(group))
		return true;
	return ns_capable(dev_net(kni->dev)->user_ns, CAP_NET_ADMIN);
}

/*
 * The sizes of the region a queue of device @ifindex needs, looked up
 * without RTNL, with the caller's right to attach. They are fixed when the
 * device is created; kni_attach() checks them again under RTNL.
 */
static int kni_region_sizes(struct net *net, u32 ifindex, u32 *ring_size,
			    u32 *frame_size)
{
	struct net_device *dev;
	struct kni_dev *kni;
	int err = -ENODEV;

	dev = dev_get_by_index(net, ifindex);
	if (!dev)
		return -ENODEV;
	if (dev->rtnl_link_ops == &kni_link_ops) {
		kni = netdev_priv(dev);
		*ring_size = kni->ring_size;
		*frame_size = kni->frame_size;
		err = kni_may_attach(kni) ? 0 : -EPERM;
	}
	dev_put(dev);
	return err;
}

static int kni_attach(struct kni_file *kf, struct kni_attach *at)
{
	struct net *net = current->nsproxy->net_ns;
	u32 ring_size, frame_size, index;
	struct net_device *dev;
	struct kni_queue *q;
	struct kni_dev *kni;
	int err;

	if (kf->region.addr)
		return -EBUSY;

	/* The region can be large: clear and charge it before taking RTNL. */
	err = kni_region_sizes(net, at->ifindex, &ring_size, &frame_size);
	if (err)
		return err;
	err = kni_region_alloc(&kf->region, ring_size, frame_size, at);
	if (err)
		return err;

	rtnl_lock();
	dev = __dev_get_by_index(net, at->ifindex);
	if (!dev || dev->rtnl_link_ops != &kni_link_ops) {
		err = -ENODEV;
		goto unlock;
	}
	kni = netdev_priv(dev);
	if (!kni_may_attach(kni)) {
		err = -EPERM;
		goto unlock;
	}
	/* Deleted and created again meanwhile, with other sizes. */
	if (kni->ring_size != ring_size || kni->frame_size != frame_size) {
		err = -EAGAIN;
		goto unlock;
	}
	if (at->queue >= kni->num_queues) {
		err = -EINVAL;
		goto unlock;
	}
	index = array_index_nospec(at->queue, kni->num_queues);
	q = &kni->queues[index];
	if (rtnl_dereference(q->file)) {
		err = -EBUSY;
		goto unlock;
	}
	/* The dataplane must handle the MTU the device has now. */
	if (at->max_mtu && at->max_mtu < dev->mtu) {
		err = -ERANGE;
		goto unlock;
	}

	kf->max_mtu = at->max_mtu;
	kf->fixed_mac = at->flags & KNI_ATTACH_F_FIXED_MAC;
	kni_event_attach(kf, dev);
	/* For mmap() and poll(), which do not take the lock. */
	smp_store_release(&kf->ready, true);
	/* NAPI leaves these alone while the queue has no file. */
	q->rx_wakeup = true;
	q->rx_blocked = 0;
	rcu_assign_pointer(kf->queue, q);
	rcu_assign_pointer(q->file, kf);
	kni_update_limits(kni);
	/* Frames the stack could not pass before may go now. */
	if (netif_running(dev))
		netif_tx_wake_queue(netdev_get_tx_queue(dev, index));
unlock:
	rtnl_unlock();
	if (err) {
		vfree(kf->region.addr);
		memset(&kf->region, 0, sizeof(kf->region));
	}
	return err;
}

/**
 * kni_queue_detach() - take a queue away from its dataplane
 * @q: the queue
 * @dead: the device is going away; the file reports it
 *
 * Called under RTNL when the file is released or the device unregisters.
 * Once it returns, neither NAPI, the transmit path nor a carrier change
 * through the file uses the queue. The limits the file declared no longer
 * apply, and the carrier goes off when it was the device's last file.
 */
void kni_queue_detach(struct kni_queue *q, bool dead)
{
	struct kni_file *kf = rtnl_dereference(q->file);
	struct kni_dev *kni = q->kni;

	if (!kf)
		return;
	if (dead)
		kni_event_gone(kf, kni->dev);
	RCU_INIT_POINTER(q->file, NULL);
	RCU_INIT_POINTER(kf->queue, NULL);
	/* NAPI, ndo_start_xmit and the file's ioctls run under RCU. */
	synchronize_net();
	if (dead) {
		WRITE_ONCE(kf->dead, true);
		wake_up_interruptible_poll(&kf->wait, EPOLLHUP | EPOLLERR);
		return;
	}
	if (!kni_update_limits(kni))
		kni_set_carrier(kni, false);
	if (netif_running(kni->dev))
		netif_tx_wake_queue(netdev_get_tx_queue(kni->dev, q->index));
}

static long kni_ioctl_attach(struct kni_file *kf, unsigned int cmd,
			     void __user *uarg)
{
	size_t usize = _IOC_SIZE(cmd);
	struct kni_attach at;
	int err;

	if (usize < KNI_ATTACH_SIZE_VER1)
		return -EINVAL;
	err = copy_struct_from_user(&at, sizeof(at), uarg, usize);
	if (err)
		return err;
	if (at.version != KNI_ATTACH_VERSION ||
	    at.flags & ~KNI_ATTACH_F_FIXED_MAC ||
	    at.reserved[0] || at.reserved[1] || at.reserved[2])
		return -EINVAL;
	if (at.max_mtu && at.max_mtu < ETH_MIN_MTU)
		return -EINVAL;
	/*
	 * Fail on a buffer the layout cannot be written to before attaching,
	 * not after: the caller would be attached without knowing where.
	 */
	if (copy_to_user(uarg, &at, min(usize, sizeof(at))))
		return -EFAULT;

	mutex_lock(&kf->lock);
	err = kni_attach(kf, &at);
	mutex_unlock(&kf->lock);
	if (err)
		return err;
	if (copy_to_user(uarg, &at, min(usize, sizeof(at))))
		return -EFAULT;
	return 0;
}

/* KNI_IOC_KICK, and KNI_IOC_CARRIER with @carrier 0 or 1. */
static long kni_ioctl_queue(struct kni_file *kf, int carrier)
{
	struct kni_queue *q;
	long ret = 0;

	/* kni_queue_detach() waits for this section to end. */
	rcu_read_lock();
	q = rcu_dereference(kf->queue);
	if (!q)
		/*
		 * Only its device going away detaches a file that attached;
		 * pairs with the store-release in kni_attach().
		 */
		ret = smp_load_acquire(&kf->ready) ? -ENODEV : -ENOTCONN;
	else if (carrier < 0)
		kni_napi_kick(q);
	else
		kni_set_carrier(q->kni, carrier);
	rcu_read_unlock();
	return ret;
}

static long kni_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kni_file *kf = file->private_data;

	if (cmd == KNI_IOC_KICK)
		return arg ? -EINVAL : kni_ioctl_queue(kf, -1);
	if (cmd == KNI_IOC_CARRIER)
		return arg > 1 ? -EINVAL : kni_ioctl_queue(kf, arg);
	if (cmd == KNI_IOC_WAKEUPS) {
		if (arg > 1)
			return -EINVAL;
		WRITE_ONCE(kf->busy, !arg);
		/* Have epoll look again at what arrived while they were off. */
		if (arg)
			wake_up_interruptible_poll(&kf->wait, EPOLLIN | EPOLLRDNORM |
						   EPOLLOUT | EPOLLWRNORM);
		return 0;
	}
	/* Any size of the attach structure; the handler checks it. */
	if (_IOC_TYPE(cmd) == KNI_IOC_MAGIC &&
	    _IOC_NR(cmd) == _IOC_NR(KNI_IOC_ATTACH) &&
	    _IOC_DIR(cmd) == (_IOC_READ | _IOC_WRITE))
		return kni_ioctl_attach(kf, cmd, (void __user *)arg);
	return -ENOTTY;
}

static int kni_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kni_file *kf = file->private_data;
	unsigned long size = vma->vm_end - vma->vm_start;
	unsigned long addr;
	size_t off;
	int err;

	if (vma->vm_pgoff)
		return -EINVAL;
	/*
	 * No lock: attach takes RTNL, and RTNL holders fault on user memory
	 * (mmap_lock). Pairs with the store-release in kni_attach().
	 */
	if (!smp_load_acquire(&kf->ready))
		return -ENXIO;
	if (size > kf->region.size)
		return -EINVAL;

	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	for (off = 0, addr = vma->vm_start; off < size;
	     off += PAGE_SIZE, addr += PAGE_SIZE) {
		err = vm_insert_page(vma, addr,
				     vmalloc_to_page(kf->region.addr + off));
		if (err)
			return err;
	}
	return 0;
}

static __poll_t kni_poll(struct file *file, poll_table *wait)
{
	struct kni_file *kf = file->private_data;
	const struct kni_region *r = &kf->region;
	__poll_t mask = 0;

	poll_wait(file, &kf->wait, wait);

	/* Pairs with the store-release in kni_attach(). */
	if (!smp_load_acquire(&kf->ready))
		return EPOLLERR;
	if (READ_ONCE(kf->dead))
		mask |= EPOLLHUP | EPOLLERR;

	/* Only the caller's own view of its rings: it may write them. */
	if (READ_ONCE(*r->tx.producer) != READ_ONCE(*r->tx.consumer) ||
	    READ_ONCE(*r->free.producer) != READ_ONCE(*r->free.consumer))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (kni_ring_room(READ_ONCE(*r->rx.producer),
			  READ_ONCE(*r->rx.consumer), r->rx.mask + 1))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (READ_ONCE(*r->event.producer) != READ_ONCE(*r->event.consumer))
		mask |= EPOLLPRI;
	return mask;
}

static int kni_chr_open(struct inode *inode, struct file *file)
{
	struct kni_file *kf;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL_ACCOUNT);
	if (!kf)
		return -ENOMEM;
	mutex_init(&kf->lock);
	init_waitqueue_head(&kf->wait);
	file->private_data = kf;
	return nonseekable_open(inode, file);
}

static int kni_chr_release(struct inode *inode, struct file *file)
{
	struct kni_file *kf = file->private_data;

	if (rcu_access_pointer(kf->queue)) {
		rtnl_lock();
		/* The device may have detached us meanwhile. */
		if (rcu_access_pointer(kf->queue))
			kni_queue_detach(rtnl_dereference(kf->queue), false);
		rtnl_unlock();
	}
	vfree(kf->region.addr);
	mutex_destroy(&kf->lock);
	kfree(kf);
	return 0;
}

static const struct file_operations kni_fops = {
	.owner		= THIS_MODULE,
	.open		= kni_chr_open,
	.release	= kni_chr_release,
	.unlocked_ioctl	= kni_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= kni_mmap,
	.poll		= kni_poll,
};

static struct miscdevice kni_miscdev = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= KNI_DRV_NAME,
	.mode		= 0666,
	.fops		= &kni_fops,
};

int kni_chrdev_init(void)
{
	return misc_register(&kni_miscdev);
}

void kni_chrdev_exit(void)
{
	misc_deregister(&kni_miscdev);
}
