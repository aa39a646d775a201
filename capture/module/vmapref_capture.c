// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmapref_capture: runs a call program of vm_map_ram(), vm_unmap_ram() and
 * vm_unmap_aliases() on kthreads bound to CPUs and logs every result and every
 * completed kernel TLB flush (kretprobes on flush_tlb_kernel_range and
 * flush_tlb_all), numbered by one global atomic counter. Other tasks' calls
 * (kretprobes on vm_map_ram, vm_unmap_ram, _vm_unmap_aliases), the vmap-node
 * shrinker (vmap_node_shrink_scan) and the purge path behind each flush are
 * logged too, system-wide.
 *
 * Interface: /proc/vmapref_capture. Write lines "m CPU COUNT", "u CPU REF"
 * (REF = 0-based index of an earlier map), "a CPU", "probe" and finally "run";
 * the write of "run" returns when the program has run; "stop" ends the log. Reading the file gives
 * the header ("H ...") and the log, one record per line. Everything the run
 * needs is allocated at load time, so that it shows in /proc/vmallocinfo.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <linux/cpumask.h>
#include <linux/completion.h>
#include <linux/wait.h>
#include <linux/sched.h>
#include <linux/jiffies.h>
#include <linux/delay.h>
#include <linux/version.h>

static unsigned int max_ops = 65536;
module_param(max_ops, uint, 0444);
MODULE_PARM_DESC(max_ops, "calls a program may have");
static unsigned int max_pages = 262144;
module_param(max_pages, uint, 0444);
MODULE_PARM_DESC(max_pages, "largest count of one vm_map_ram() call");
static unsigned int max_records = 262144;
module_param(max_records, uint, 0444);
MODULE_PARM_DESC(max_records, "log records");
static unsigned int call_timeout = 20;
module_param(call_timeout, uint, 0444);
MODULE_PARM_DESC(call_timeout, "seconds one call may take before it counts as crashed");

#define POOL_PAGES 256
#define MAX_PROBES 4096

enum { OP_MAP = 1, OP_UNMAP, OP_ALIASES };
enum { R_MAP = 'M', R_UNMAP = 'U', R_ALIASES = 'A', R_FLUSH = 'F', R_ALL = 'T',
	R_PROBE = 'P', R_STUCK = 'X', R_ERROR = 'E',
	R_OMAP = 'm', R_OUNMAP = 'u', R_OALIASES = 'a', R_SHRINK = 'K', R_BUSY = 'B' };

/* The purge path a task is in, by priority: the flush it does is attributed to the highest. */
enum { P_NONE, P_DRAIN, P_ALIASES, P_OVERFLOW, M_MAP_RAM };	/* M_MAP_RAM: inside vm_map_ram(), no path */
static const char path_name[][9] = { "other", "drain", "aliases", "overflow" };

struct op {
	u8 kind;
	u16 cpu;
	u32 ref;		/* unmap: the map it undoes */
	u64 count;		/* map: pages */
	unsigned long addr;	/* map: what vm_map_ram() returned */
	bool unmapped;
};

struct rec {
	u64 seq;		/* 0 for records that are not events */
	unsigned long a, b, c;	/* per type: addr/count/ret, start/end/caller */
	s32 op;			/* program index, -1 for flushes */
	s16 cpu;
	u8 type;
	u8 path;		/* flushes: P_* */
	u8 valid;
	s32 pid;		/* the task that made the event */
	char comm[TASK_COMM_LEN];
};

struct worker {
	struct task_struct *task;
	wait_queue_head_t wq;
	int op;			/* -1: nothing to do */
	struct completion done;
};

static struct op *ops;
static unsigned int nr_ops;
static struct page *pool[POOL_PAGES];
static struct page **pagevec;
static struct rec *recs;
static atomic_t nr_recs = ATOMIC_INIT(0);
static atomic64_t seq = ATOMIC64_INIT(0);
static bool probing, ran, stopped;
static unsigned long *probe_addr;	/* ranges unmapped since the last vm_unmap_aliases() */
static unsigned int nr_probe;
static char line[64];
static unsigned int line_len;
static DEFINE_MUTEX(ctl_lock);

