// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * softbond eBPF data path: tc (cls_bpf, direct action) programs.
 *
 *   sb_egress   clsact egress of the bond device (one end of a veth pair
 *               whose other end stays hidden in the same namespace): picks
 *               the member from the maps and redirects the frame to it.
 *   sb_ingress  clsact ingress of every member: applies the member's receive
 *               policy and redirects what is delivered to the bond device's
 *               ingress (BPF_F_INGRESS), as if the bond had received it.
 *   sb_rescued_in  where the carrier rescue's receive side hands back a frame
 *               sb_ingress's policy dropped (sb_rx_rescue below).
 *   sb_peer     clsact ingress of the hidden peer: drops everything (its
 *               own stack must stay silent); AF_PACKET taps still see the
 *               frames first, which is how alb's outgoing ARP reaches the
 *               Python rlb code.
 *   sb_hash     test probe, never attached: returns bond_xmit_hash() for
 *               the policy in skb->mark (BPF_PROG_TEST_RUN).
 *
 * The member choice is data: the control plane (ebpf/state.py) fills the
 * maps below. Everything a frame's choice depends on lives in one of two
 * banks (config + member array + bucket table); the control plane writes
 * the idle bank and then flips sb_bank, so a frame never sees half of an
 * update.
 *
 * The hash mirrors softbond/wire/xmit_hash.py (the kernel's
 * bond_xmit_hash) for layer2, layer2+3, layer3+4 and vlan+srcmac,
 * including the ICMP id/error rules and the "outermost tag is offloaded"
 * VLAN handling, and for encap2+3 / encap3+4, which dissect the frame as
 * the kernel's flow dissector does with the bonding key set
 * (__skb_flow_dissect(), mirroring _dissect()/_gre() in wire/xmit_hash.py):
 * through VLAN tags, PPPoE, GRE (incl. TEB and PPTP), IPIP/SIT/IPv6-in-IPv6,
 * IPv6 extension headers, BATMAN and HSR/PRP, stopping at fragments and
 * taking MPLS (also MPLS-in-IP), ARP/RARP, TIPC, FCoE and PTP as the
 * kernel does, at most 15 headers deep: one header per call of a global
 * (separately verified) function, sb_dissect_step(), in a bounded loop.
 * The result is the Python one bit for bit (tests/integration/
 * test_ebpf_hash.py compares them) and shares its documented limits:
 * neither uses skb->hash (encap3+4 with an L4 hash), a namespace BPF flow
 * dissector or TIPC's random keepalive key, and a second VLAN tag behind
 * the offloaded one is dissected as the XDP path would (see
 * wire/xmit_hash.py).
 *
 * Only UAPI headers: builds with clang -O2 -g -target bpf.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

/* The values Python shares with these programs are in datapath_abi.py;
 * tests/unit/test_datapath_abi.py compiles this file to hold them equal:
 * the defines below, the sb_* structs and the maps. */
#define SB_MAX_MEMBERS 32
#define SB_BUCKETS 256
/* sb_stats entries; slot 0 counts what belongs to no one and is never read */
#define SB_STAT_SLOTS 512
/* sb_rx_slots entries: sb_rx's entries by ifindex % SB_RX_SLOTS */
#define SB_RX_SLOTS 256

/* modes (config/registry.py BOND_MODE_*) */
#define MODE_RR 0
#define MODE_AB 1
#define MODE_XOR 2
#define MODE_BCAST 3
#define MODE_8023AD 4
#define MODE_TLB 5
#define MODE_ALB 6

/* xmit_hash_policy (wire/xmit_hash.py) */
#define POL_L2 0
#define POL_L34 1
#define POL_L23 2
#define POL_E23 3
#define POL_E34 4
#define POL_VLAN_SRCMAC 5

/* receive policies (datapath_abi.py RX_*) */
#define RX_DROP 0
#define RX_DELIVER 1
#define RX_NOT_OWN 2
#define RX_UNICAST_OWN_MAC 3

/* protocol classes (wire/protoclass.py, datapath_abi.py PC_*) */
#define PC_ARP 0
#define PC_LACP 1
#define PC_IPV4_TCP 2
#define PC_IPV4_UDP 3
#define PC_IPV4_ICMP 4
#define PC_IPV4_OTHER 5
#define PC_IPV6_TCP 6
#define PC_IPV6_UDP 7
#define PC_IPV6_ICMP 8
#define PC_IPV6_OTHER 9
#define PC_OTHER 10
#define SB_PROTO_CLASSES 11
#define SB_PROTO_RX 0
#define SB_PROTO_TX 1

/* sb_config.flags */
#define SB_F_DYNAMIC 1       /* tlb/alb: the bucket table is in use */
#define SB_F_ARP_SLOWPATH 2  /* alb: outgoing ARP goes to the hidden peer */
#define SB_F_FLOWLET 4       /* xmit_balance=flowlet: buckets move at a pause (flowlet_slot) */
#define SB_F_FLOWLET_QUEUES 8 /* flowlet: the program models the members' queues and places (flowlet_queued) */

struct sb_config {
	__u32 mode;
	__u32 policy;
	__u32 packets_per_slave;
	__u32 count;            /* usable members in this bank */
	__u32 active_ifindex;   /* 0: none */
	__s32 active_slot;      /* index of the active member in this bank, -1 */
	__u32 flags;
	__u32 bond_ifindex;
	__u8 bond_mac[6];
	__u16 bond_stat;        /* the bond's sb_stats slot (its tx_drops) */
	__u32 generation;
	__u32 active_stat;      /* the active member's sb_stats slot */
	__u32 flowlet_gap_us;   /* SB_F_FLOWLET: a bucket idle this long may move */
};

struct sb_member {
	__u32 ifindex;
	__u8 mac[6];
	__u16 stat;             /* its sb_stats slot */
	__u32 ps_per_byte;      /* SB_F_FLOWLET_QUEUES: its line rate, picoseconds a byte */
	__u32 queue_cap_us;     /* SB_F_FLOWLET_QUEUES: the longest its qdisc queues */
};

struct sb_rx {
	__u32 policy;
	__u32 flags;            /* control plane only (how to detach) */
	__u8 mac[6];
	__u16 stat;             /* the member's sb_stats slot */
};

/* An sb_rx entry where sb_ingress finds it without hashing: the slot
 * ifindex % SB_RX_SLOTS holds the entry of `ifindex` (0: of no one). It
 * starts as struct sb_rx does, so the program reads it as one. */
struct sb_rx_slot {
	__u32 policy;
	__u32 flags;
	__u8 mac[6];
	__u16 stat;
	__u32 ifindex;
};

struct sb_stats {
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 tx_drops;
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 rx_drops;
	/* wire segments of GSO super-frames beyond the first (gso_segs - 1):
	 * a virtual member NIC counts a super-frame once */
	__u64 tx_gso_extra;
	__u64 rx_gso_extra;
	/* per direction (SB_PROTO_RX, SB_PROTO_TX) and class (PC_*): packets,
	 * bytes as on the wire (datapath_abi.proto_index) */
	__u64 proto[44];
};
_Static_assert(__builtin_offsetof(struct sb_rx_slot, ifindex) == sizeof(struct sb_rx), "sb_rx_slot starts as sb_rx");
_Static_assert(sizeof(((struct sb_stats *)0)->proto) == 2 * SB_PROTO_CLASSES * 2 * 8, "sb_stats.proto");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sb_bank SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sb_config);
} sb_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SB_MAX_MEMBERS);
	__type(key, __u32);
	__type(value, struct sb_member);
} sb_members SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SB_BUCKETS);
	__type(key, __u32);
	__type(value, __s32);
} sb_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SB_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} sb_bucket_bytes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sb_rr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct sb_rx);
} sb_rx SEC(".maps");

