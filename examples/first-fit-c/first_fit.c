// SPDX-License-Identifier: GPL-2.0-only
/*
 * The first-fit example of examples/first-fit/FirstFit.java, in C, as a child for `vmapref drive`
 * (docs/driver-protocol.md): first fit over the vmalloc range, small mappings bump-allocated in
 * per-CPU blocks that are flushed whole when their last mapping goes, vm_unmap_aliases() flushing
 * what was unmapped in live blocks. It passes `drive --level spec`.
 *
 *   cc -O2 -o first_fit examples/first-fit-c/first_fit.c
 *   java -jar target/vmapref.jar drive -- ./first_fit          (add --bug: it never flushes)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANGES 65536
#define MAX_CPUS 4096

struct range {          /* a large area or a block, sorted by start in ranges[] */
	uint64_t start, end;
	int block;          /* for a block: next free byte, live mappings, dirty range not yet flushed */
	uint64_t next, dirty_start, dirty_end;
	long live;
};

static struct range ranges[MAX_RANGES];
static int nranges;
static uint64_t page_size, vstart, vend, block_bytes, max_alloc;
static int64_t current[MAX_CPUS]; /* CPU -> start of the block it allocates from, or -1 */
static int bug;

static const char *field(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(json, pat);
	return p ? p + strlen(pat) : NULL;
}

static uint64_t number(const char *json, const char *key)
{
	const char *p = field(json, key);
	return p ? strtoull(p, NULL, 10) : 0;
}

static uint64_t address(const char *json, const char *key)
{
	const char *p = field(json, key);
	return p && p[0] == '"' ? strtoull(p + 3, NULL, 16) : 0; /* "0x... */
}

static void text(const char *json, const char *key, char *out, size_t n)
{
	const char *p = field(json, key);
	out[0] = 0;
	if (p && *p == '"') {
		size_t i = 0;
		for (p++; *p && *p != '"' && i + 1 < n; p++)
			out[i++] = *p;
		out[i] = 0;
	}
}

static void clear(void)
{
	nranges = 0;
	for (int i = 0; i < MAX_CPUS; i++)
		current[i] = -1;
}

static uint64_t align_up(uint64_t a, uint64_t align)
{
	return (a + align - 1) / align * align;
}

/* The lowest free range of size bytes aligned to align, or 0. */
static uint64_t first_fit(uint64_t size, uint64_t align)
{
	uint64_t at = align_up(vstart, align);
	for (int i = 0; i < nranges; i++) {
		if (ranges[i].start >= at && ranges[i].start - at >= size)
			return at;
		if (ranges[i].end > at)
			at = align_up(ranges[i].end, align);
	}
	return vend > at && vend - at >= size ? at : 0;
}

static struct range *insert(uint64_t start, uint64_t end, int block)
{
	if (nranges == MAX_RANGES)
		return NULL;
	int i = nranges;
	while (i > 0 && ranges[i - 1].start > start) {
		ranges[i] = ranges[i - 1];
		i--;
	}
	memset(&ranges[i], 0, sizeof(ranges[i]));
	ranges[i].start = start;
	ranges[i].end = end;
	ranges[i].block = block;
	ranges[i].next = start;
	nranges++;
	return &ranges[i];
}

static int find(uint64_t addr) /* the range holding addr, or -1 */
{
	for (int i = 0; i < nranges; i++)
		if (ranges[i].start <= addr && addr < ranges[i].end)
			return i;
	return -1;
}

static void erase(int i)
{
	memmove(&ranges[i], &ranges[i + 1], (size_t)(nranges - i - 1) * sizeof(ranges[0]));
	nranges--;
}

static uint64_t map_small(int cpu, uint64_t size)
{
	int i = current[cpu] < 0 ? -1 : find((uint64_t)current[cpu]);
	if (i < 0 || ranges[i].next + size > ranges[i].end) {
		uint64_t base = first_fit(block_bytes, block_bytes);
		if (!base || !insert(base, base + block_bytes, 1))
			return 0;
		current[cpu] = (int64_t)base;
		i = find(base);
	}
	uint64_t addr = ranges[i].next;
	ranges[i].next += size;
	ranges[i].live++;
	return addr;
}