/* Reserves a log slot; NULL when the log is full (counted in the last slot). */
static struct rec *rec_get(u8 type, int op, bool event)
{
	struct rec *r;
	int i;

	if (READ_ONCE(stopped))
		return NULL;
	i = atomic_inc_return(&nr_recs) - 1;
	if (i >= max_records)
		return NULL;
	r = &recs[i];
	r->type = type;
	r->op = op;
	r->cpu = raw_smp_processor_id();
	r->seq = event ? atomic64_inc_return(&seq) : 0;
	r->pid = task_pid_nr(current);
	memcpy(r->comm, current->comm, TASK_COMM_LEN);
	r->comm[TASK_COMM_LEN - 1] = 0;
	return r;
}

static void rec_put(struct rec *r)
{
	smp_store_release(&r->valid, 1);
}

static void rec_simple(u8 type, int op, unsigned long a, unsigned long b, unsigned long c, bool event)
{
	struct rec *r = rec_get(type, op, event);

	if (!r)
		return;
	r->a = a;
	r->b = b;
	r->c = c;
	rec_put(r);
}

/* A task inside a purge path: drain_vmap_area_work(), _vm_unmap_aliases(), the overflow purge. */
#define MAX_MARKS 128
static struct { struct task_struct *task; u8 path; } marks[MAX_MARKS];
static DEFINE_RAW_SPINLOCK(marks_lock);

static void mark_push(u8 path)
{
	unsigned long flags;
	int i;

	raw_spin_lock_irqsave(&marks_lock, flags);
	for (i = 0; i < MAX_MARKS; i++)
		if (!marks[i].task) {
			marks[i].task = current;
			marks[i].path = path;
			break;
		}
	raw_spin_unlock_irqrestore(&marks_lock, flags);
}

static void mark_pop(u8 path)
{
	unsigned long flags;
	int i;

	raw_spin_lock_irqsave(&marks_lock, flags);
	for (i = 0; i < MAX_MARKS; i++)
		if (marks[i].task == current && marks[i].path == path) {
			marks[i].task = NULL;
			break;
		}
	raw_spin_unlock_irqrestore(&marks_lock, flags);
}

static u8 mark_of_current(void)
{
	unsigned long flags;
	u8 best = P_NONE;
	int i;

	raw_spin_lock_irqsave(&marks_lock, flags);
	for (i = 0; i < MAX_MARKS; i++)
		if (marks[i].task == current && marks[i].path > best && marks[i].path != M_MAP_RAM)
			best = marks[i].path;
	raw_spin_unlock_irqrestore(&marks_lock, flags);
	return best;
}

static struct worker *workers;	/* per possible CPU, [nr_cpu_ids] */

/* The program's own kthreads: their calls are logged by run_op(), not as other users'. */
static bool is_worker(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (workers[cpu].task == current)
			return true;
	return false;
}

/* Entry of flush_tlb_kernel_range(start, end) / flush_tlb_all(): keep the arguments and the caller. */
struct flush_args {
	unsigned long start, end, caller;
};

static int flush_range_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct flush_args *f = (struct flush_args *)ri->data;

	f->start = regs->di;
	f->end = regs->si;
	f->caller = *(unsigned long *)kernel_stack_pointer(regs);
	return 0;
}

static int flush_all_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct flush_args *f = (struct flush_args *)ri->data;

	f->start = 0;
	f->end = ~0UL;
	f->caller = *(unsigned long *)kernel_stack_pointer(regs);
	return 0;
}

/* Return of the flush: the flush completed, log it with the next number. */
static int flush_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct flush_args *f = (struct flush_args *)ri->data;

	struct rec *r = rec_get(f->end == ~0UL && f->start == 0 ? R_ALL : R_FLUSH, -1, true);

	if (!r)
		return 0;
	r->a = f->start;
	r->b = f->end;
	r->c = f->caller;
	r->path = mark_of_current();
	rec_put(r);
	return 0;
}

/* vm_map_ram(pages, count, node) / vm_unmap_ram(mem, count) of another task. */
struct call_args {
	unsigned long a, b;
};

static int omap_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct call_args *c = (struct call_args *)ri->data;

	if (is_worker())
		return 1;	/* the program's own call: no return handler */
	c->a = regs->si;
	c->b = raw_smp_processor_id();	/* vb_alloc() takes this CPU's block queue */
	mark_push(M_MAP_RAM);
	return 0;
}