/* sb_rx's entries again, in an array: a hash lookup was 28 ns of a 64-byte
 * frame's ~40 in sb_ingress (BPF_PROG_TEST_RUN). sb_rx stays the truth: a
 * member whose slot another member holds is found there (state.py set_rx
 * keeps the two equal). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SB_RX_SLOTS);
	__type(key, __u32);
	__type(value, struct sb_rx_slot);
} sb_rx_slots SEC(".maps");

/* The carrier rescue's receive side (rescue.bpf.c): slot RESCUE_IN_CHECK
 * holds its sb_rescue_in, which sb_ingress tail-calls for a frame a
 * member's policy drops; that program marks the frame in cb[0] when the
 * member the receiving one stands in for has lost its carrier, and
 * tail-calls slot RESCUE_IN_VERDICT, sb_rescued_in below, which delivers a
 * marked frame and drops any other. Why: the switch floods the far side's
 * frames to the backup as soon as the active's carrier goes, and the
 * backup would drop them until the control plane hears of the loss (3-75
 * ms later). Empty (no rescue object: a kernel without BTF or kfuncs) the
 * tail call fails and the frame is dropped as ever; this object itself
 * needs neither. */
#define RESCUE_IN_CHECK 0
#define RESCUE_IN_VERDICT 1
#define RESCUE_IN_MARK 0x5b5e5c0fU      /* cb[0] of a frame to deliver */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} sb_rx_rescue SEC(".maps");

/* Per member and the bond, by the slot the control plane gave it (in
 * sb_config, sb_members and sb_rx): an array lookup per frame, where one
 * keyed by ifindex (a hash map) cost 30-40 ns of a 64-byte frame's ~90. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SB_STAT_SLOTS);
	__type(key, __u32);
	__type(value, struct sb_stats);
} sb_stats SEC(".maps");

/* ------------------------------------------------------------------ hash */

static __always_inline __u32 be16(const __u8 *p)
{
	return ((__u32)p[0] << 8) | p[1];
}

/* The raw bytes read as a native u32 (the kernel memcpy()s __be32 into a u32). */
static __always_inline __u32 ne32(const __u8 *p)
{
	__u32 v;

	__builtin_memcpy(&v, p, 4);
	return v;
}

/* skb->data / skb->data_end read where they are used: clang would otherwise
 * keep &skb->data in a register across calls, and the verifier refuses a
 * context access through a moved pointer. */
#ifdef __bpf__
#define SB_CTX_U32(skb, field) ({ \
	__u64 _v; \
	asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(_v) : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, field))); \
	_v; })
#else   /* compiled for the host by tests/unit/test_datapath_abi.py */
#define SB_CTX_U32(skb, field) ((skb)->field)
#endif

/* bpf_skb_load_bytes() with the same result, from the linear data when the
 * bytes are all there: a direct read instead of a helper call and its
 * memcpy(), which were a fifth of a layer3+4 frame's time in sb_egress
 * (perf, BPF_PROG_TEST_RUN). `off` is bounded for the verifier's packet
 * arithmetic; beyond it (never in a header) the helper reads. */
#define SB_DIRECT_MAX 0x3FFF

