/* Internal to the program plan (plan.c): where outputs are found after the step, and the copies
 * of the update phase. Updates are one simultaneous assignment (docs/ir.md): every update reads
 * the values from before the step, and outputs are the values the step read, whatever order the
 * copies run in. */
#ifndef SMELT_PASS_PLAN_UPDATES_H
#define SMELT_PASS_PLAN_UPDATES_H

#include "passes/plan.h"

/* Fills p->output_slots once the op outputs sit in io: an output that is a leaf an update
 * overwrites, or a const (no memory of its own), gets an io slot of its own. */
void pass_plan_place_outputs(PassPlan *p);

/* Fills p->copies once every value has its slot: snapshots of outputs first, then the update
 * moves ordered so that none overwrites a target another move still reads, cycles (a swap)
 * broken through a scratch temporary placed after the arena. */
void pass_plan_schedule_copies(PassPlan *p);

#endif