static bool in_map_ram(void)
{
	unsigned long flags;
	bool in = false;
	int i;

	raw_spin_lock_irqsave(&marks_lock, flags);
	for (i = 0; i < MAX_MARKS; i++)
		in |= marks[i].task == current && marks[i].path == M_MAP_RAM;
	raw_spin_unlock_irqrestore(&marks_lock, flags);
	return in;
}

static int omap_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct call_args *c = (struct call_args *)ri->data;
	struct rec *r;

	mark_pop(M_MAP_RAM);
	r = rec_get(R_OMAP, -1, true);
	if (!r)
		return 0;
	r->a = c->a;
	r->b = regs_return_value(regs);
	r->cpu = c->b;
	rec_put(r);
	return 0;
}

static int ounmap_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct call_args *c = (struct call_args *)ri->data;

	if (is_worker())
		return 1;
	c->a = regs->di;
	c->b = regs->si;
	return 0;
}

static int ounmap_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct call_args *c = (struct call_args *)ri->data;

	rec_simple(R_OUNMAP, -1, c->a, c->b, 0, true);
	return 0;
}

/*
 * _vm_unmap_aliases(): a purge path for everyone, a call to log for other tasks,
 * when it enters: it walks the blocks first, its flush comes last.
 */
static int aliases_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (!is_worker())
		rec_simple(R_OALIASES, -1, 0, 0, 0, true);
	mark_push(P_ALIASES);
	return 0;
}

static int aliases_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mark_pop(P_ALIASES);
	return 0;
}

static int drain_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mark_push(P_DRAIN);
	return 0;
}

static int drain_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mark_pop(P_DRAIN);
	return 0;
}

static int overflow_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mark_push(P_OVERFLOW);
	return 0;
}

static int overflow_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mark_pop(P_OVERFLOW);
	return 0;
}

/* alloc_vmap_area() for another task (vmalloc, thread stacks): the area it took is busy. */
static int oalloc_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return is_worker() || in_map_ram();	/* vm_map_ram()'s own areas are its events */
}

static int oalloc_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vmap_area *va = (struct vmap_area *)regs_return_value(regs);

	if (IS_ERR_OR_NULL(va) || va->va_start < VMALLOC_START || va->va_start > VMALLOC_END)
		return 0;
	rec_simple(R_BUSY, -1, va->va_start, va->va_end, 0, true);
	return 0;
}

/* vmap_node_shrink_scan() returned: every node pool decayed. */
static int shrink_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	rec_simple(R_SHRINK, -1, 0, 0, 0, true);
	return 0;
}

#define KRP(sym, entry, ret) { .kp.symbol_name = sym, .entry_handler = entry, .handler = ret, \
	.data_size = sizeof(struct call_args), .maxactive = 64 }

/* Optional: a symbol the kernel lacks (6.1 has no shrinker, a static function may be inlined) is skipped. */
static struct kretprobe krp_others[] = {
	KRP("vm_map_ram", omap_entry, omap_ret),
	KRP("vm_unmap_ram", ounmap_entry, ounmap_ret),
	KRP("_vm_unmap_aliases", aliases_entry, aliases_ret),
	KRP("drain_vmap_area_work", drain_entry, drain_ret),
	KRP("reclaim_and_purge_vmap_areas", overflow_entry, overflow_ret),
	KRP("purge_vmap_area_lazy", overflow_entry, overflow_ret),	/* 6.1's overflow purge */
	KRP("vmap_node_shrink_scan", NULL, shrink_ret),
	KRP("alloc_vmap_area", oalloc_entry, oalloc_ret),
};
static bool krp_others_on[ARRAY_SIZE(krp_others)];

static struct kretprobe krp_range = {
	.kp.symbol_name = "flush_tlb_kernel_range",
	.entry_handler = flush_range_entry,
	.handler = flush_ret,
	.data_size = sizeof(struct flush_args),
	.maxactive = 64,
};

static struct kretprobe krp_all = {
	.kp.symbol_name = "flush_tlb_all",
	.entry_handler = flush_all_entry,
	.handler = flush_ret,
	.data_size = sizeof(struct flush_args),
	.maxactive = 64,
};

