// SPDX-License-Identifier: GPL-2.0
/* A tc classifier that drops a random share of the frames it sees: a lossy
 * path for the path monitor's tests and bench (this kernel has cls_bpf but
 * no netem or gact). PERMILLE, the frames dropped per thousand, is fixed per
 * build (clang -DPERMILLE=50 ...): lab/randomdrop.py builds one per loss. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#ifndef PERMILLE
#define PERMILLE 0
#endif

SEC("tc")
int random_drop(struct __sk_buff *skb)
{
	return bpf_get_prandom_u32() % 1000 < PERMILLE ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