static __always_inline long load_bytes(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	__u8 *data = (__u8 *)(long)SB_CTX_U32(skb, data), *end = (__u8 *)(long)SB_CTX_U32(skb, data_end);

	if (off <= SB_DIRECT_MAX && data + off + len <= end) {
		__builtin_memcpy(to, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

struct l2 {
	__u32 proto;   /* skb->protocol as the bond sees it */
	__u32 nhoff;   /* network header offset in the data */
	__u32 n;       /* frame length as the Python side would see it */
	__u32 tci;     /* offloaded (or outermost) VLAN tag */
	__u8 eth[14];
};

/* _l2(): the outermost 802.1Q/802.1AD tag counts as offloaded, whether it is
 * in skb->vlan_tci already or still in the data. Lengths are data lengths;
 * with an out-of-band tag every offset and the length are 4 less than in
 * the frame the Python code reads, which changes no comparison. */
static __always_inline int parse_l2(struct __sk_buff *skb, struct l2 *l)
{
	__u8 tag[4];

	l->n = skb->len;
	if (l->n < 14 || load_bytes(skb, 0, l->eth, 14))
		return -1;
	l->proto = be16(&l->eth[12]);
	l->nhoff = 14;
	l->tci = 0;
	if (skb->vlan_present) {
		l->tci = skb->vlan_tci;
	} else if ((l->proto == ETH_P_8021Q || l->proto == ETH_P_8021AD) && l->n >= 18) {
		if (load_bytes(skb, 14, tag, 4))
			return -1;
		l->tci = be16(tag);
		l->proto = be16(&tag[2]);
		l->nhoff = 18;
	}
	return 0;
}

/* __skb_flow_get_ports(): 0 when absent. */
static __always_inline __u32 get_ports(struct __sk_buff *skb, __u32 n, __u32 thoff, int ip_proto)
{
	__u8 p[4];
	__u32 off;

	switch (ip_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_DCCP:
	case IPPROTO_ESP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		off = thoff;
		break;
	case IPPROTO_AH:
		off = thoff + 4;
		break;
	default:
		return 0;
	}
	if (off + 4 > n || load_bytes(skb, off, p, 4))
		return 0;
	return ne32(p);
}

struct flow {
	__u32 saddr, daddr, ports, thoff;
	int ip_proto;
};

/* bond_flow_ip() */
static __always_inline int flow_ip(struct __sk_buff *skb, __u32 n, __u32 l2proto, __u32 nhoff,
				   int ip_proto, int l34, struct flow *f)
{
	__u8 h[40];

	if (l2proto == ETH_P_IP) {
		if (nhoff + 20 > n || load_bytes(skb, nhoff, h, 20))
			return -1;
		f->saddr = ne32(&h[12]);
		f->daddr = ne32(&h[16]);
		if (!(be16(&h[6]) & 0x3FFF))
			ip_proto = h[9];
		nhoff += (h[0] & 0x0F) << 2;
	} else if (l2proto == ETH_P_IPV6) {
		if (nhoff + 40 > n || load_bytes(skb, nhoff, h, 40))
			return -1;
		f->saddr = ne32(&h[8]) ^ ne32(&h[12]) ^ ne32(&h[16]) ^ ne32(&h[20]);
		f->daddr = ne32(&h[24]) ^ ne32(&h[28]) ^ ne32(&h[32]) ^ ne32(&h[36]);
		ip_proto = h[6];
		nhoff += 40;
	} else {
		return -1;
	}
	f->ports = (l34 && ip_proto >= 0) ? get_ports(skb, n, nhoff, ip_proto) : 0;
	f->thoff = nhoff;
	f->ip_proto = ip_proto;
	return 0;
}

static __always_inline int icmp_has_id(__u8 type)
{
	return type == 8 || type == 0 || type == 13 || type == 14 || type == 128 || type == 129;
}

/* bond_flow_dissect() for layer2+3/layer3+4; *icmp is the native u32 of
 * struct {u8 type; u8 code; u16 id} with id 0 meaning "no id". Returns -1
 * for the layer2 fallback. */
static __always_inline int bond_flow(struct __sk_buff *skb, struct l2 *l, int l34, struct flow *f,
				     __u32 *icmp, __u32 *icmp_id)
{
	struct flow g;
	__u8 ih[8];
	__u8 type;
	int err;

	*icmp = 0;
	*icmp_id = 0;
	if (flow_ip(skb, l->n, l->proto, l->nhoff, -1, l34, f))
		return -1;
	if (f->ip_proto != IPPROTO_ICMP && f->ip_proto != IPPROTO_ICMPV6)
		return 0;
	if (f->thoff + 8 > l->n || load_bytes(skb, f->thoff, ih, 8))
		return 0;
	type = ih[0];
	if (icmp_has_id(type)) {
		*icmp_id = be16(&ih[4]);
		if (!*icmp_id)
			*icmp_id = 1;
	}
	/* little endian: type | code << 8 | id << 16 (memcpy of the struct) */
	*icmp = (__u32)type | ((__u32)ih[1] << 8) | (*icmp_id << 16);
	if (f->ip_proto == IPPROTO_ICMP)
		err = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	else
		err = type >= 1 && type <= 4;
	if (!err)
		return 0;
	/* An ICMP error hashes on the packet it quotes. */
	if (flow_ip(skb, l->n, l->proto, f->thoff + 8, f->ip_proto, l34, &g))
		return -1;
	f->saddr = g.saddr;
	f->daddr = g.daddr;
	f->ports = g.ports;
	return 0;
}

static __always_inline __u32 fold(__u32 h, __u32 saddr, __u32 daddr)
{
	h ^= daddr ^ saddr;
	h ^= h >> 16;
	h ^= h >> 8;
	return h;
}

/* ------------------------------------------- encap2+3 / encap3+4 dissector */

/* __skb_flow_dissect() with the bonding key set, as _dissect() and _gre()
 * in wire/xmit_hash.py. It runs one header per step: a network-layer step
 * (d->proto at d->nhoff: "proto_again") or a transport step (d->ip_proto
 * at d->nhoff: "ip_proto_again"). Every step that goes on counts a header
 * and after DIS_MAX_HDRS the dissection stops as good, so at most
 * 2 * (15 + 1) steps run: an IPv4/IPv6 step, the only kind that counts
 * nothing, is always followed by a transport step, which counts or ends.
 *
 * The step is a global (non-static, non-inlined) function: the verifier
 * checks it once per program, for any contents of *d, instead of once per
 * header, path and call site, and the loop around it stays trivial.
 *
 * As in parse_l2(), offsets and n are data offsets: with an out-of-band
 * tag they are 4 less than the Python code's, which changes no comparison
 * (every bounds check is "offset + k > n"). */

#define DIS_MAX_HDRS 15         /* MAX_FLOW_DISSECT_HDRS */
#define DIS_STEPS (2 * (DIS_MAX_HDRS + 1) + 1)

#define DIS_RUN 0
#define DIS_GOOD 1
#define DIS_BAD 2               /* __skb_flow_dissect() false: layer2 fallback */

#define SB_IPPROTO_HOPOPTS 0
#define SB_IPPROTO_ROUTING 43
#define SB_IPPROTO_FRAGMENT 44
#define SB_IPPROTO_DSTOPTS 60
#define SB_IPPROTO_MPLS 137

#define SB_ETH_P_TEB 0x6558
#define SB_ETH_P_BATMAN 0x4305
#define SB_ETH_P_RARP 0x8035
#define SB_ETH_P_PPTP 0x880B    /* GRE protocol of PPTP (GRE_PROTO_PPP) */
#define SB_ETH_P_MPLS_UC 0x8847
#define SB_ETH_P_MPLS_MC 0x8848
#define SB_ETH_P_PPP_SES 0x8864
#define SB_ETH_P_TIPC 0x88CA
#define SB_ETH_P_1588 0x88F7
#define SB_ETH_P_PRP 0x88FB
#define SB_ETH_P_FCOE 0x8906
#define SB_ETH_P_HSR 0x892F

#define GRE_F_CSUM 0x8000
#define GRE_F_ROUTING 0x4000
#define GRE_F_KEY 0x2000
#define GRE_F_SEQ 0x1000
#define GRE_F_ACK 0x0080
#define GRE_F_VERSION 0x0007

#define PPP_P_IP 0x0021
#define PPP_P_IPV6 0x0057
#define PPP_P_MPLS_UC 0x0281
#define PPP_P_MPLS_MC 0x0283

/* Scalars only: a global function's pointer argument is plain memory. */
struct dis {
	__u32 n;           /* frame (data) length */
	__u32 proto;       /* network-layer protocol (ethertype) */
	__u32 nhoff;
	__u32 ip_proto;
	__u32 saddr, daddr, ports;
	__u32 icmp;        /* native u32 of struct {u8 type; u8 code; u16 id} */
	__u32 icmp_id;     /* 0: no ICMP id key */
	__u32 num_hdrs;
	__u32 l4;          /* next step: 0 network layer, 1 transport */
};

static __always_inline __u32 icmp_word(__u32 type, __u32 code, __u32 id)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (type << 24) | (code << 16) | id;
#else
	return type | (code << 8) | (id << 16);
#endif
}

/* __skb_flow_dissect_gre(): DIS_BAD, DIS_GOOD, or DIS_RUN to go on with
 * d->proto at d->nhoff. */
static __always_inline int dis_gre(struct __sk_buff *skb, struct dis *d)
{
	__u32 nhoff = d->nhoff, n = d->n, flags, proto, ver, off = 4;
	__u8 h[4];

	if (nhoff + 4 > n || load_bytes(skb, nhoff, h, 4))
		return DIS_BAD;
	flags = be16(h);
	proto = be16(&h[2]);
	if (flags & GRE_F_ROUTING)      /* not looked into */
		return DIS_GOOD;
	ver = flags & GRE_F_VERSION;
	if (ver > 1)
		return DIS_GOOD;
	if (ver == 1 && !(proto == SB_ETH_P_PPTP && (flags & GRE_F_KEY)))
		return DIS_GOOD;        /* PPTP needs PPP and a key */
	if (flags & GRE_F_CSUM)
		off += 4;
	if (flags & GRE_F_KEY) {
		if (nhoff + off + 4 > n)
			return DIS_BAD;
		off += 4;
	}
	if (flags & GRE_F_SEQ)
		off += 4;
	if (ver == 0) {
		if (proto == SB_ETH_P_TEB) {
			if (nhoff + off + 14 > n || load_bytes(skb, nhoff + off + 12, h, 2))
				return DIS_BAD;
			proto = be16(h);
			off += 14;
		}
	} else {
		if (flags & GRE_F_ACK)
			off += 4;
		if (nhoff + off + 4 > n || load_bytes(skb, nhoff + off, h, 4))
			return DIS_BAD;
		if (be16(&h[2]) == PPP_P_IP)
			proto = ETH_P_IP;
		else if (be16(&h[2]) == PPP_P_IPV6)
			proto = ETH_P_IPV6;
		off += 4;               /* PPP_HDRLEN */
	}
	d->proto = proto;
	d->nhoff = nhoff + off;
	return DIS_RUN;
}

/* proto_again: the network-layer header d->proto at d->nhoff. */
static __always_inline int dis_network(struct __sk_buff *skb, struct dis *d)
{
	__u32 nhoff = d->nhoff, n = d->n, ihl, ppp;
	__u8 h[40];

	switch (d->proto) {
	case ETH_P_IP:
		if (nhoff + 20 > n || load_bytes(skb, nhoff, h, 20))
			return DIS_BAD;
		ihl = h[0] & 0x0F;
		if (ihl < 5)
			return DIS_BAD;
		d->ip_proto = h[9];
		d->saddr = ne32(&h[12]);
		d->daddr = ne32(&h[16]);
		d->nhoff = nhoff + ihl * 4;
		if (be16(&h[6]) & 0x3FFF)       /* any fragment: no L4 */
			return DIS_GOOD;
		d->l4 = 1;
		return DIS_RUN;
	case ETH_P_IPV6:
		if (nhoff + 40 > n || load_bytes(skb, nhoff, h, 40))
			return DIS_BAD;
		d->ip_proto = h[6];
		d->saddr = ne32(&h[8]) ^ ne32(&h[12]) ^ ne32(&h[16]) ^ ne32(&h[20]);
		d->daddr = ne32(&h[24]) ^ ne32(&h[28]) ^ ne32(&h[32]) ^ ne32(&h[36]);
		d->nhoff = nhoff + 40;
		d->l4 = 1;
		return DIS_RUN;
	case ETH_P_8021Q:
	case ETH_P_8021AD:
		if (nhoff + 4 > n || load_bytes(skb, nhoff, h, 4))
			return DIS_BAD;
		d->proto = be16(&h[2]);
		d->nhoff = nhoff + 4;
		break;
	case SB_ETH_P_PPP_SES:
		if (nhoff + 8 > n || load_bytes(skb, nhoff, h, 8))
			return DIS_BAD;
		if (h[0] != 0x11 || h[1] != 0)  /* version 1, type 1, code 0 */
			return DIS_BAD;
		ppp = be16(&h[6]);
		d->nhoff = nhoff + 8;
		if (ppp == PPP_P_IP)
			d->proto = ETH_P_IP;
		else if (ppp == PPP_P_IPV6)
			d->proto = ETH_P_IPV6;
		else if (ppp == PPP_P_MPLS_UC)
			d->proto = SB_ETH_P_MPLS_UC;
		else if (ppp == PPP_P_MPLS_MC)
			d->proto = SB_ETH_P_MPLS_MC;
		else if ((ppp & 0x0101) != 0x0001)     /* !ppp_proto_is_valid() */
			return DIS_BAD;
		else
			return DIS_GOOD;
		break;
	case SB_ETH_P_TIPC:
		/* tipc_hdr_rps_key(): word 3; there is no TIPC destination key */
		if (nhoff + 16 > n || load_bytes(skb, nhoff + 12, h, 4))
			return DIS_BAD;
		d->saddr = ne32(h);
		d->daddr = 0;
		return DIS_GOOD;
	case SB_ETH_P_FCOE:
		return nhoff + 38 > n ? DIS_BAD : DIS_GOOD;   /* FCOE_HEADER_LEN */
	case SB_ETH_P_BATMAN:
		if (nhoff + 24 > n || load_bytes(skb, nhoff, h, 24))
			return DIS_BAD;
		if (h[1] != 15 || h[0] != 0x40) /* BATADV_COMPAT_VERSION, BATADV_UNICAST */
			return DIS_BAD;
		d->proto = be16(&h[22]);
		d->nhoff = nhoff + 24;
		break;
	case SB_ETH_P_1588:
		return nhoff + 34 > n ? DIS_BAD : DIS_GOOD;
	case SB_ETH_P_HSR:
	case SB_ETH_P_PRP:
		if (nhoff + 6 > n || load_bytes(skb, nhoff, h, 6))
			return DIS_BAD;
		d->proto = be16(&h[4]);
		d->nhoff = nhoff + 6;
		break;
	case ETH_P_ARP:
	case SB_ETH_P_RARP:
	case SB_ETH_P_MPLS_UC:
	case SB_ETH_P_MPLS_MC:
		return DIS_GOOD;        /* no ARP/MPLS keys in the bonding set */
	default:
		return DIS_BAD;
	}
	/* an encapsulation: go on unless that was one header too many */
	return ++d->num_hdrs > DIS_MAX_HDRS ? DIS_GOOD : DIS_RUN;
}

/* ip_proto_again: the header of type d->ip_proto at d->nhoff. */
static __always_inline int dis_transport(struct __sk_buff *skb, struct dis *d)
{
	__u32 nhoff = d->nhoff, n = d->n, id;
	int step = 0;           /* 0: done, 1: proto_again, 2: ip_proto_again */
	__u8 h[8];

	switch (d->ip_proto) {
	case IPPROTO_GRE:
		step = dis_gre(skb, d);
		if (step == DIS_BAD)
			return DIS_BAD;
		step = step == DIS_RUN;
		break;
	case SB_IPPROTO_HOPOPTS:
	case SB_IPPROTO_ROUTING:
	case SB_IPPROTO_DSTOPTS:
		if (d->proto != ETH_P_IPV6)
			break;
		if (nhoff + 2 > n || load_bytes(skb, nhoff, h, 2))
			return DIS_BAD;
		d->ip_proto = h[0];
		d->nhoff = nhoff + (((__u32)h[1] + 1) << 3);
		step = 2;
		break;
	case SB_IPPROTO_FRAGMENT:
		if (d->proto != ETH_P_IPV6)
			break;
		if (nhoff + 8 > n || load_bytes(skb, nhoff, h, 1))
			return DIS_BAD;
		d->ip_proto = h[0];
		d->nhoff = nhoff + 8;
		return DIS_GOOD;        /* a fragment: the ports stay as they were */
	case IPPROTO_IPIP:
		d->proto = ETH_P_IP;
		step = 1;
		break;
	case IPPROTO_IPV6:
		d->proto = ETH_P_IPV6;
		step = 1;
		break;
	case SB_IPPROTO_MPLS:
		d->proto = SB_ETH_P_MPLS_UC;
		step = 1;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* skb_flow_get_icmp_tci(): a whole struct icmphdr or nothing */
		if (nhoff + 8 > n || load_bytes(skb, nhoff, h, 8))
			break;
		id = 0;
		if (icmp_has_id(h[0])) {
			id = be16(&h[4]);
			if (!id)
				id = 1;         /* 0 means "no id" */
		}
		d->icmp_id = id;
		d->icmp = icmp_word(h[0], h[1], id);
		break;
	}
	/* the ports are (re)read after every step, tunnels included */
	d->ports = get_ports(skb, n, d->nhoff, d->ip_proto);
	if (!step || ++d->num_hdrs > DIS_MAX_HDRS)
		return DIS_GOOD;
	if (step == 1)
		d->l4 = 0;
	return DIS_RUN;
}

/* One dissection step: DIS_RUN, DIS_GOOD or DIS_BAD. Global on purpose
 * (see above); d is never NULL, the verifier wants the check. */
__attribute__((noinline)) int sb_dissect_step(struct __sk_buff *skb, struct dis *d)
{
	if (!d)
		return DIS_BAD;
	if (d->l4)
		return dis_transport(skb, d);
	return dis_network(skb, d);
}

/* _dissect(): 0 with d->saddr/daddr/ports/icmp filled in (0 for keys not
 * found), -1 when the kernel's dissector returns false (layer2 fallback). */
static __always_inline int dissect(struct __sk_buff *skb, struct dis *d)
{
	int i, r = DIS_GOOD;

#pragma clang loop unroll(disable)
	for (i = 0; i < DIS_STEPS; i++) {
		r = sb_dissect_step(skb, d);
		if (r != DIS_RUN)
			break;
	}
	return r == DIS_BAD ? -1 : 0;
}

static __always_inline __u32 hash_l2(struct l2 *l)
{
	return l->eth[5] ^ l->eth[11] ^ l->proto;
}

static __always_inline __u32 xmit_hash(struct __sk_buff *skb, struct l2 *l, __u32 policy)
{
	/* not zeroed here: layer2 (most frames of a hashing bond) needs neither */
	struct flow f;
	struct dis d;
	__u32 icmp, icmp_id;

	switch (policy) {
	case POL_L2:
		return hash_l2(l);
	case POL_L23:
		if (bond_flow(skb, l, 0, &f, &icmp, &icmp_id))
			return hash_l2(l);
		return fold(hash_l2(l), f.saddr, f.daddr);
	case POL_L34:
		if (bond_flow(skb, l, 1, &f, &icmp, &icmp_id))
			return hash_l2(l);
		return fold(icmp_id ? icmp : f.ports, f.saddr, f.daddr) >> 1;
	case POL_E23:
	case POL_E34:
		__builtin_memset(&d, 0, sizeof(d));
		d.n = l->n;
		d.proto = l->proto;
		d.nhoff = l->nhoff;
		if (dissect(skb, &d))
			return hash_l2(l);
		if (policy == POL_E23)
			return fold(hash_l2(l), d.saddr, d.daddr);
		return fold(d.icmp_id ? d.icmp : d.ports, d.saddr, d.daddr) >> 1;
	case POL_VLAN_SRCMAC:
		return l->tci ^ (((__u32)l->eth[6] << 16) | ((__u32)l->eth[7] << 8) | l->eth[8])
			^ (((__u32)l->eth[9] << 16) | ((__u32)l->eth[10] << 8) | l->eth[11]);
	}
	return hash_l2(l);
}

/* ------------------------------------------------------- tlb/alb buckets */

/* The frame's own ethertype (the Python side sees an offloaded tag in
 * band, so a tagged frame is "not IPv4/IPv6" there). */
static __always_inline __u32 raw_proto(struct __sk_buff *skb, struct l2 *l)
{
	return skb->vlan_present ? ETH_P_8021Q : be16(&l->eth[12]);
}

/* alb_determine_nd() */
static __always_inline int is_nd(struct __sk_buff *skb, __u32 n)
{
	__u8 nh, type;

	if (n <= 54 || load_bytes(skb, 20, &nh, 1) || nh != IPPROTO_ICMPV6)
		return 0;
	if (load_bytes(skb, 54, &type, 1))
		return 0;
	return type >= 133 && type <= 137;
}

/* tlb_bucket(): hash & 0xFF for unicast IPv4/IPv6 (not ND), else -1. */
static __always_inline int tlb_bucket(struct __sk_buff *skb, struct l2 *l, __u32 hash)
{
	__u32 kind;

	if (l->eth[0] & 1)
		return -1;
	kind = raw_proto(skb, l);
	if (kind == ETH_P_IP || (kind == ETH_P_IPV6 && !is_nd(skb, l->n)))
		return hash & 0xFF;
	return -1;
}

static __always_inline int is_bcast(const __u8 *m)
{
	return (m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) == 0xFF;
}

/* alb_bucket(): XOR of the destination address bytes, else -1. */
static __always_inline int alb_bucket(struct __sk_buff *skb, struct l2 *l)
{
	__u8 h[40];
	__u32 kind = raw_proto(skb, l), x, s;

	if (kind == ETH_P_IP) {
		if (l->n < 34 || is_bcast(l->eth) || load_bytes(skb, 14, h, 20) || h[9] == IPPROTO_IGMP)
			return -1;
		x = ne32(&h[16]);
		if (x == 0xFFFFFFFF)
			return -1;
	} else if (kind == ETH_P_IPV6) {
		if (l->n < 54 || is_bcast(l->eth) || is_nd(skb, l->n) || load_bytes(skb, 14, h, 40))
			return -1;
		/* ff02::1 */
		if (h[24] == 0xFF && h[25] == 0x02 && !h[26] && !h[27] && !ne32(&h[28]) && !ne32(&h[32])
		    && !h[36] && !h[37] && !h[38] && h[39] == 1)
			return -1;
		s = ne32(&h[8]) | ne32(&h[12]) | ne32(&h[16]) | ne32(&h[20]);
		if (!s)
			return -1;
		x = ne32(&h[24]) ^ ne32(&h[28]) ^ ne32(&h[32]) ^ ne32(&h[36]);
	} else {
		return -1;
	}
	x ^= x >> 16;
	x ^= x >> 8;
	return x & 0xFF;
}

/* ---------------------------------------------------------------- egress */

static __always_inline struct sb_config *current_config(__u32 *bank)
{
	__u32 zero = 0;
	__u32 *b = bpf_map_lookup_elem(&sb_bank, &zero);

	if (!b)
		return 0;
	*bank = *b & 1;
	return bpf_map_lookup_elem(&sb_config, bank);
}

/* ------------------------------------------------------ protocol classes */

/* An IPv4 or IPv6 packet's class by its protocol (first next header) byte:
 * `tcp` is the family's PC_*_TCP, then come UDP, ICMP and other, in order.
 * *hdr gets where the payload starts after a UDP header, or (TCP) the byte
 * holding the TCP header's length. */
_Static_assert(PC_IPV4_UDP == PC_IPV4_TCP + 1 && PC_IPV4_ICMP == PC_IPV4_TCP + 2 && PC_IPV4_OTHER == PC_IPV4_TCP + 3
	       && PC_IPV6_UDP == PC_IPV6_TCP + 1 && PC_IPV6_ICMP == PC_IPV6_TCP + 2 && PC_IPV6_OTHER == PC_IPV6_TCP + 3,
	       "ip_class() counts on the classes' order");
static __always_inline __u32 ip_class(__u8 proto, __u8 icmp, __u32 l4, __u32 *hdr, __u32 tcp)
{
	if (proto == icmp)
		return tcp + 2;
	if (proto == IPPROTO_UDP) {
		*hdr = l4 + 8;
		return tcp + 1;
	}
	if (proto != IPPROTO_TCP)
		return tcp + 3;
	*hdr = l4 + 12;
	return tcp;
}

/* classify() in wire/protoclass.py: the class of the frame's (inner, through
 * up to two in-band VLAN tags) type; *hdr gets where a TCP or UDP payload
 * starts, for the bytes of GSO segments (0: not TCP/UDP). */
static __always_inline __u32 proto_class(struct __sk_buff *skb, __u32 *hdr)
{
	__u8 *data = (__u8 *)(long)skb->data, *data_end = (__u8 *)(long)skb->data_end;
	__u8 b[10];
	__u32 type, off = 12;

	*hdr = 0;
	/* untagged IPv4 and IPv6 from the linear data: no helper calls (a
	 * bpf_skb_load_bytes() each cost as much as the rest) */
	if (data + 14 + 10 <= data_end) {
		type = be16(&data[12]);
		if (type == ETH_P_IP)
			return ip_class(data[14 + 9], IPPROTO_ICMP, 14 + (data[14] & 0xF) * 4, hdr, PC_IPV4_TCP);
		if (type == ETH_P_IPV6)
			return ip_class(data[14 + 6], IPPROTO_ICMPV6, 14 + 40, hdr, PC_IPV6_TCP);
	}
	if (bpf_skb_load_bytes(skb, off, b, 2))
		return PC_OTHER;
	type = be16(b);
	/* two tags, unrolled (the verifier took the loop for an infinite one) */
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (bpf_skb_load_bytes(skb, 16, b, 2))
			return PC_OTHER;
		type = be16(b);
		off = 16;
		if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
			if (bpf_skb_load_bytes(skb, 20, b, 2))
				return PC_OTHER;
			type = be16(b);
			off = 20;
		}
	}
	off += 2;
	if (type == ETH_P_IP) {
		if (bpf_skb_load_bytes(skb, off, b, 10))
			return PC_IPV4_OTHER;
		return ip_class(b[9], IPPROTO_ICMP, off + (b[0] & 0xF) * 4, hdr, PC_IPV4_TCP);
	}
	if (type == ETH_P_IPV6) {
		if (bpf_skb_load_bytes(skb, off, b, 7))
			return PC_IPV6_OTHER;
		return ip_class(b[6], IPPROTO_ICMPV6, off + 40, hdr, PC_IPV6_TCP);
	}
	if (type == ETH_P_ARP)
		return PC_ARP;
	if (type == 0x8809)
		return PC_LACP;
	return PC_OTHER;
}