/* After vm_unmap_aliases() returned: read the first page of each range unmapped before it. */
static void probe_stale(int i, u64 aliases_seq)
{
	unsigned int k, keep = 0;

	for (k = 0; k < nr_probe; k++) {
		unsigned long addr = probe_addr[k];
		u32 val = 0;
		bool readable = copy_from_kernel_nofault(&val, (void *)addr, sizeof(val)) == 0;

		/* mapped again since (by the program or another user): not a stale entry */
		if (vmalloc_to_page((void *)addr))
			continue;
		rec_simple(R_PROBE, i, addr, readable, aliases_seq, false);
		if (readable)
			probe_addr[keep++] = addr;	/* still stale: probe it again next time */
	}
	nr_probe = keep;
}

/* One call, on the worker bound to its CPU. */
static void run_op(int i)
{
	struct op *o = &ops[i];
	struct rec *r;

	switch (o->kind) {
	case OP_MAP: {
		void *p = vm_map_ram(pagevec, o->count, NUMA_NO_NODE);

		r = rec_get(R_MAP, i, true);
		o->addr = (unsigned long)p;
		if (r) {
			r->a = o->count;
			r->b = o->addr;
			rec_put(r);
		}
		if (p)	/* touch the first page: its translation is now in this CPU's TLB */
			*(u32 *)p = 0x5a000000 | (i & 0xffffff);
		break;
	}
	case OP_UNMAP: {
		struct op *m = &ops[o->ref];

		vm_unmap_ram((void *)m->addr, m->count);
		m->unmapped = true;
		r = rec_get(R_UNMAP, i, true);
		if (r) {
			r->a = m->addr;
			r->b = m->count;
			rec_put(r);
		}
		if (probing && nr_probe < MAX_PROBES)
			probe_addr[nr_probe++] = m->addr;
		break;
	}
	case OP_ALIASES:
		vm_unmap_aliases();
		r = rec_get(R_ALIASES, i, true);
		if (r) {
			u64 s = r->seq;

			rec_put(r);
			if (probing)
				probe_stale(i, s);
		}
		break;
	}
}

static int worker_fn(void *data)
{
	struct worker *w = data;

	while (!kthread_should_stop()) {
		int i;

		wait_event_interruptible(w->wq, READ_ONCE(w->op) >= 0 || kthread_should_stop());
		i = READ_ONCE(w->op);
		if (i < 0)
			continue;
		run_op(i);
		WRITE_ONCE(w->op, -1);
		complete(&w->done);
	}
	return 0;
}

/* Runs the program, one call at a time; a call that does not return in time ends the run. */
static void run_program(void)
{
	unsigned int i;

	for (i = 0; i < nr_ops; i++) {
		struct op *o = &ops[i];
		struct worker *w;

		if (o->kind == OP_UNMAP && (!ops[o->ref].addr || ops[o->ref].unmapped))
			continue;	/* the map returned NULL or is already undone */
		if (o->cpu >= nr_cpu_ids || !cpu_online(o->cpu) || !workers[o->cpu].task) {
			rec_simple(R_ERROR, i, o->cpu, 0, 0, false);
			return;
		}
		w = &workers[o->cpu];
		reinit_completion(&w->done);
		WRITE_ONCE(w->op, i);
		wake_up(&w->wq);
		if (!wait_for_completion_timeout(&w->done, call_timeout * HZ)) {
			rec_simple(R_STUCK, i, 0, 0, 0, false);
			return;
		}
	}
}