static uint64_t map_large(uint64_t size)
{
	uint64_t addr = first_fit(size, page_size);
	if (addr && !insert(addr, addr + size, 0))
		return 0;
	return addr;
}

int main(int argc, char **argv)
{
	static char line[1 << 16];
	char op[32];
	for (int a = 1; a < argc; a++)
		bug |= strcmp(argv[a], "--bug") == 0;
	while (fgets(line, sizeof(line), stdin)) {
		text(line, "op", op, sizeof(op));
		if (!strcmp(op, "hello") || !strcmp(op, "reset")) {
			page_size = number(line, "page_size");
			vstart = address(line, "vmalloc_start");
			vend = address(line, "vmalloc_end") / page_size * page_size; /* VMALLOC_END is the last byte */
			block_bytes = number(line, "block_pages") * page_size;
			max_alloc = number(line, "vmap_max_alloc");
			clear();
			if (!strcmp(op, "hello"))
				printf("{\"ok\":true,\"name\":\"first-fit-c%s\",\"reports\":[\"flushes\"],\"reset\":true}\n",
				       bug ? "-bug" : "");
			else
				printf("{\"ok\":true}\n");
		} else if (!strcmp(op, "map")) {
			int cpu = (int)number(line, "cpu");
			uint64_t count = number(line, "count");
			uint64_t addr = count == 0 || cpu >= MAX_CPUS ? 0
				: count <= max_alloc ? map_small(cpu, count * page_size) : map_large(count * page_size);
			if (addr)
				printf("{\"ok\":true,\"addr\":\"0x%llx\",\"flushes\":[]}\n", (unsigned long long)addr);
			else
				printf("{\"ok\":true,\"addr\":null,\"flushes\":[]}\n");
		} else if (!strcmp(op, "unmap")) {
			uint64_t addr = address(line, "addr"), count = number(line, "count");
			int i = find(addr);
			if (i < 0 || (count <= max_alloc) != ranges[i].block || (!ranges[i].block && ranges[i].start != addr)) {
				printf("{\"ok\":false,\"error\":\"no mapping at 0x%llx\"}\n", (unsigned long long)addr);
			} else if (ranges[i].block && --ranges[i].live > 0) {
				uint64_t end = addr + count * page_size;
				if (!ranges[i].dirty_end || addr < ranges[i].dirty_start)
					ranges[i].dirty_start = addr;
				if (end > ranges[i].dirty_end)
					ranges[i].dirty_end = end;
				printf("{\"ok\":true,\"flushes\":[]}\n");
			} else {
				uint64_t s = ranges[i].start, e = ranges[i].end;
				for (int c = 0; c < MAX_CPUS; c++)
					if (current[c] == (int64_t)s)
						current[c] = -1;
				erase(i);
				if (bug)
					printf("{\"ok\":true,\"flushes\":[]}\n");
				else
					printf("{\"ok\":true,\"flushes\":[{\"start\":\"0x%llx\",\"end\":\"0x%llx\"}]}\n",
					       (unsigned long long)s, (unsigned long long)e);
			}
		} else if (!strcmp(op, "aliases")) {
			printf("{\"ok\":true,\"flushes\":[");
			int first = 1;
			for (int i = 0; i < nranges; i++) {
				if (ranges[i].block && ranges[i].dirty_end && !bug) {
					printf("%s{\"start\":\"0x%llx\",\"end\":\"0x%llx\"}", first ? "" : ",",
					       (unsigned long long)ranges[i].dirty_start, (unsigned long long)ranges[i].dirty_end);
					ranges[i].dirty_start = ranges[i].dirty_end = 0;
					first = 0;
				}
			}
			printf("]}\n");
		} else if (!strcmp(op, "bye")) {
			return 0;
		} else {
			printf("{\"ok\":false,\"error\":\"unknown op\"}\n");
		}
		fflush(stdout);
	}
	return 0;
}