/* A frame counted by class: gso_segs packets (one for a plain frame) and
 * the bytes they are on the wire, each segment repeating the headers (and
 * an offloaded VLAN tag) - gso_wire_bytes() in wire/vnet.py. */
static __always_inline void count_proto(struct sb_stats *st, struct __sk_buff *skb, __u32 dir, __u32 segs, __u32 len)
{
	__u32 hdr;
	__u32 c = proto_class(skb, &hdr), i;
	__u32 tag = SB_CTX_U32(skb, vlan_present) ? 4 : 0;
	__u64 bytes = len + tag;
	__u8 doff;

	if (segs > 1 && hdr) {
		if (c == PC_IPV4_TCP || c == PC_IPV6_TCP) {
			if (bpf_skb_load_bytes(skb, hdr, &doff, 1))
				doff = 0x50;
			hdr = hdr - 12 + (doff >> 4) * 4;
		}
		bytes += (__u64)(segs - 1) * (hdr + tag);
	}
	i = (dir * SB_PROTO_CLASSES + c) * 2;
	if (i > 2 * SB_PROTO_CLASSES * 2 - 2)
		return;
	st->proto[i] += segs;
	st->proto[i + 1] += bytes;
}

/* A global function, verified once on its own: inlined into sb_egress's
 * broadcast loop, the classification made the verifier see an infinite loop. */