static int parse_line(char *s)
{
	unsigned int cpu;
	unsigned long long n;

	s = strim(s);
	if (!*s)
		return 0;
	if (!strcmp(s, "probe")) {
		probing = true;
		return 0;
	}
	if (!strcmp(s, "stop")) {	/* the log is complete: other users' events stop here */
		WRITE_ONCE(stopped, true);
		msleep(200);	/* records being written finish */
		return 0;
	}
	if (!strcmp(s, "run")) {
		if (ran)
			return -EBUSY;
		ran = true;
		run_program();
		return 0;
	}
	if (nr_ops >= max_ops)
		return -E2BIG;
	if (s[0] == 'm' && sscanf(s + 1, "%u %llu", &cpu, &n) == 2) {
		if (n > max_pages)
			return -E2BIG;
		ops[nr_ops] = (struct op){ .kind = OP_MAP, .cpu = cpu, .count = n };
	} else if (s[0] == 'u' && sscanf(s + 1, "%u %llu", &cpu, &n) == 2) {
		if (n >= nr_ops || ops[n].kind != OP_MAP)
			return -EINVAL;
		ops[nr_ops] = (struct op){ .kind = OP_UNMAP, .cpu = cpu, .ref = n };
	} else if (s[0] == 'a' && sscanf(s + 1, "%u", &cpu) == 1) {
		ops[nr_ops] = (struct op){ .kind = OP_ALIASES, .cpu = cpu };
	} else {
		return -EINVAL;
	}
	if (cpu >= nr_cpu_ids)
		return -EINVAL;
	nr_ops++;
	return 0;
}

static ssize_t ctl_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	size_t done = 0;
	int err = 0;

	mutex_lock(&ctl_lock);
	while (done < len) {
		char c;

		if (get_user(c, buf + done)) {
			err = -EFAULT;
			break;
		}
		done++;
		if (c != '\n') {
			if (line_len >= sizeof(line) - 1) {
				err = -EINVAL;
				break;
			}
			line[line_len++] = c;
			continue;
		}
		line[line_len] = 0;
		line_len = 0;
		err = parse_line(line);
		if (err)
			break;
	}
	mutex_unlock(&ctl_lock);
	return err ? err : done;
}

static int ctl_show(struct seq_file *m, void *v)
{
	unsigned int i, n = min_t(unsigned int, atomic_read(&nr_recs), max_records);

	seq_printf(m, "H release=%s\n", utsname()->release);
	seq_printf(m, "H version=%s\n", utsname()->version);
	seq_printf(m, "H nr_cpus=%d nr_cpu_ids=%u page_size=%lu vmalloc_start=0x%lx vmalloc_end=0x%lx\n",
		   NR_CPUS, nr_cpu_ids, PAGE_SIZE, (unsigned long)VMALLOC_START, (unsigned long)VMALLOC_END);
	seq_printf(m, "H possible=%*pbl\n", cpumask_pr_args(cpu_possible_mask));
	seq_printf(m, "H online=%*pbl\n", cpumask_pr_args(cpu_online_mask));
	seq_printf(m, "H lazy_max_hint=%u ops=%u ran=%d probing=%d\n", 32U << (20 - PAGE_SHIFT), nr_ops, ran, probing);
	seq_puts(m, "H probes=");
	for (i = 0; i < ARRAY_SIZE(krp_others); i++)
		if (krp_others_on[i])
			seq_printf(m, "%s,", krp_others[i].kp.symbol_name);
	seq_puts(m, "\n");
	for (i = 0; i < n; i++) {
		struct rec *r = &recs[i];

		if (!smp_load_acquire(&r->valid))
			continue;
		switch (r->type) {
		case R_FLUSH:
		case R_ALL:
			seq_printf(m, "%c %llu %d 0x%lx 0x%lx %pS path=%s pid=%d %s\n", r->type, r->seq, r->cpu, r->a,
				   r->b, (void *)r->c, path_name[r->path], r->pid, r->comm);
			break;
		case R_OMAP:
		case R_OUNMAP:
		case R_BUSY:
			seq_printf(m, "%c %llu %d %d 0x%lx 0x%lx %s\n", r->type, r->seq, r->cpu, r->op, r->a, r->b, r->comm);
			break;
		case R_OALIASES:
		case R_SHRINK:
			seq_printf(m, "%c %llu %d %d pid=%d %s\n", r->type, r->seq, r->cpu, r->op, r->pid, r->comm);
			break;
		case R_MAP:
		case R_UNMAP:
			seq_printf(m, "%c %llu %d %d 0x%lx 0x%lx\n", r->type, r->seq, r->cpu, r->op, r->a, r->b);
			break;
		case R_ALIASES:
			seq_printf(m, "%c %llu %d %d\n", r->type, r->seq, r->cpu, r->op);
			break;
		case R_PROBE:
			seq_printf(m, "P %lu %d %d 0x%lx %lu\n", r->c, r->cpu, r->op, r->a, r->b);
			break;
		default:
			seq_printf(m, "%c 0 %d %d 0x%lx\n", r->type, r->cpu, r->op, r->a);
			break;
		}
	}
	seq_printf(m, "S records=%d max_records=%u krp_range_missed=%d krp_all_missed=%d",
		   atomic_read(&nr_recs), max_records, krp_range.nmissed, krp_all.nmissed);
	for (i = 0, n = 0; i < ARRAY_SIZE(krp_others); i++)
		n += krp_others_on[i] ? krp_others[i].nmissed : 0;
	seq_printf(m, " krp_others_missed=%u\n", n);
	return 0;
}

