// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * softbond carrier rescue: one tc (cls_bpf, direct action) program on the
 * clsact egress of every member.
 *
 *   sb_rescue   a frame leaving by a member whose carrier is off is sent
 *               by the member the control plane named for it instead
 *               (sb_rescue_to), without waiting for userspace.
 *
 * Why: the kernel tells userspace of a carrier loss from linkwatch's
 * kworker, which needs RTNL; that message comes 3-75 ms after
 * netif_carrier_off() on two busy cores (bench/RESULTS.md, "Where the
 * tail comes from"), and every frame the bond sends meanwhile goes to a
 * member that drops it. netif_carrier_off() sets __LINK_STATE_NOCARRIER
 * in dev->state synchronously, and the egress hook runs before the qdisc
 * (which linkwatch deactivates later), so this program sees the loss at
 * the first frame after it.
 *
 * The control plane fills sb_rescue_to from the same decisions it
 * publishes (ebpf/rescue.py): for active-backup the member it would make
 * active, for the balancing modes another member with carrier. It still
 * does the whole failover when the netlink message comes; this only
 * covers the gap.
 *
 * Loops: a rescued frame carries RESCUE_MARK in cb[0] (the qdisc
 * control block, which nothing between two egress hooks touches); a
 * member without carrier that gets a marked frame drops it instead of
 * redirecting it again, so a frame is redirected at most once. (cb[0] may
 * hold anything the stack left there: only a frame that already matched
 * the 32-bit mark and found no carrier would be dropped for it.) A member
 * with carrier sends whatever comes, mark or not.
 *
 * Needs bpf_cast_to_kern_ctx (kernel >= 6.2) and the kernel's BTF
 * (CONFIG_DEBUG_INFO_BTF, for the two CO-RE field reads); without them
 * this object does not load and the bond runs without the rescue.
 * Built apart from bond.bpf.c so that it never stops the bond's own
 * programs from loading.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define LINK_STATE_NOCARRIER 2          /* enum netdev_state_t: __LINK_STATE_NOCARRIER */
#define RESCUE_MARK 0x5b5e5c0eU         /* cb[0] of a frame already redirected once */
#define ETH_P_SLOW 0x8809               /* LACPDUs and markers belong to their member */

struct net_device {
	unsigned long state;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct net_device *dev;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* member ifindex -> the ifindex its frames go to while it has no carrier */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} sb_rescue_to SEC(".maps");

/* what happened to frames of a member without carrier (per CPU) */
struct sb_rescue_count {
	__u64 rescued;                  /* redirected to the member's rescue */
	__u64 dropped;                  /* rescued to a member without carrier either */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct sb_rescue_count);
} sb_rescue_counts SEC(".maps");

static __always_inline void count(__u32 ifindex, int rescued)
{
	struct sb_rescue_count *c = bpf_map_lookup_elem(&sb_rescue_counts, &ifindex);

	if (!c)
		return;
	if (rescued)
		c->rescued++;
	else
		c->dropped++;
}

/* LACPDUs and markers speak for their member: never sent by another. Read
 * from the frame, as the daemon sends them on a socket of protocol 0
 * (skb->protocol says nothing). */
static __always_inline int is_slow_protocol(struct __sk_buff *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u8 *type = data + 12;

	if ((void *)(type + 2) > data_end)
		return 0;
	return type[0] == (ETH_P_SLOW >> 8) && type[1] == (ETH_P_SLOW & 0xff);
}

SEC("tc")
int sb_rescue(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	__u32 ifindex, *to;
	int marked;

	if (!(skb->dev->state & (1UL << LINK_STATE_NOCARRIER)))
		return TC_ACT_OK;       /* every frame but those few: two loads and a test */
	/* No carrier: the frame is lost unless it goes elsewhere. */
	ifindex = ctx->ifindex;
	marked = ctx->cb[0] == RESCUE_MARK;
	if (marked) {
		count(ifindex, 0);
		return TC_ACT_SHOT;
	}
	to = bpf_map_lookup_elem(&sb_rescue_to, &ifindex);
	if (!to || *to == ifindex || is_slow_protocol(ctx))
		return TC_ACT_OK;       /* as without the rescue: the member drops it */
	ctx->cb[0] = RESCUE_MARK;
	count(ifindex, 1);
	return bpf_redirect(*to, 0);
}

char _license[] SEC("license") = "GPL";
