// SPDX-License-Identifier: GPL-2.0-only
/**
 * Seeded random exploration of the reference implementation: {@link vmapref.explore.Workload} makes the calls
 * (small and large maps, unmaps of live mappings on any CPU, vm_unmap_aliases()), {@link vmapref.explore.Explorer}
 * drives {@link vmapref.check.Refinement} with them, stops at the first violation and can write the run as an
 * exclusive trace that replays at every level with the run's verdict.
 */
package vmapref.explore;
