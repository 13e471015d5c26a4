/* table.c — the op table: one row per op kind (ops/op_list.h), each row the
 * OpDef its family file defines with everything the compiler knows about
 * the op (name, .nn attribute schema, shape rule, parameters, gradient
 * rule, FLOPs, GEMM shape, emission, folding).  Adding an op means a line in
 * op_list.h, its OpDef in the family's file, its runtime kernel and tests;
 * no other file switches on ops.
 *
 * Gradient rules append backward nodes that overwrite fresh values; where a
 * value has several consumers autodiff sums the contributions with `add`. */
#include <string.h>
#include "ir.h"

#define DECLARE(ID, name) extern const OpDef op_##name;
NNC_OPS(DECLARE)
#undef DECLARE

const OpDef *const op_table[OP_COUNT] = {
#define ROW(ID, name) [OP_##ID] = &op_##name,
    NNC_OPS(ROW)
#undef ROW
};

int op_find(const char *name) {
    for (int i = 0; i < OP_COUNT; i++)
        if (!strcmp(op_name(i), name)) return i;
    return -1;
}
