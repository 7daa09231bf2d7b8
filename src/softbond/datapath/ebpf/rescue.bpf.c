// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * softbond carrier rescue: one tc (cls_bpf, direct action) program on the
 * clsact egress of every member, and one that bond.bpf.c's sb_ingress
 * tail-calls.
 *
 *   sb_rescue   a frame leaving by a member whose carrier is off is sent
 *               by the member the control plane named for it instead
 *               (sb_rescue_to), without waiting for userspace.
 *   sb_rescue_in  a frame a member's receive policy drops (a backup's) is
 *               delivered while the member it stands in for (sb_stand_in:
 *               the one whose sb_rescue_to it is) has no carrier: the
 *               switch floods the far side's frames to the backup the
 *               moment the active's port goes, long before the control
 *               plane fails over.
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
 * The receive side reads the carrier of another device than the frame's:
 * from the receiving member's net_device it walks its namespace's
 * dev_index_head bucket to the stood-in member (bpf_probe_read_kernel:
 * tc runs under RCU, which keeps the list alive) and reads its dev->state.
 * It answers bond.bpf.c through cb[0] (RESCUE_IN_MARK: deliver) and a tail
 * call back into sb_rx_rescue[RESCUE_IN_VERDICT], bond.bpf.c's
 * sb_rescued_in, which counts the frame as sb_ingress would have and
 * delivers or drops it: sb_rx_rescue is bond.bpf.c's map (ebpf/rescue.py
 * loads this object reusing it).
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
#include <bpf/bpf_core_read.h>

#define LINK_STATE_NOCARRIER 2          /* enum netdev_state_t: __LINK_STATE_NOCARRIER */
#define RESCUE_MARK 0x5b5e5c0eU         /* cb[0] of a frame already redirected once */
#define ETH_P_SLOW 0x8809               /* LACPDUs and markers belong to their member */
#define NETDEV_HASHENTRIES 256          /* include/linux/netdevice.h: 1 << NETDEV_HASHBITS */
#define INDEX_CHAIN_MAX 16              /* devices walked in one dev_index_head bucket */
/* bond.bpf.c's sb_rx_rescue slots and mark (abi.py RESCUE_IN_*) */
#define RESCUE_IN_VERDICT 1
#define RESCUE_IN_MARK 0x5b5e5c0fU

struct hlist_node {
	struct hlist_node *next;
} __attribute__((preserve_access_index));

struct hlist_head {
	struct hlist_node *first;
} __attribute__((preserve_access_index));

struct net {
	struct hlist_head *dev_index_head;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	unsigned long state;
	possible_net_t nd_net;
	struct hlist_node index_hlist;
	int ifindex;
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

/* receiving member ifindex -> the member it stands in for (whose
 * sb_rescue_to it is and whose frames its policy drops) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} sb_stand_in SEC(".maps");

/* bond.bpf.c's, whose definition the loader's reuse takes over: this
 * one only needs to reach the slot it calls */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, RESCUE_IN_VERDICT + 1);
} sb_rx_rescue SEC(".maps");

/* what happened to frames of a member without carrier (per CPU) */
struct sb_rescue_count {
	__u64 rescued;                  /* redirected to the member's rescue */
	__u64 dropped;                  /* rescued to a member without carrier either */
	__u64 rescued_in;               /* received while standing in, delivered */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct sb_rescue_count);
} sb_rescue_counts SEC(".maps");

enum { COUNT_DROPPED, COUNT_RESCUED, COUNT_RESCUED_IN };

static __always_inline void count(__u32 ifindex, int what)
{
	struct sb_rescue_count *c = bpf_map_lookup_elem(&sb_rescue_counts, &ifindex);

	if (!c)
		return;
	if (what == COUNT_RESCUED)
		c->rescued++;
	else if (what == COUNT_DROPPED)
		c->dropped++;
	else
		c->rescued_in++;
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
		count(ifindex, COUNT_DROPPED);
		return TC_ACT_SHOT;
	}
	to = bpf_map_lookup_elem(&sb_rescue_to, &ifindex);
	if (!to || *to == ifindex || is_slow_protocol(ctx))
		return TC_ACT_OK;       /* as without the rescue: the member drops it */
	ctx->cb[0] = RESCUE_MARK;
	count(ifindex, COUNT_RESCUED);
	return bpf_redirect(*to, 0);
}

/* Whether the device `ifindex` of `dev`'s namespace has lost its carrier;
 * 0 when it is not found (gone, or past INDEX_CHAIN_MAX in its bucket). */
static __always_inline int lost_carrier(struct net_device *dev, __u32 ifindex)
{
	struct net *net = BPF_CORE_READ(dev, nd_net.net);
	struct hlist_head *heads = BPF_CORE_READ(net, dev_index_head);
	struct hlist_node *node = BPF_CORE_READ(heads + (ifindex & (NETDEV_HASHENTRIES - 1)), first);
	unsigned long offset = bpf_core_field_offset(struct net_device, index_hlist);
	struct net_device *other;
	int i;

	for (i = 0; i < INDEX_CHAIN_MAX && node; i++) {
		other = (void *)node - offset;
		if (BPF_CORE_READ(other, ifindex) == (int)ifindex)
			return !!(BPF_CORE_READ(other, state) & (1UL << LINK_STATE_NOCARRIER));
		node = BPF_CORE_READ(node, next);
	}
	return 0;
}

SEC("tc")
int sb_rescue_in(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	__u32 ifindex = ctx->ifindex, *lost;

	ctx->cb[0] = 0;
	lost = bpf_map_lookup_elem(&sb_stand_in, &ifindex);
	if (lost && lost_carrier(skb->dev, *lost)) {
		ctx->cb[0] = RESCUE_IN_MARK;
		count(ifindex, COUNT_RESCUED_IN);
	}
	bpf_tail_call(ctx, &sb_rx_rescue, RESCUE_IN_VERDICT);
	return TC_ACT_SHOT;         /* no verdict program: dropped, as without the rescue */
}

char _license[] SEC("license") = "GPL";
