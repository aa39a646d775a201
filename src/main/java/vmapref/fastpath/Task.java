// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

/** One call in progress: the CPU it runs on (raw_smp_processor_id()) and what it scheduled. */
final class Task {
    final int cpu;
    /** The thread's name, for the interleaving tables. */
    final String name;
    /** schedule_work(&drain_vmap_work) happened during this call. */
    boolean drainPending;

    Task(int cpu) {
        this.cpu = cpu;
        this.name = Thread.currentThread().getName();
    }
}
