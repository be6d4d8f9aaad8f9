/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's TCMU UAPI.  linux/target_core_user.h pulls in linux/uio.h,
 * whose struct iovec (unguarded) clashes with glibc's: glibc's, identical
 * in layout, stands in for it.
 */
#ifndef SNAPCOWD_TCMU_H
#define SNAPCOWD_TCMU_H

#include <sys/uio.h>
#ifndef __LINUX_UIO_H
#define __LINUX_UIO_H
#endif
#include <linux/target_core_user.h>

/* An entry's len_op word: length (8-byte multiple) and opcode. */
static inline __u32 tcmu_len_op(__u32 len, enum tcmu_opcode op)
{
	return (len & ~(__u32)TCMU_OP_MASK) | (op & TCMU_OP_MASK);
}

#endif /* SNAPCOWD_TCMU_H */