static __always_inline void count_tx(struct __sk_buff *skb, __u32 stat)
{
	struct sb_stats *st = bpf_map_lookup_elem(&sb_stats, &stat);

	/* read once: a store to a map value is, to clang, a store that may
	 * change *skb, and each read of gso_segs is several loads */
	__u32 segs = skb ? skb->gso_segs : 0, len = skb ? skb->len : 0;

	if (!skb || !st)
		return;
	segs = segs > 1 ? segs : 1;
	count_proto(st, skb, SB_PROTO_TX, segs, len);
	st->tx_packets += segs;
	st->tx_bytes += len;
	if (segs > 1)
		st->tx_gso_extra += segs - 1;
}

__attribute__((noinline)) int sb_count_tx(struct __sk_buff *skb, __u32 stat)
{
	count_tx(skb, stat);
	return 0;
}

static __always_inline int drop_tx(struct sb_config *cfg)
{
	__u32 key = cfg->bond_stat;
	struct sb_stats *st = bpf_map_lookup_elem(&sb_stats, &key);

	if (st)
		st->tx_drops += 1;
	return TC_ACT_SHOT;
}

static __always_inline struct sb_member *member(__u32 bank, __u32 slot)
{
	__u32 key = bank * SB_MAX_MEMBERS + (slot & (SB_MAX_MEMBERS - 1));

	return bpf_map_lookup_elem(&sb_members, &key);
}