static int ctl_open(struct inode *inode, struct file *file)
{
	return single_open_size(file, ctl_show, NULL, 128 + (size_t)max_records * 96);
}

static const struct proc_ops ctl_ops = {
	.proc_open = ctl_open,
	.proc_read = seq_read,
	.proc_write = ctl_write,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static void unregister_others(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(krp_others); i++)
		if (krp_others_on[i])
			unregister_kretprobe(&krp_others[i]);
}

static void cleanup(void)
{
	unsigned int cpu, i;

	if (workers) {
		for (cpu = 0; cpu < nr_cpu_ids; cpu++)
			if (workers[cpu].task)
				kthread_stop(workers[cpu].task);
		kfree(workers);
	}
	for (i = 0; i < POOL_PAGES; i++)
		if (pool[i])
			__free_page(pool[i]);
	vfree(pagevec);
	vfree(ops);
	vfree(recs);
	vfree(probe_addr);
}

static int __init capture_init(void)
{
	unsigned int cpu, i;
	int err;

	ops = vzalloc(array_size(max_ops, sizeof(*ops)));
	recs = vzalloc(array_size(max_records, sizeof(*recs)));
	pagevec = vmalloc(array_size(max_pages, sizeof(*pagevec)));
	probe_addr = vmalloc(array_size(MAX_PROBES, sizeof(*probe_addr)));
	workers = kcalloc(nr_cpu_ids, sizeof(*workers), GFP_KERNEL);
	err = -ENOMEM;
	if (!ops || !recs || !pagevec || !probe_addr || !workers)
		goto fail;
	for (i = 0; i < POOL_PAGES; i++) {
		pool[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pool[i])
			goto fail;
	}
	for (i = 0; i < max_pages; i++)
		pagevec[i] = pool[i % POOL_PAGES];
	for_each_online_cpu(cpu) {
		struct worker *w = &workers[cpu];
		struct task_struct *t;

		init_waitqueue_head(&w->wq);
		init_completion(&w->done);
		w->op = -1;
		t = kthread_create(worker_fn, w, "vmt/%u", cpu);
		if (IS_ERR(t)) {
			err = PTR_ERR(t);
			goto fail;
		}
		kthread_bind(t, cpu);
		w->task = t;
		wake_up_process(t);
	}
	err = register_kretprobe(&krp_range);
	if (err) {
		pr_err("vmapref_capture: kretprobe on flush_tlb_kernel_range: %d\n", err);
		goto fail;
	}
	err = register_kretprobe(&krp_all);
	if (err) {
		pr_err("vmapref_capture: kretprobe on flush_tlb_all: %d\n", err);
		unregister_kretprobe(&krp_range);
		goto fail;
	}
	for (i = 0; i < ARRAY_SIZE(krp_others); i++)
		krp_others_on[i] = register_kretprobe(&krp_others[i]) == 0;
	if (!proc_create("vmapref_capture", 0600, NULL, &ctl_ops)) {
		unregister_others();
		unregister_kretprobe(&krp_all);
		unregister_kretprobe(&krp_range);
		goto fail;
	}
	return 0;
fail:
	cleanup();
	return err;
}

static void __exit capture_exit(void)
{
	remove_proc_entry("vmapref_capture", NULL);
	unregister_others();
	unregister_kretprobe(&krp_all);
	unregister_kretprobe(&krp_range);
	cleanup();
}

module_init(capture_init);
module_exit(capture_exit);
MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("vmapref: run a vm_map_ram() call program and log results and TLB flushes");
