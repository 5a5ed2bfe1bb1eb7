/* drv_compare.h: compile with the driver, compare with codegen/cg_compare.c. */
#include "driver/drv_compare.h"

bool drv_compare(const IrGraph *g, uint64_t seed, const DrvCompareOptions *o, CgCompareResult *r, FILE *report,
                 RtDiags *d) {
  DrvCompareOptions defaults = {.atol = CG_COMPARE_ATOL, .rtol = CG_COMPARE_RTOL, .steps = 1};
  if (!o) o = &defaults;
  *r = (CgCompareResult){0};
  DrvInput in = {.graph = g, .done = DRV_STAGE_SIMPLIFIED};
  DrvProgram *p = drv_compile(&in, &o->compile, DRV_STAGE_LOADED, d);
  if (!p) return false;
  CgCompareOptions co = {.atol = o->atol, .rtol = o->rtol, .steps = o->steps};
  bool ok = cg_compare_program(p->units[0].program, seed, &co, r, report);
  drv_program_free(p);
  return ok;
}