static __always_inline int send_ifindex(struct __sk_buff *skb, __u32 ifindex, __u32 stat)
{
	count_tx(skb, stat);    /* inlined: the broadcast loop alone needs the global one */
	return bpf_redirect(ifindex, 0);
}

static __always_inline int send_slot(struct __sk_buff *skb, struct sb_config *cfg, __u32 bank, __u32 slot)
{
	struct sb_member *m = member(bank, slot);

	if (!m || !m->ifindex)
		return drop_tx(cfg);
	return send_ifindex(skb, m->ifindex, m->stat);
}

/* tlb/alb's active_send: the active member, else the first usable one. */
static __always_inline int send_active(struct __sk_buff *skb, struct sb_config *cfg, __u32 bank)
{
	if (cfg->active_ifindex)
		return send_ifindex(skb, cfg->active_ifindex, cfg->active_stat);
	if (cfg->count)
		return send_slot(skb, cfg, bank, 0);
	return drop_tx(cfg);
}

/* ------------------------------------------------------ flowlet balancing */

/* xmit_balance=flowlet (modes/flowlet.py; plan.FlowletState is the Python
 * side): per bucket, the slot it uses now (-1: hash % count), when its
 * last frame left, and (SB_F_FLOWLET_QUEUES) when that frame will have
 * left its member's queue. Not banked: it is the data path's own state,
 * and a slot past the bank's members is read as -1. CPUs race on an entry
 * at worst by committing the same move twice. */
struct sb_flowlet {
	__u64 last_ns;
	__s32 slot;
	__u32 pad;
	__u64 depart_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SB_BUCKETS);
	__type(key, __u32);
	__type(value, struct sb_flowlet);
} sb_flowlet SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sb_flow_moves SEC(".maps");

/* SB_F_FLOWLET_QUEUES: per member (its sb_stats slot), when the queue the
 * bond has filled it with empties: each frame sent by it starts when the
 * one before has left, at its line rate (sb_member.ps_per_byte), the way
 * its qdisc drains. Not banked: a member's queue outlives plans. Two CPUs
 * sending by one member at once may lose one frame's time; the gap's
 * floor (flowlet_gap) covers it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SB_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} sb_member_queue SEC(".maps");

static __always_inline void count_move(struct sb_flowlet *f)
{
	__u32 zero = 0;
	__u64 *moves = bpf_map_lookup_elem(&sb_flow_moves, &zero);

	if (moves && f->last_ns)  /* a bucket's first frame is no move */
		*moves += 1;
}

/* FlowletState.committer: the bucket's slot now, moved to `wanted` when its
 * last frame is older than the gap. */
static __always_inline __s32 flowlet_slot(__u32 bucket, __s32 wanted, __u32 gap_us)
{
	__u32 key = bucket & 0xFF;
	struct sb_flowlet *f = bpf_map_lookup_elem(&sb_flowlet, &key);
	__u64 now = bpf_ktime_get_ns();

	if (!f)
		return wanted;
	if (f->slot != wanted && now - f->last_ns > (__u64)gap_us * 1000) {
		count_move(f);
		f->slot = wanted;
	}
	f->last_ns = now;
	return f->slot;
}

static __always_inline __u64 *member_queue(struct sb_member *m)
{
	__u32 key = m->stat;

	return bpf_map_lookup_elem(&sb_member_queue, &key);
}

/* When member `m`'s queue lets a new frame start: now, or when what the
 * bond queued on it has left. */
static __always_inline __u64 queue_free(struct sb_member *m, __u64 now)
{
	__u64 *q;

	if (!m)
		return ~0ULL;
	q = member_queue(m);
	if (!q)
		return ~0ULL;
	return *q > now ? *q : now;
}

/* The bytes a frame takes on the wire: a GSO frame leaves as gso_segs
 * frames, each with its headers (66 bytes for TCP over IPv4 with
 * timestamps; IPv6's 20 more go uncounted, inside the gap's floor). */
