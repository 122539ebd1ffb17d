// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: /dev/kni, through which a dataplane attaches to a queue, maps the
 * queue's region, kicks the kernel and polls for work.
 *
 * The region belongs to the file, not to the device: every mapping holds
 * the file, so the memory stays valid until the last munmap() and close()
 * whatever happens to the device. The device points at the file only
 * while attached; deleting the device detaches it and the file then
 * reports EPOLLHUP and -ENODEV. NAPI and the transmit path find the file
 * under RCU, so a released file and its region are freed after a grace
 * period rather than waited for.
 *
 * The region is charged like an AF_XDP umem: to the memory cgroup of the
 * process that attaches, and to its user's locked_vm against
 * RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK.
 */

#include <linux/cacheinfo.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/rtnetlink.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <net/net_namespace.h>

#include "kni.h"
#include "ring.h"

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
 * Fill in the layout of a region for @ring_size and @frame_size. Every
 * frame of the area can be on rx (or free) and on alloc (or tx) at once:
 * twice the ring size.
 */
static int kni_region_layout(struct kni_attach *at, u32 ring_size,
			     u32 frame_size)
{
	size_t off = 0, frames, area;

	at->ring_size = ring_size;
	at->frame_size = frame_size;
	at->frame_count = 2 * ring_size;
	at->headroom = KNI_FRAME_HEADROOM;
	at->meta_size = at->offloads ? sizeof(struct virtio_net_hdr) : 0;
	at->desc_size = sizeof(struct kni_desc);
	at->event_size = sizeof(struct kni_event);
	at->state_size = sizeof(struct kni_state);
	kni_layout_ring(&at->rx, &off, at->ring_size, at->desc_size);
	kni_layout_ring(&at->free, &off, at->ring_size, at->desc_size);
	kni_layout_ring(&at->alloc, &off, at->ring_size, at->desc_size);
	kni_layout_ring(&at->tx, &off, at->ring_size, at->desc_size);
	at->event_ring_size = KNI_EVENT_RING_SIZE;
	at->state = off;
	off += ALIGN(at->state_size, SMP_CACHE_BYTES);
	kni_layout_ring(&at->event, &off, at->event_ring_size, at->event_size);
	frames = PAGE_ALIGN(off);
	area = array_size(at->frame_count, at->frame_size);
	if (area == SIZE_MAX || frames + area < frames)
		return -ENOMEM;
	at->frames = frames;
	at->mmap_size = PAGE_ALIGN(frames + area);
	return 0;
}

/* Charge the region to the caller's RLIMIT_MEMLOCK, as AF_XDP does a umem. */
static int kni_region_charge(struct kni_file *kf, size_t size)
{
	unsigned long pages = size >> PAGE_SHIFT, limit, old;
	struct user_struct *user;

	if (capable(CAP_IPC_LOCK))
		return 0;

	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	user = get_uid(current_user());
	old = atomic_long_read(&user->locked_vm);
	do {
		if (pages > limit || old > limit - pages) {
			free_uid(user);
			return -ENOBUFS;
		}
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &old, old + pages));

	kf->user = user;
	kf->locked_pages = pages;
	return 0;
}

static void kni_region_uncharge(struct kni_file *kf)
{
	if (!kf->user)
		return;
	atomic_long_sub(kf->locked_pages, &kf->user->locked_vm);
	free_uid(kf->user);
	kf->user = NULL;
	kf->locked_pages = 0;
}

/*
 * Allocate the region @at describes, zeroed. The memory cgroup pays for
 * it; a request the machine cannot satisfy fails rather than invoke the
 * OOM killer.
 */
