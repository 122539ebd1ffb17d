// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the checks applied to what userspace writes in the rings.
 */

#include <kunit/test.h>
#include <linux/limits.h>

#include "ring.h"

#define AREA	(16 * 2048ULL)
#define FRAME	2048U

#define META	10U

static int check_meta(u64 addr, u32 len, u32 flags, u32 meta_size)
{
	struct kni_desc d = { .addr = addr, .len = len, .flags = flags };

	return kni_desc_check(&d, AREA, FRAME, meta_size, KNI_DESC_F_RX_KNOWN);
}

static int check_first(u64 addr, u32 len, u32 flags)
{
	struct kni_desc d = { .addr = addr, .len = len, .flags = flags };

	return kni_desc_check(&d, AREA, FRAME, META, KNI_DESC_F_RX_CHAIN);
}

static int check_part(u64 addr, u32 len, u32 flags)
{
	struct kni_desc d = { .addr = addr, .len = len, .flags = flags };

	return kni_desc_check_part(&d, AREA, FRAME);
}

static int check(u64 addr, u32 len, u32 flags)
{
	return check_meta(addr, len, flags, 0);
}

static void kni_desc_check_valid(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check(0, ETH_HLEN, 0), 0);
	KUNIT_EXPECT_EQ(test, check(0, FRAME, 0), 0);
	KUNIT_EXPECT_EQ(test, check(FRAME + 100, FRAME - 100, 0), 0);
	KUNIT_EXPECT_EQ(test, check(AREA - ETH_HLEN, ETH_HLEN, 0), 0);
	KUNIT_EXPECT_EQ(test, check(5 * FRAME, 60, KNI_DESC_F_CSUM_VALID), 0);
}

