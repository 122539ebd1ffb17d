/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kni: the kernel's side of the rings shared with userspace.
 *
 * Ordering (the model is net/xdp/xsk_queue.h). For every ring, the
 * producer writes descriptors and then its index:
 *
 *   producer                          consumer
 *   write desc[prod & mask]           prod = load-acquire(producer)   (B)
 *   store-release(producer, prod + 1) (A)
 *                                     read desc[cons & mask]
 *                                     store-release(consumer, cons + 1) (C)
 *   cons = load-acquire(consumer) (D)
 *   reuse the slot / the frame
 *
 * (A) pairs with (B): a consumer that sees the new index sees the slot.
 * (C) pairs with (D): a producer that sees the slot released does not
 * overwrite it while the consumer still reads it, and the frame it names
 * is no longer in use.
 *
 * Userspace can write anything at any time: the kernel reads each
 * descriptor once into a local copy and validates only the copy, keeps
 * its own index privately, and treats the other side's index as a claim to
 * be checked against the ring size.
 */
#ifndef _KNI_RING_H
#define _KNI_RING_H

#include <linux/nospec.h>
#include <linux/overflow.h>

#include "kni.h"

/* Flags userspace may set on an rx descriptor; NEXT only with chains. */
#define KNI_DESC_F_RX_KNOWN	KNI_DESC_F_CSUM_VALID
#define KNI_DESC_F_RX_CHAIN	(KNI_DESC_F_CSUM_VALID | KNI_DESC_F_NEXT)

/*
 * An offset into the frame area that came from userspace and was checked
 * to lie below @area_size, kept below it under speculation too: a
 * mispredicted check must not let a load reach past the area.
 */
static inline u64 kni_area_nospec(u64 off, u64 area_size)
{
	/* The area is vmalloc'ed: its size fits an unsigned long. */
	return array_index_nospec((unsigned long)off,
				  (unsigned long)area_size);
}

/* Where a checked offset of the frame area lies in the kernel's mapping. */
static inline u8 *kni_frame_ptr(const struct kni_region *r, u64 off)
{
	return r->frames + kni_area_nospec(off, r->area_size);
}

/* The offset of the first byte of the frame a descriptor points into. */
static inline u64 kni_frame_start(const struct kni_desc *d, u32 frame_size)
{
	return d->addr & ~((u64)frame_size - 1);
}

/*
 * Does the descriptor's data lie inside one frame of the area, at least
 * @skip bytes into it, and is it at least @min_len long?
 */
static inline int kni_desc_span(const struct kni_desc *d, u64 area_size,
				u32 frame_size, u32 skip, u32 min_len)
{
	u64 frame, end;

	if (d->addr >= area_size)
		return -EINVAL;
	if (d->len < min_len)
		return -EINVAL;
	frame = kni_frame_start(d, frame_size);
	if (d->addr - frame < skip)
		return -EINVAL;
	if (check_add_overflow(d->addr, (u64)d->len, &end) ||
	    end > frame + frame_size)
		return -EINVAL;
	return 0;
}

/**
 * kni_desc_check() - validate a descriptor read from the rx ring
 * @d: the kernel's copy of the descriptor
 * @area_size: bytes in the frame area
 * @frame_size: bytes per frame, a power of two
 * @meta_size: bytes of metadata at the start of every frame
 * @known: the flags the descriptor may carry
 *
 * Checks a packet's only or first descriptor.
 *
 * Return: 0 if the packet lies inside one frame of the area, after its
 * metadata, is at least an Ethernet header long and carries only flags of
 * @known; -EINVAL otherwise.
 */
static inline int kni_desc_check(const struct kni_desc *d, u64 area_size,
				 u32 frame_size, u32 meta_size, u32 known)
{
	if (d->flags & ~known)
		return -EINVAL;
	return kni_desc_span(d, area_size, frame_size, meta_size, ETH_HLEN);
}

/**
 * kni_desc_check_part() - validate a later descriptor of a chain on rx
 * @d: the kernel's copy of the descriptor
 * @area_size: bytes in the frame area
 * @frame_size: bytes per frame, a power of two
 *
 * Return: 0 if the part lies inside one frame of the area, is not empty
 * and carries only the flags of a chain; -EINVAL otherwise.
 */
static inline int kni_desc_check_part(const struct kni_desc *d,
				      u64 area_size, u32 frame_size)
{
	if (d->flags & ~KNI_DESC_F_RX_CHAIN)
		return -EINVAL;
	return kni_desc_span(d, area_size, frame_size, 0, 1);
}