static int kni_region_alloc(struct kni_file *kf, const struct kni_attach *at)
{
	struct kni_region *r = &kf->region;
	void *addr;

	/*
	 * More than the machine could make available now: vmalloc() would
	 * only fail after reclaiming and compacting page by page, for long
	 * enough on a slow machine to starve everything else. Refuse it at
	 * once; what passes may still fail in vmalloc().
	 */
	if (at->mmap_size >> PAGE_SHIFT > si_mem_available())
		return -ENOMEM;
	addr = __vmalloc(at->mmap_size, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
			 __GFP_NOWARN | __GFP_RETRY_MAYFAIL);
	if (!addr)
		return -ENOMEM;

	r->addr = addr;
	r->size = at->mmap_size;
	r->frames = addr + at->frames;
	r->area_size = (u64)at->frame_count * at->frame_size;
	r->frame_size = at->frame_size;
	r->meta_size = at->meta_size;
	r->chain_max = 1;
	if (at->offloads & KNI_OFFLOAD_CHAIN)
		r->chain_max = DIV_ROUND_UP(KNI_CHAIN_LEN_MAX, at->frame_size -
					    KNI_FRAME_HEADROOM);
	kni_ring_init(&r->rx, addr, &at->rx, at->ring_size);
	kni_ring_init(&r->free, addr, &at->free, at->ring_size);
	kni_ring_init(&r->alloc, addr, &at->alloc, at->ring_size);
	kni_ring_init(&r->tx, addr, &at->tx, at->ring_size);
	kni_ring_init(&r->event, addr, &at->event, at->event_ring_size);
	r->event.desc = NULL;
	r->events = addr + at->event.desc;
	r->state = addr + at->state;
	r->tx_unflushed = 0;
	r->tx_need = 0;
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
 * Whether the caller may attach to queue at->queue of @dev, and the queue.
 * Run twice: without RTNL before the region is charged and allocated, so
 * that a request bound to fail costs nothing, and under RTNL, where the
 * answer counts. Both runs hold a reference on @dev, which keeps its
 * queues.
 */
static int kni_attach_check(struct net_device *dev,
			    const struct kni_attach *at, struct kni_queue **qp)
{
	struct kni_dev *kni;
	u32 index;

	if (dev->rtnl_link_ops != &kni_link_ops)
		return -ENODEV;
	kni = netdev_priv(dev);
	if (!kni_may_attach(kni))
		return -EPERM;
	if (at->queue >= kni->num_queues)
		return -EINVAL;
	index = array_index_nospec(at->queue, kni->num_queues);
	if (rcu_access_pointer(kni->queues[index].file))
		return -EBUSY;
	/* The dataplane must handle the MTU the device has now. */
	if (at->max_mtu && at->max_mtu < READ_ONCE(dev->mtu))
		return -ERANGE;
	*qp = &kni->queues[index];
	return 0;
}

/*
 * Everything that can refuse an attach, before any memory is committed:
 * the device, the right to attach, the queue, the MTU, then the charge.
 * On success the region is charged and @at holds its layout.
 */
static int kni_attach_prepare(struct kni_file *kf, struct net *net,
			      struct kni_attach *at)
{
	netdevice_tracker tracker;
	struct net_device *dev;
	struct kni_queue *q;
	struct kni_dev *kni;
	int err;

	dev = netdev_get_by_index(net, at->ifindex, &tracker, GFP_KERNEL);
	if (!dev)
		return -ENODEV;
	err = kni_attach_check(dev, at, &q);
	if (!err) {
		kni = netdev_priv(dev);
		err = kni_region_layout(at, kni->ring_size, kni->frame_size);
	}
	netdev_put(dev, &tracker);
	if (err)
		return err;
	return kni_region_charge(kf, at->mmap_size);
}

static int kni_attach(struct kni_file *kf, struct kni_attach *at)
{
	struct net *net = current->nsproxy->net_ns;
	struct net_device *dev;
	struct kni_queue *q;
	struct kni_dev *kni;
	int err;

	if (kf->region.addr)
		return -EBUSY;

	err = kni_attach_prepare(kf, net, at);
	if (err)
		return err;
	/* The region can be large: clear it before taking RTNL. */
	err = kni_region_alloc(kf, at);
	if (err) {
		kni_region_uncharge(kf);
		return err;
	}

	rtnl_lock();
	dev = __dev_get_by_index(net, at->ifindex);
	err = dev ? kni_attach_check(dev, at, &q) : -ENODEV;
	if (err)
		goto unlock;
	kni = netdev_priv(dev);
	/* Deleted and created again meanwhile, with other sizes. */
	if (kni->ring_size != at->ring_size ||
	    kni->frame_size != at->frame_size) {
		err = -EAGAIN;
		goto unlock;
	}

	kf->max_mtu = at->max_mtu;
	kf->fixed_mac = at->flags & KNI_ATTACH_F_FIXED_MAC;
	kf->offloads = at->offloads;
	kni_event_attach(kf, dev);
	/* For mmap() and poll(), which do not take the lock. */
	smp_store_release(&kf->ready, true);
	/*
	 * Packets wait in the qdisc until the dataplane offers frames:
	 * stopped before the stack can find the file, none finds too few.
	 */
	if (netif_running(dev))
		kni_tx_start(q, kf);
	rcu_assign_pointer(kf->queue, q);
	rcu_assign_pointer(q->file, kf);
	kni_update_limits(kni);
unlock:
	rtnl_unlock();
	if (err) {
		/* Never published: nobody else saw the region. */
		vfree(kf->region.addr);
		memset(&kf->region, 0, sizeof(kf->region));
		kni_region_uncharge(kf);
	}
	return err;
}

/**
 * kni_queue_detach() - take a queue away from its dataplane
 * @q: the queue
 * @dead: the device is going away; the file reports it
 *
 * Called under RTNL when the file is released or the device unregisters.
 * NAPI, the transmit path and a kick through the file may still see the
 * file until an RCU grace period passes: the file is freed after one (see
 * kni_chr_release()), the device after the one the core waits for when it
 * unregisters. The limits the file declared no longer apply, and the
 * carrier goes off when it was the device's last file.
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

	/* A new field makes a new size: KNI_ATTACH_SIZE_VER1, and so on. */
	BUILD_BUG_ON(sizeof(at) != KNI_ATTACH_SIZE_VER0);
	if (usize < KNI_ATTACH_SIZE_VER0)
		return -EINVAL;
	err = copy_struct_from_user(&at, sizeof(at), uarg, usize);
	if (err)
		return err;
	if (at.flags & ~KNI_ATTACH_F_FIXED_MAC)
		return -EINVAL;
	/* Only what this kernel knows is taken on; the caller reads it back. */
	at.offloads &= KNI_OFFLOAD_KNOWN;
	/* Segments are checksummed, and a segmented packet spans frames. */
	if (~at.offloads & (KNI_OFFLOAD_CSUM | KNI_OFFLOAD_CHAIN))
		at.offloads &= ~KNI_OFFLOAD_GSO;
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

/*
 * Why a file has no queue: only its device going away detaches a file that
 * attached.
 */
static long kni_file_unattached(struct kni_file *kf)
{
	/* Pairs with the store-release in kni_attach(). */
	return smp_load_acquire(&kf->ready) ? -ENODEV : -ENOTCONN;
}

static long kni_ioctl_kick(struct kni_file *kf)
{
	struct kni_queue *q;
	long ret = 0;

	/* The device frees its queues a grace period after detaching. */
	rcu_read_lock();
	q = rcu_dereference(kf->queue);
	if (q)
		kni_napi_kick(q);
	else
		ret = kni_file_unattached(kf);
	rcu_read_unlock();
	return ret;
}

/* The carrier has one owner, RTNL, whichever path changes it. */
static long kni_ioctl_carrier(struct kni_file *kf, bool on)
{
	struct kni_queue *q;
	long ret = 0;

	if (rtnl_lock_killable())
		return -EINTR;
	q = rtnl_dereference(kf->queue);
	if (q)
		kni_set_carrier(q->kni, on);
	else
		ret = kni_file_unattached(kf);
	rtnl_unlock();
	return ret;
}

static long kni_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kni_file *kf = file->private_data;

	if (cmd == KNI_IOC_KICK)
		return arg ? -EINVAL : kni_ioctl_kick(kf);
	if (cmd == KNI_IOC_CARRIER)
		return arg > 1 ? -EINVAL : kni_ioctl_carrier(kf, arg);
	if (cmd == KNI_IOC_WAKEUPS) {
		if (arg > 1)
			return -EINVAL;
		WRITE_ONCE(kf->busy, !arg);
		/* Have pollers look again at what arrived while they were off. */
		if (arg)
			wake_up_interruptible_poll(&kf->wait, EPOLLIN | EPOLLRDNORM |
						   EPOLLOUT | EPOLLWRNORM |
						   EPOLLPRI);
		return 0;
	}
	/* Any size of the attach structure; the handler checks it. */
	if (_IOC_TYPE(cmd) == KNI_IOC_MAGIC &&
	    _IOC_NR(cmd) == _IOC_NR(KNI_IOC_ATTACH) &&
	    _IOC_DIR(cmd) == (_IOC_READ | _IOC_WRITE))
		return kni_ioctl_attach(kf, cmd, (void __user *)arg);
	return -ENOTTY;
}