static void kni_desc_check_length(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check(0, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(0, ETH_HLEN - 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(0, FRAME + 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(FRAME + 1, FRAME, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(0, U32_MAX, 0), -EINVAL);
	/* Crossing into the next frame, even inside the area. */
	KUNIT_EXPECT_EQ(test, check(FRAME - 10, 20, 0), -EINVAL);
}

static void kni_desc_check_address(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check(AREA, ETH_HLEN, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(AREA + FRAME, 64, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(U64_MAX, 64, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(U64_MAX - 10, 64, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(AREA - 1, ETH_HLEN, 0), -EINVAL);
}

static void kni_desc_check_flags(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check(0, 64, KNI_DESC_F_NEXT), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(0, 64, 1U << 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(0, 64, KNI_DESC_F_DROPPED), -EINVAL);
	KUNIT_EXPECT_EQ(test, check(0, 64, U32_MAX), -EINVAL);
}

/* With metadata, a packet starts after it, in every frame. */
static void kni_desc_check_meta(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check_meta(META, ETH_HLEN, 0, META), 0);
	KUNIT_EXPECT_EQ(test, check_meta(FRAME + META, FRAME - META, 0, META),
			0);
	KUNIT_EXPECT_EQ(test, check_meta(AREA - FRAME + 256, 64, 0, META), 0);
	KUNIT_EXPECT_EQ(test, check_meta(0, 64, 0, META), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_meta(META - 1, 64, 0, META), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_meta(3 * FRAME + 2, 64, 0, META), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_meta(FRAME + META, FRAME, 0, META), -EINVAL);
}

/*
 * With chains, the first part is checked as a packet but may carry NEXT;
 * a later one may start anywhere in its frame and be a single byte.
 */
static void kni_desc_check_chain(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check_first(META, ETH_HLEN, KNI_DESC_F_NEXT), 0);
	KUNIT_EXPECT_EQ(test, check_first(META, FRAME - META,
					  KNI_DESC_F_NEXT |
					  KNI_DESC_F_CSUM_VALID), 0);
	KUNIT_EXPECT_EQ(test, check_first(0, 64, KNI_DESC_F_NEXT), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_first(META, ETH_HLEN - 1, KNI_DESC_F_NEXT),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, check_first(META, 64, 1U << 2), -EINVAL);

	KUNIT_EXPECT_EQ(test, check_part(0, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, check_part(FRAME, FRAME, KNI_DESC_F_NEXT), 0);
	KUNIT_EXPECT_EQ(test, check_part(AREA - 1, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, check_part(0, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_part(FRAME - 1, 2, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_part(AREA, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_part(0, 64, KNI_DESC_F_DROPPED), -EINVAL);
	KUNIT_EXPECT_EQ(test, check_part(U64_MAX, 1, 0), -EINVAL);
}

static void kni_frame_of_test(struct kunit *test)
{
	u64 frame = 1;

	KUNIT_EXPECT_EQ(test, kni_frame_of(0, AREA, FRAME, &frame), 0);
	KUNIT_EXPECT_EQ(test, frame, 0);
	KUNIT_EXPECT_EQ(test, kni_frame_of(3 * FRAME + 7, AREA, FRAME, &frame),
			0);
	KUNIT_EXPECT_EQ(test, frame, 3 * FRAME);
	KUNIT_EXPECT_EQ(test, kni_frame_of(AREA - 1, AREA, FRAME, &frame), 0);
	KUNIT_EXPECT_EQ(test, frame, AREA - FRAME);
	KUNIT_EXPECT_EQ(test, kni_frame_of(AREA, AREA, FRAME, &frame), -EINVAL);
	KUNIT_EXPECT_EQ(test, frame, 0);
	frame = 1;
	KUNIT_EXPECT_EQ(test, kni_frame_of(U64_MAX, AREA, FRAME, &frame),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, frame, 0);
}

/* An offset in the area stays as it is; one outside becomes 0. */
static void kni_area_nospec_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, kni_area_nospec(0, AREA), 0);
	KUNIT_EXPECT_EQ(test, kni_area_nospec(FRAME + 5, AREA), FRAME + 5);
	KUNIT_EXPECT_EQ(test, kni_area_nospec(AREA - 1, AREA), AREA - 1);
	KUNIT_EXPECT_EQ(test, kni_area_nospec(AREA, AREA), 0);
	KUNIT_EXPECT_EQ(test, kni_area_nospec(U32_MAX, AREA), 0);
}

static void kni_ring_entries_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, kni_ring_entries(0, 0, 64), 0);
	KUNIT_EXPECT_EQ(test, kni_ring_entries(64, 0, 64), 64);
	KUNIT_EXPECT_EQ(test, kni_ring_entries(65, 0, 64), -ERANGE);
	/* Free-running indexes wrap. */
	KUNIT_EXPECT_EQ(test, kni_ring_entries(3, U32_MAX - 2, 64), 6);
	/* A producer behind the consumer. */
	KUNIT_EXPECT_EQ(test, kni_ring_entries(9, 10, 64), -ERANGE);
	KUNIT_EXPECT_EQ(test, kni_ring_entries(U32_MAX, 0, 64), -ERANGE);
}

static void kni_ring_room_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, kni_ring_room(0, 0, 64), 64);
	KUNIT_EXPECT_EQ(test, kni_ring_room(64, 0, 64), 0);
	KUNIT_EXPECT_EQ(test, kni_ring_room(70, 10, 64), 4);
	KUNIT_EXPECT_EQ(test, kni_ring_room(2, U32_MAX - 1, 64), 60);
	/* A consumer ahead of the producer, or too far behind. */
	KUNIT_EXPECT_EQ(test, kni_ring_room(10, 11, 64), 0);
	KUNIT_EXPECT_EQ(test, kni_ring_room(100, 0, 64), 0);
}

static struct kunit_case kni_ring_cases[] = {
	KUNIT_CASE(kni_desc_check_valid),
	KUNIT_CASE(kni_desc_check_length),
	KUNIT_CASE(kni_desc_check_address),
	KUNIT_CASE(kni_desc_check_flags),
	KUNIT_CASE(kni_desc_check_meta),
	KUNIT_CASE(kni_desc_check_chain),
	KUNIT_CASE(kni_frame_of_test),
	KUNIT_CASE(kni_area_nospec_test),
	KUNIT_CASE(kni_ring_entries_test),
	KUNIT_CASE(kni_ring_room_test),
	{}
};

static struct kunit_suite kni_ring_suite = {
	.name		= "kni_ring",
	.test_cases	= kni_ring_cases,
};

kunit_test_suite(kni_ring_suite);