static __always_inline __u32 wire_len(struct __sk_buff *skb)
{
	__u32 segs = skb->gso_segs;

	return skb->len + (segs > 1 ? (segs - 1) * 66 : 0);
}

/* FlowletState.queue_committer (SB_F_FLOWLET_QUEUES): the slot for a frame
 * of `len` bytes of `bucket`, whose slot is `hashed` while it never moved.
 * Where it goes, by `wanted` (the control plane's table): a member other
 * than its own: there (the loads it measures over an interval say which
 * member carries more than its share); its own member: it stays (a heavy
 * bucket: an elephant that pauses must not join another one because a
 * burst made its own queue the longer for a moment); -1, a light bucket
 * or one not measured yet: after a pause longer than the gap's floor (a
 * new flowlet), to the member whose queue frees first, when that is sooner
 * than its own (join the shortest queue; with equal queues, an idle bond's,
 * nothing moves and the kernel's hash stays the placement). When: only
 * once its frames on the new member cannot overtake its last one on the
 * member it leaves, i.e. when the new member lets a frame start after that
 * one has left, plus the floor for the rings, links and switch no qdisc
 * shows. A flow that sends on never pauses as long as its own queue, so it
 * moves when the new member's queue is long too. */
/* flowlet_queued's scan for the shortest queue looks at the first this
 * many members: the verifier walks the scan once per member and call site,
 * and each one lengthens the object's load (with all 32, by 40%) */
#define SB_FLOWLET_SCAN 8

static __always_inline __u32 flowlet_queued(struct sb_config *cfg, __u32 bank, __u32 count, __u32 bucket,
					    __s32 wanted, __u32 hashed, __u32 len)
{
	__u32 key = bucket & 0xFF, slot, best, i;
	struct sb_flowlet *f = bpf_map_lookup_elem(&sb_flowlet, &key);
	__u64 now = bpf_ktime_get_ns(), gap = (__u64)cfg->flowlet_gap_us * 1000, free, best_free, start, old;
	struct sb_member *m;
	__u64 *q;

	if (!f)
		return hashed;
	/* a bucket never sent holds a zeroed entry: it starts on the hash's member */
	slot = f->last_ns && f->slot >= 0 && (__u32)f->slot < count ? (__u32)f->slot : hashed;
	m = member(bank, slot);
	if (!m)
		return slot;
	best = slot;
	best_free = queue_free(m, now);
	if (wanted >= 0 && (__u32)wanted < count) {
		best = wanted;
		best_free = queue_free(member(bank, best), now);
	} else if (now - f->last_ns > gap) {
		for (i = 0; i < SB_FLOWLET_SCAN; i++) {
			if (i >= count)
				break;
			free = queue_free(member(bank, i), now);
			if (free < best_free) {
				best = i;
				best_free = free;
			}
		}
	}
	if (best != slot && best_free >= f->depart_ns + gap) {
		count_move(f);
		slot = best;
		m = member(bank, slot);
	}
	f->slot = slot;
	f->last_ns = now;
	f->depart_ns = now;
	if (!m || !m->ps_per_byte)
		return slot;
	q = member_queue(m);
	if (!q)
		return slot;
	/* compare-and-swap: two CPUs sending by one member at once would
	 * otherwise lose a frame's time (up to a GSO frame's, 5 ms at 100
	 * Mbit/s), and a bucket could leave before its frame has; after two
	 * collisions in a row the frame goes uncounted (more tries cost the
	 * verifier, not the data path) */
	for (i = 0; i < 2; i++) {
		old = *(volatile __u64 *)q;
		start = old > now ? old : now;
		start += (__u64)len * m->ps_per_byte / 1000;
		/* the qdisc drops past its limit: what it dropped does not queue */
		if (start > now + (__u64)m->queue_cap_us * 1000)
			start = now + (__u64)m->queue_cap_us * 1000;
		if (__sync_val_compare_and_swap(q, old, start) == old)
			break;
	}
	f->depart_ns = start;
	return slot;
}

/* _hashed_flowlets() in datapath/plan.py: xor and 802.3ad by the bucket's
 * committed slot, else the kernel's hash % count. */
static __always_inline int send_flowlet(struct __sk_buff *skb, struct sb_config *cfg, __u32 bank, __u32 count,
					__u32 hash)
{
	__u32 key = hash & 0xFF;
	__s32 *placed, slot;
	__u64 *bytes;

	bytes = bpf_map_lookup_elem(&sb_bucket_bytes, &key);
	if (bytes)
		*bytes += skb->len;
	key = bank * SB_BUCKETS + (hash & 0xFF);
	placed = bpf_map_lookup_elem(&sb_buckets, &key);
	if (cfg->flags & SB_F_FLOWLET_QUEUES)
		return send_slot(skb, cfg, bank,
				 flowlet_queued(cfg, bank, count, hash, placed ? *placed : -1, hash % count, wire_len(skb)));
	slot = flowlet_slot(hash, placed ? *placed : -1, cfg->flowlet_gap_us);
	if (slot < 0 || (__u32)slot >= count)
		return send_slot(skb, cfg, bank, hash % count);
	return send_slot(skb, cfg, bank, slot);
}

/* _balanced() in datapath/plan.py */
static __always_inline int send_balanced(struct __sk_buff *skb, struct sb_config *cfg, __u32 bank,
					 int bucket, __u32 hash)
{
	struct sb_member *m;
	__u32 slot, key;
	__s32 *placed, wanted;
	__u64 *bytes;

	if (bucket < 0)
		return send_active(skb, cfg, bank);
	slot = hash % cfg->count;
	if (cfg->flags & SB_F_DYNAMIC) {
		key = bank * SB_BUCKETS + (bucket & 0xFF);
		placed = bpf_map_lookup_elem(&sb_buckets, &key);
		wanted = placed ? *placed : -1;
		if (cfg->flags & SB_F_FLOWLET_QUEUES)
			wanted = flowlet_queued(cfg, bank, cfg->count, bucket, wanted, slot, wire_len(skb));
		else if (cfg->flags & SB_F_FLOWLET)
			wanted = flowlet_slot(bucket, wanted, cfg->flowlet_gap_us);
		if (wanted >= 0 && (__u32)wanted < cfg->count)
			slot = wanted;
		key = bucket & 0xFF;
		bytes = bpf_map_lookup_elem(&sb_bucket_bytes, &key);
		if (bytes)
			*bytes += skb->len;
	}
	m = member(bank, slot);
	if (!m || !m->ifindex)
		return drop_tx(cfg);
	if ((__s32)slot != cfg->active_slot)
		bpf_skb_store_bytes(skb, 6, m->mac, 6, 0);
	return send_ifindex(skb, m->ifindex, m->stat);
}

