/* ast.h — the syntax tree of a .nn file, as the parser builds it.
 *
 * Decision: the AST is deliberately untyped — a layer is just a call
 * expression with positional and keyword arguments, a train setting is a
 * key with a list of values.  Which names are layers, which keys a train
 * block accepts and what their arguments mean is decided by lower.c against
 * the op table, so the grammar never changes when an op is added and
 * "unknown layer" errors come with suggestions from one list.
 *
 * All nodes live in one pool owned by the Program; ast_free releases it.
 */
#ifndef NNC_AST_H
#define NNC_AST_H

#include "diag.h"

typedef enum ExprKind {
    EX_IDENT,   /* relu, same, x                   */
    EX_NUMBER,  /* 256, 0.001, 1e-3, -1            */
    EX_CALL,    /* dense(256, relu), l2(0.01)       */
    EX_TUPLE,   /* (3, 5), ((1, 1), (2, 2)): args, all positional; name "a tuple" */
} ExprKind;

typedef struct Expr Expr;

typedef struct Arg {
    const char *name;   /* keyword, or NULL for a positional argument */
    Loc name_loc;
    Expr *value;
} Arg;

struct Expr {
    ExprKind kind;
    Loc loc;            /* the whole expression                           */
    const char *name;   /* EX_IDENT: the identifier; EX_CALL: the callee  */
    Loc name_loc;       /* EX_CALL: just the callee name                  */
    double num;         /* EX_NUMBER                                      */
    int is_int;         /* EX_NUMBER written without '.', 'e'             */
    Arg *args;          /* EX_CALL                                        */
    int nargs;
};

typedef enum StmtKind {
    ST_INPUT,    /* input x: f32[28, 28]        name, type                    */
    ST_OUTPUT,   /* output y, z                 values (EX_IDENT each)         */
    ST_ASSIGN,   /* a = conv2d(x, 16, 3)        name, value; values: further names
                    (y, h, c = lstm(x, 8, return_state = true))                  */
    ST_LAYER,    /* dense(256, relu) | flatten  value                          */
    ST_SETTING,  /* loss mse | batch 32 | metrics accuracy, f1   name, values  */
} StmtKind;

#define AST_MAX_RANK 8

typedef struct TypeSpec {
    const char *dtype;          /* "f32", "i32" as written */
    Loc dtype_loc;
    int rank;
    int dims[AST_MAX_RANK];
    Loc loc;                    /* whole type, e.g. f32[28, 28] */
} TypeSpec;

typedef struct Stmt Stmt;
struct Stmt {
    StmtKind kind;
    Loc loc;            /* the whole statement                       */
    const char *name;   /* input / assign target / setting key       */
    Loc name_loc;
    TypeSpec type;      /* ST_INPUT                                  */
    Expr *value;        /* ST_ASSIGN, ST_LAYER                       */
    Expr **values;      /* ST_OUTPUT, ST_SETTING; ST_ASSIGN: names 2.. */
    int nvalues;
    Stmt *next;
};

typedef enum BlockKind { BLOCK_MODEL, BLOCK_TRAIN } BlockKind;

typedef struct Block Block;
struct Block {
    BlockKind kind;
    const char *name;   /* model name; for train: the model it trains */
    Loc loc, name_loc;
    Stmt *stmts;        /* in source order */
    Block *next;
};

typedef struct Program {
    const char *filename;
    Block *blocks;      /* in source order */
    void *pool;         /* private */
} Program;

/* Parse `src` (the text of `filename`).  Syntax errors are reported through
 * diag (several per run: the parser resynchronises at the end of a line or
 * block).  Returns a Program even when there were errors (possibly with
 * fewer statements); NULL only when memory runs out.
 * It starts the diag run for this file: diag_init(filename, src). */
Program *ast_parse(const char *filename, const char *src);
void ast_free(Program *p);

/* Debug / test helper: an S-expression-like dump of the tree, one statement
 * per line, e.g. "layer dense(256, relu)" or "input x f32[28,28]". */
void ast_dump(const Program *p, FILE *out);

#endif
