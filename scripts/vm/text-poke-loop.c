// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attaches and detaches an empty raw tracepoint program on sched_switch, N
 * times, and prints progress every 10 cycles. Each attach and detach makes
 * the kernel rewrite the tracepoint's call site in __schedule (its static
 * key and static call, text_poke_bp), as the probe's links do when they are
 * made and released. No libbpf, no MBCAS code: the bpf() system call only.
 * Run by scripts/vm/text-poke-freeze inside a test guest.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	long cycles = argc > 1 ? atol(argv[1]) : 5000;
	struct bpf_insn return_zero[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	attr.insns = (unsigned long)return_zero;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	int prog = bpf(BPF_PROG_LOAD, &attr);
	if (prog < 0) {
		printf("text-poke-loop: BPF_PROG_LOAD: %s\n", strerror(errno));
		return 1;
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 1; i <= cycles; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.raw_tracepoint.name = (unsigned long)"sched_switch";
		attr.raw_tracepoint.prog_fd = prog;
		int link = bpf(BPF_RAW_TRACEPOINT_OPEN, &attr);
		if (link < 0) {
			printf("text-poke-loop: attach %ld: %s\n", i, strerror(errno));
			return 1;
		}
		close(link);
		if (i % 10 == 0) {
			printf("cycles %ld %.1fs\n", i, seconds_since(&start));
			fflush(stdout);
		}
	}
	printf("text-poke-loop: %ld attach/detach cycles done\n", cycles);
	return 0;
}