/*
 * Pages of the region are mapped as they are first touched: mmap() of a
 * large region costs nothing under mmap_lock, and a page is only ever
 * looked up once per mapping.
 */
static vm_fault_t kni_vm_fault(struct vm_fault *vmf)
{
	struct kni_file *kf = vmf->vma->vm_file->private_data;
	const struct kni_region *r = &kf->region;
	struct page *page;

	if (vmf->pgoff >= r->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page(r->addr + (vmf->pgoff << PAGE_SHIFT));
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct kni_vm_ops = {
	.fault		= kni_vm_fault,
};

static int kni_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kni_file *kf = file->private_data;
	unsigned long size = vma->vm_end - vma->vm_start;

	/* A private copy of the rings would never see the kernel's side. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
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
	vma->vm_ops = &kni_vm_ops;
	return 0;
}

static __poll_t kni_poll(struct file *file, poll_table *wait)
{
	struct kni_file *kf = file->private_data;
	const struct kni_region *r = &kf->region;
	__poll_t want = poll_requested_events(wait);
	__poll_t mask = 0;

	poll_wait(file, &kf->wait, wait);
	/* Arm the wakeups this poller waits for, then look at the rings. */
	if ((want & EPOLLIN) && !test_bit(KNI_ARMED_IN, &kf->armed))
		set_bit(KNI_ARMED_IN, &kf->armed);
	if ((want & EPOLLOUT) && !test_bit(KNI_ARMED_OUT, &kf->armed))
		set_bit(KNI_ARMED_OUT, &kf->armed);
	if ((want & EPOLLPRI) && !test_bit(KNI_ARMED_PRI, &kf->armed))
		set_bit(KNI_ARMED_PRI, &kf->armed);
	/*
	 * Pairs with the barrier in kni_file_wake() between publishing and
	 * looking at the bits: either the loads below see what was
	 * published, or that wakeup sees the bit (and this waiter, queued
	 * above).
	 */
	smp_mb();

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

	/*
	 * The dataplane writes some rings and reads others through one
	 * mapping, which mmap() makes writable only for a file open for
	 * writing: refuse a file that could attach, and be charged for its
	 * region, but never use it.
	 */
	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE))
		return -EINVAL;
	/*
	 * The kernel reaches the region through its vmalloc mapping and the
	 * dataplane through its own, with no cache maintenance between the
	 * two: a data cache that aliases would let either side read stale
	 * rings.
	 */
	if (cpu_dcache_is_aliasing())
		return -EOPNOTSUPP;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL_ACCOUNT);
	if (!kf)
		return -ENOMEM;
	mutex_init(&kf->lock);
	init_waitqueue_head(&kf->wait);
	file->private_data = kf;
	return nonseekable_open(inode, file);
}

static void kni_file_free(struct rcu_head *head)
{
	struct kni_file *kf = container_of(head, struct kni_file, rcu);

	vfree(kf->region.addr);
	kfree(kf);
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
	/* No mapping is left: the user has its locked memory back now. */
	kni_region_uncharge(kf);
	mutex_destroy(&kf->lock);
	/* NAPI and the transmit path may still look at it under RCU. */
	call_rcu(&kf->rcu, kni_file_free);
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
	/* Files released last still have kni_file_free() queued. */
	rcu_barrier();
}