/**
 * kni_frame_of() - the frame an alloc descriptor names
 * @addr: the descriptor's address
 * @area_size: bytes in the frame area
 * @frame_size: bytes per frame, a power of two
 * @frame: set to the offset of the frame's first byte, or to 0 when
 *	@addr is outside the area (under speculation too)
 *
 * Return: 0, or -EINVAL if @addr is outside the area.
 */
static inline int kni_frame_of(u64 addr, u64 area_size, u32 frame_size,
			       u64 *frame)
{
	*frame = kni_area_nospec(addr, area_size) & ~((u64)frame_size - 1);
	return addr < area_size ? 0 : -EINVAL;
}

/**
 * kni_ring_entries() - how many entries a producer index claims
 * @prod: the producer index read from userspace
 * @cons: the kernel's consumer index
 * @size: ring size
 *
 * Return: the entries between @cons and @prod, or -ERANGE if @prod is more
 * than @size ahead of @cons (or behind it), which no valid producer does.
 */
static inline s64 kni_ring_entries(u32 prod, u32 cons, u32 size)
{
	u32 n = prod - cons;

	if (n > size)
		return -ERANGE;
	return n;
}

/**
 * kni_ring_room() - how many slots a producer may fill
 * @prod: the kernel's producer index
 * @cons: the consumer index read from userspace
 * @size: ring size
 *
 * Return: free slots; 0 also when @cons claims more than was produced.
 */
static inline u32 kni_ring_room(u32 prod, u32 cons, u32 size)
{
	u32 used = prod - cons;

	return used > size ? 0 : size - used;
}

/*
 * Consumer side: entries available, refreshing the producer when fewer
 * than @want are known. A producer index out of range is an error of
 * userspace's: the kernel skips to it, so the ring works again from there,
 * and returns -ERANGE for the caller to count.
 */
static inline s64 kni_ring_cons_want(struct kni_ring *r, u32 want)
{
	s64 n = kni_ring_entries(r->prod, r->cons, r->mask + 1);

	if (n >= want)
		return n;
	/* (B): pairs with the userspace producer's store-release (A). */
	r->prod = smp_load_acquire(r->producer);
	n = kni_ring_entries(r->prod, r->cons, r->mask + 1);
	if (n < 0)
		r->cons = r->prod;
	return n;
}

static inline s64 kni_ring_cons_avail(struct kni_ring *r)
{
	return kni_ring_cons_want(r, 1);
}

/* Read the descriptor @i entries past the consumer index once, into @d. */
static inline void kni_ring_peek(const struct kni_ring *r, u32 i,
				 struct kni_desc *d)
{
	const struct kni_desc *slot = &r->desc[(r->cons + i) & r->mask];

	d->addr = READ_ONCE(slot->addr);
	d->len = READ_ONCE(slot->len);
	d->flags = READ_ONCE(slot->flags);
}

/* Read the descriptor at the consumer index once, into @d. */
static inline void kni_ring_read(const struct kni_ring *r,
				 struct kni_desc *d)
{
	kni_ring_peek(r, 0, d);
}

static inline void kni_ring_cons_release(struct kni_ring *r)
{
	/* (C): pairs with the userspace producer's load-acquire (D). */
	smp_store_release(r->consumer, r->cons);
}

/*
 * Producer side: free slots, refreshing the consumer when fewer than @want
 * are known.
 */
static inline u32 kni_ring_prod_want(struct kni_ring *r, u32 want)
{
	u32 n = kni_ring_room(r->prod, r->cons, r->mask + 1);

	if (n >= want)
		return n;
	/* (D): pairs with the userspace consumer's store-release (C). */
	r->cons = smp_load_acquire(r->consumer);
	return kni_ring_room(r->prod, r->cons, r->mask + 1);
}

static inline u32 kni_ring_prod_room(struct kni_ring *r)
{
	return kni_ring_prod_want(r, 1);
}

static inline void kni_ring_write(struct kni_ring *r, u64 addr, u32 len,
				  u32 flags)
{
	struct kni_desc *slot = &r->desc[r->prod & r->mask];

	WRITE_ONCE(slot->addr, addr);
	WRITE_ONCE(slot->len, len);
	WRITE_ONCE(slot->flags, flags);
	r->prod++;
}

static inline void kni_ring_prod_release(struct kni_ring *r)
{
	/* (A): pairs with the userspace consumer's load-acquire (B). */
	smp_store_release(r->producer, r->prod);
}

#endif /* _KNI_RING_H */