SEC("tc")
int sb_egress(struct __sk_buff *skb)
{
	struct sb_config *cfg;
	struct sb_member *m;
	struct l2 l;
	__u32 bank, count, slot, i, *rr;
	__u8 proto;
	int bucket;

	cfg = current_config(&bank);
	if (!cfg)
		return TC_ACT_SHOT;
	if (skb->len < 14)
		return drop_tx(cfg);
	/* active-backup, the common case, reads nothing of the frame */
	if (cfg->mode == MODE_AB) {
		if (!cfg->active_ifindex)
			return drop_tx(cfg);
		return send_ifindex(skb, cfg->active_ifindex, cfg->active_stat);
	}
	if (parse_l2(skb, &l))
		return drop_tx(cfg);
	count = cfg->count;
	if (count > SB_MAX_MEMBERS)
		count = SB_MAX_MEMBERS;

	switch (cfg->mode) {
	case MODE_RR:
		if (!count)
			return drop_tx(cfg);
		if (count == 1)
			return send_slot(skb, cfg, bank, 0);
		/* IGMP leaves by the first member */
		if (be16(&l.eth[12]) == ETH_P_IP && !skb->vlan_present && l.n > 23
		    && !load_bytes(skb, 23, &proto, 1) && proto == IPPROTO_IGMP)
			return send_slot(skb, cfg, bank, 0);
		if (cfg->packets_per_slave == 0) {
			slot = bpf_get_prandom_u32() % count;
		} else {
			i = 0;
			rr = bpf_map_lookup_elem(&sb_rr, &i);
			if (!rr)
				return drop_tx(cfg);
			slot = *rr;
			*rr = slot + 1;
			if (cfg->packets_per_slave > 1)
				slot /= cfg->packets_per_slave;
			slot %= count;
		}
		return send_slot(skb, cfg, bank, slot);

	case MODE_XOR:
	case MODE_8023AD:
		if (!count)
			return drop_tx(cfg);
		if (count == 1)
			return send_slot(skb, cfg, bank, 0);
		if (cfg->flags & SB_F_FLOWLET)
			return send_flowlet(skb, cfg, bank, count, xmit_hash(skb, &l, cfg->policy));
		return send_slot(skb, cfg, bank, xmit_hash(skb, &l, cfg->policy) % count);

	case MODE_BCAST:
		if (!count)
			return drop_tx(cfg);
		for (i = 0; i < SB_MAX_MEMBERS - 1; i++) {
			if (i + 1 >= count)
				break;
			m = member(bank, i);
			if (!m || !m->ifindex)
				continue;
			if (bpf_clone_redirect(skb, m->ifindex, 0) == 0)
				sb_count_tx(skb, m->stat);
		}
		return send_slot(skb, cfg, bank, count - 1);

	case MODE_TLB:
		if (count <= 1)
			return send_active(skb, cfg, bank);
		slot = xmit_hash(skb, &l, cfg->policy);
		return send_balanced(skb, cfg, bank, tlb_bucket(skb, &l, slot), slot);

	case MODE_ALB:
		if (be16(&l.eth[12]) == ETH_P_ARP && !skb->vlan_present && (cfg->flags & SB_F_ARP_SLOWPATH))
			return TC_ACT_OK;   /* to the hidden peer: Python's rlb sends it */
		if (count <= 1)
			return send_active(skb, cfg, bank);
		bucket = alb_bucket(skb, &l);
		if (bucket < 0)
			return send_active(skb, cfg, bank);
		return send_balanced(skb, cfg, bank, bucket, xmit_hash(skb, &l, cfg->policy));
	}
	return drop_tx(cfg);
}

/* --------------------------------------------------------------- ingress */

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

static __always_inline void count_rx(struct sb_stats *st, __u32 segs, __u32 len)
{
	if (st) {
		st->rx_packets += segs;
		st->rx_bytes += len;
		if (segs > 1)
			st->rx_gso_extra += segs - 1;
	}
}

static __always_inline void count_rx_drop(struct sb_stats *st, __u32 segs)
{
	if (st) {
		st->rx_drops += 1;
		if (segs > 1)      /* the NIC counted it as received all the same */
			st->rx_gso_extra += segs - 1;
	}
}

SEC("tc")
int sb_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, bank, stat, key = ifindex & (SB_RX_SLOTS - 1);
	__u32 segs = skb->gso_segs > 1 ? skb->gso_segs : 1, len = skb->len;   /* read once, see count_tx() */
	struct sb_config *cfg;
	struct sb_stats *st;
	struct sb_rx_slot *slot;
	struct sb_rx *rx;
	__u8 *data = (__u8 *)(long)skb->data, *data_end = (__u8 *)(long)skb->data_end;
	__u8 eth[14];

	/* the header from the linear data when it is there: a helper call less */
	if (data + 14 <= data_end)
		__builtin_memcpy(eth, data, 14);
	else if (bpf_skb_load_bytes(skb, 0, eth, 14))
		return TC_ACT_SHOT;
	slot = bpf_map_lookup_elem(&sb_rx_slots, &key);
	if (slot && slot->ifindex == ifindex)
		rx = (struct sb_rx *)slot;
	else
		rx = bpf_map_lookup_elem(&sb_rx, &ifindex);
	stat = rx ? rx->stat : 0;
	st = bpf_map_lookup_elem(&sb_stats, &stat);
	if (st)
		count_proto(st, skb, SB_PROTO_RX, segs, len);
	/* LACP and other slow protocols: the control plane's listeners (taps,
	 * fed before tc) consumed them already. TC_ACT_OK would hand them to a
	 * stack with no handler for 0x8809, which counts each as a receive drop
	 * of the member (rx_dropped); shot here they are neither drops of ours
	 * (rx_drops) nor of the NIC. */
	if (eth[12] == 0x88 && eth[13] == 0x09)
		return TC_ACT_SHOT;
	cfg = current_config(&bank);
	if (!rx || !cfg || !cfg->bond_ifindex)
		goto drop;
	switch (rx->policy) {
	case RX_DELIVER:
		break;
	case RX_NOT_OWN:
		/* a switch reflecting our own floods */
		if (mac_eq(&eth[6], cfg->bond_mac))
			goto drop;
		break;
	case RX_UNICAST_OWN_MAC:
		if (eth[0] & 1)
			goto drop;
		if (mac_eq(eth, rx->mac))
			bpf_skb_store_bytes(skb, 0, cfg->bond_mac, 6, 0);
		break;
	default:
		/* RX_DROP: unless the carrier rescue delivers it (sb_rescued_in) */
		bpf_tail_call(skb, &sb_rx_rescue, RESCUE_IN_CHECK);
		goto drop;
	}
	count_rx(st, segs, len);
	return bpf_redirect(cfg->bond_ifindex, BPF_F_INGRESS);
drop:
	count_rx_drop(st, segs);
	return TC_ACT_SHOT;
}

/* Back from rescue.bpf.c's sb_rescue_in with a frame sb_ingress's policy
 * dropped: delivered as the active member's when marked, else dropped
 * and counted as sb_ingress would have. Only frames of the few
 * milliseconds between a carrier loss and the failover come here. */
SEC("tc")
int sb_rescued_in(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, bank, stat;
	__u32 segs = skb->gso_segs > 1 ? skb->gso_segs : 1, len = skb->len;
	struct sb_rx *rx = bpf_map_lookup_elem(&sb_rx, &ifindex);
	struct sb_config *cfg = current_config(&bank);
	struct sb_stats *st;

	stat = rx ? rx->stat : 0;
	st = bpf_map_lookup_elem(&sb_stats, &stat);
	if (skb->cb[0] == RESCUE_IN_MARK && cfg && cfg->bond_ifindex) {
		count_rx(st, segs, len);
		return bpf_redirect(cfg->bond_ifindex, BPF_F_INGRESS);
	}
	count_rx_drop(st, segs);
	return TC_ACT_SHOT;
}

SEC("tc")
int sb_peer(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

SEC("tc")
int sb_hash(struct __sk_buff *skb)
{
	struct l2 l;

	if (parse_l2(skb, &l))
		return 0;
	return xmit_hash(skb, &l, skb->mark);
}

char _license[] SEC("license") = "GPL";
