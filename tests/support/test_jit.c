/* test_jit_module (test_jit.h). */
#include "test_jit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "codegen/cg_target.h"
#include "driver/drv_pipeline.h"

CgJit *test_jit_module(CgContext *c) {
  RtDiags d = {0};
  assert_true(cg_target_init(&d));
  CgTarget *t = cg_target_new(NULL, &d);
  assert_non_null(t);
  void *obj = NULL;
  size_t len = 0;
  bool ok = drv_module_object(c->mod, t, &obj, &len, &d);
  if (!ok) rt_diags_print(&d, stderr);
  assert_true(ok);
  CgJit *jit = cg_jit_new(&d);
  assert_true(cg_jit_add_object(jit, obj, len, &d));
  assert_int_equal(d.errors, 0);
  free(obj);
  rt_diags_free(&d);
  cg_target_free(t);
  return jit;
}
