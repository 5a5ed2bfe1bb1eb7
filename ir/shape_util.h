/* Internal helpers shared by the shape rules (shape_*.c): failing with a formatted message and
 * checking operand dtypes and ranks. Each FAIL/CHECK returns false from the calling rule. */
#ifndef SMELT_IR_SHAPE_UTIL_H
#define SMELT_IR_SHAPE_UTIL_H

#include <stdio.h>

#include "ir/ir_impl.h"

#define FAIL(...)                          \
  do {                                     \
    snprintf(err, errlen, __VA_ARGS__);    \
    return false;                          \
  } while (0)

#define IN_TYPE(i) ir_type_of(g, n->in[i])
#define ATTR(i) (&n->attr[i])

/* operand i must have dtype dt */
#define CHECK_DTYPE(i, dt)                                                                   \
  do {                                                                                       \
    char tb_[96];                                                                            \
    if (IN_TYPE(i)->dtype != (dt))                                                           \
      FAIL("operand %d must be %s, got %s", (i) + 1, ir_dtype_name(dt),                      \
           ir_type_str(IN_TYPE(i), tb_, sizeof tb_));                                        \
  } while (0)

/* operand i must have rank r */
#define CHECK_RANK(i, r)                                                                     \
  do {                                                                                       \
    char tb_[96];                                                                            \
    if (IN_TYPE(i)->shape.rank != (r))                                                       \
      FAIL("operand %d must have rank %d, got %s", (i) + 1, (r),                             \
           ir_type_str(IN_TYPE(i), tb_, sizeof tb_));                                        \
  } while (0)

/* the attribute must hold exactly `count` ints (for variable-length attributes) */
#define CHECK_ATTR_COUNT(i, count, what)                                                     \
  do {                                                                                       \
    if (ATTR(i)->n != (count))                                                               \
      FAIL("'%s' needs %d values (%s), got %d", ir_op_info[n->op].attrs[i].name, (int)(count), \
           what, ATTR(i)->n);                                                                \
  } while (0)

#endif
