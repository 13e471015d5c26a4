/* ast.c — the AST builders the grammar calls, ast_parse and ast_dump.
 *
 * Decisions:
 *  - Every node, string and list of a Program lives in one pool (a chain of
 *    chunks) released by ast_free; nothing is freed one by one.
 *  - Builders are NULL-tolerant: when the pool cannot grow they return NULL,
 *    the parse runs on and ast_parse returns NULL at the end.  The grammar
 *    stays free of memory checks.
 *  - Checks that need the value, not just the shape, of a token are made
 *    here: numbers that overflow a double, dims that are not positive ints.
 *  - ast_parse starts the diag run (diag_init) for the file it parses, so
 *    carets always quote the text being parsed.
 */
#include "ast.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "nn.tab.h"
#include "nn.lex.h"

/* ---- pool ----------------------------------------------------------------- */

typedef struct Chunk {
    struct Chunk *next;
    size_t used, cap;
    /* data follows, aligned */
} Chunk;

#define ALIGN 16
#define CHUNK_HEADER ((sizeof(Chunk) + ALIGN - 1) / ALIGN * ALIGN)
#define CHUNK_MIN (64 * 1024)

static void *pool_alloc(ParseState *ps, size_t size)
{
    Chunk *c = ps->prog->pool;
    size = (size + ALIGN - 1) / ALIGN * ALIGN;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
        Chunk *n = malloc(CHUNK_HEADER + cap);
        if (!n) {
            ps->oom = 1;
            return NULL;
        }
        n->next = c;
        n->used = 0;
        n->cap = cap;
        ps->prog->pool = c = n;
    }
    void *p = (char *)c + CHUNK_HEADER + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

const char *ast_strndup(ParseState *ps, const char *s, size_t n)
{
    char *d = pool_alloc(ps, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

AstList *ast_list_add(ParseState *ps, AstList *list, void *item)
{
    if (!list) {
        list = pool_alloc(ps, sizeof *list);
        if (!list)
            return NULL;
    }
    if (!item)
        return list;
    if (list->n == list->cap) {     /* the old array stays in the pool */
        int cap = list->cap ? 2 * list->cap : 4;
        void **items = pool_alloc(ps, (size_t)cap * sizeof *items);
        if (!items)
            return list;
        if (list->n)
            memcpy(items, list->items, (size_t)list->n * sizeof *items);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = item;
    return list;
}

/* ---- expressions ---------------------------------------------------------- */

// expr = name
Expr *ast_ident(ParseState *ps, const char *name, Loc loc)
{
    Expr *e = pool_alloc(ps, sizeof *e);
    if (!e || !name)
        return NULL;
    e->kind = EX_IDENT;
    e->loc = e->name_loc = loc;
    e->name = name;
    return e;
}

static int is_int_text(const char *s)
{
    return strpbrk(s, ".eE") == NULL;
}

// expr = NUMBER
Expr *ast_number(ParseState *ps, const char *text, Loc loc)
{
    Expr *e = pool_alloc(ps, sizeof *e);
    if (!e || !text)
        return NULL;
    e->kind = EX_NUMBER;
    e->loc = loc;
    e->is_int = is_int_text(text);
    e->num = strtod(text, NULL);
    if (isinf(e->num)) {
        diag_error(loc, "number '%.64s' is out of range", text);
        e->num = 0;
    }
    return e;
}

// expr = name "(" (arg ("," arg)*)? ")"
Expr *ast_call(ParseState *ps, const char *name, Loc name_loc, AstList *args, Loc loc)
{
    Expr *e = pool_alloc(ps, sizeof *e);
    if (!e || !name)
        return NULL;
    e->kind = EX_CALL;
    e->loc = loc;
    e->name = name;
    e->name_loc = name_loc;
    if (args && args->n > 0) {
        e->args = pool_alloc(ps, (size_t)args->n * sizeof *e->args);
        if (!e->args)
            return NULL;
        for (int i = 0; i < args->n; i++)
            e->args[i] = *(Arg *)args->items[i];
        e->nargs = args->n;
    }
    return e;
}

// tuple = "(" expr "," (expr ("," expr)* ","?)? ")"  (Keras' kernel_size = (3, 5))
Expr *ast_tuple(ParseState *ps, Expr *first, AstList *rest, Loc loc)
{
    Expr *e = pool_alloc(ps, sizeof *e);
    int n = 1 + (rest ? rest->n : 0);
    if (!e || !first)
        return NULL;
    e->kind = EX_TUPLE;
    e->loc = e->name_loc = loc;
    e->name = "a tuple";    /* what a message naming a value prints */
    e->args = pool_alloc(ps, (size_t)n * sizeof *e->args);
    if (!e->args)
        return NULL;
    e->args[0].value = first;
    for (int i = 1; i < n; i++) {
        e->args[i].value = rest->items[i - 1];
        if (!e->args[i].value)
            return NULL;
    }
    e->nargs = n;
    return e;
}

// arg = expr | name "=" expr
Arg *ast_arg(ParseState *ps, const char *name, Loc name_loc, Expr *value)
{
    Arg *a = pool_alloc(ps, sizeof *a);
    if (!a || !value)
        return NULL;
    a->name = name;
    a->name_loc = name_loc;
    a->value = value;
    return a;
}

/* ---- types ---------------------------------------------------------------- */

// dims = NUMBER ("," NUMBER)*
AstDims *ast_dims_add(ParseState *ps, AstDims *dims, const char *text, Loc loc)
{
    if (!dims) {
        dims = pool_alloc(ps, sizeof *dims);
        if (!dims)
            return NULL;
    }
    if (!text)
        return dims;
    int n = dims->count++;
    if (n == AST_MAX_RANK)
        diag_error(loc, "too many dimensions: at most %d", AST_MAX_RANK);
    if (n >= AST_MAX_RANK)
        return dims;

    long long v = 0;
    char *end;
    errno = 0;
    if (is_int_text(text))
        v = strtoll(text, &end, 10);
    if (!is_int_text(text) || v <= 0)
        diag_error(loc, "dimension '%.64s' must be a positive integer", text);
    else if (errno == ERANGE || v > INT_MAX)
        diag_error(loc, "dimension '%.64s' is too large (at most %d)", text, INT_MAX);
    dims->type.dims[n] = v > 0 && v <= INT_MAX && errno != ERANGE ? (int)v : 1;
    dims->type.rank = n + 1;
    return dims;
}

// type = name "[" dims "]"
AstDims *ast_type(ParseState *ps, AstDims *dims, const char *dtype, Loc dtype_loc, Loc loc)
{
    (void)ps;
    if (!dims || !dtype)
        return NULL;
    dims->type.dtype = dtype;
    dims->type.dtype_loc = dtype_loc;
    dims->type.loc = loc;
    return dims;
}

/* ---- blocks and statements ------------------------------------------------ */

// block = ("model" | "train") name "{" ... "}"
void ast_block_begin(ParseState *ps, BlockKind kind, const char *name, Loc name_loc, Loc loc)
{
    Block *b = pool_alloc(ps, sizeof *b);
    ps->block = NULL;
    if (!b || !name)
        return;
    b->kind = kind;
    b->name = name;
    b->name_loc = name_loc;
    b->loc = loc;
    *ps->block_tail = b;
    ps->block_tail = &b->next;
    ps->block = b;
    ps->stmt_tail = &b->stmts;
}

void ast_block_end(ParseState *ps, Loc loc)
{
    if (ps->block)
        ps->block->loc = loc;
    ps->block = NULL;
}

static Stmt *new_stmt(ParseState *ps, StmtKind kind, Loc loc)
{
    if (!ps->block)
        return NULL;
    Stmt *s = pool_alloc(ps, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    s->loc = loc;
    *ps->stmt_tail = s;
    ps->stmt_tail = &s->next;
    return s;
}

// model-stmt = "input" name ":" type
void ast_input(ParseState *ps, const char *name, Loc name_loc, AstDims *type, Loc loc)
{
    if (!name || !type)
        return;
    Stmt *s = new_stmt(ps, ST_INPUT, loc);
    if (!s)
        return;
    s->name = name;
    s->name_loc = name_loc;
    s->type = type->type;
}

static void set_values(Stmt *s, AstList *values)
{
    s->values = (Expr **)values->items;
    s->nvalues = values->n;
}

// model-stmt = "output" name ("," name)*
void ast_output(ParseState *ps, AstList *names, Loc loc)
{
    if (!names)
        return;
    Stmt *s = new_stmt(ps, ST_OUTPUT, loc);
    if (s)
        set_values(s, names);
}

// model-stmt = name ("," name)* "=" expr
void ast_assign(ParseState *ps, const char *name, Loc name_loc, AstList *more, Expr *value, Loc loc)
{
    if (!name || !value)
        return;
    Stmt *s = new_stmt(ps, ST_ASSIGN, loc);
    if (!s)
        return;
    s->name = name;
    s->name_loc = name_loc;
    s->value = value;
    if (more)
        set_values(s, more);
}

// model-stmt = expr
void ast_layer(ParseState *ps, Expr *value, Loc loc)
{
    if (!value)
        return;
    Stmt *s = new_stmt(ps, ST_LAYER, loc);
    if (s)
        s->value = value;
}

// train-stmt = name expr ("," expr)*
void ast_setting(ParseState *ps, const char *name, Loc name_loc, AstList *values, Loc loc)
{
    if (!name || !values)
        return;
    Stmt *s = new_stmt(ps, ST_SETTING, loc);
    if (!s)
        return;
    s->name = name;
    s->name_loc = name_loc;
    set_values(s, values);
}

/* ---- parse / free --------------------------------------------------------- */

/* flex's only fatal error here is running out of memory: it longjmps back
 * (the parser's own stack is then lost, fine for an out-of-memory exit) */
static void run_parser(ParseState *ps, yyscan_t scanner, const char *src)
{
    if (setjmp(*(jmp_buf *)ps->fatal) != 0)
        return;
    YY_BUFFER_STATE buf = yy_scan_string(src, scanner);
    int rc = yyparse(ps, scanner);
    yy_delete_buffer(buf, scanner);
    /* a syntax error whose report never came: should not happen, but an
     * incomplete AST must never pass for a good one */
    if (ps->silenced || (rc != 0 && diag_error_count() == 0))
        diag_error(ps->tok_loc, "unexpected %s", ps->tok_text ? ps->tok_text : "token");
}

Program *ast_parse(const char *filename, const char *src)
{
    if (!src)
        src = "";
    diag_init(filename, src);
    filename = diag_filename();   /* the argument may have been the old name, freed by diag_init */
    Program *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    /* on the heap: it must survive the longjmp below intact */
    ParseState *ps = calloc(1, sizeof *ps);
    jmp_buf *fatal = malloc(sizeof *fatal);
    yyscan_t scanner;
    if (!ps || !fatal || yylex_init_extra(ps, &scanner) != 0) {
        free(ps);
        free(fatal);
        free(p);
        return NULL;
    }
    ps->prog = p;
    ps->block_tail = &p->blocks;
    ps->line = ps->col = 1;
    ps->fatal = fatal;
    p->filename = ast_strndup(ps, filename, strlen(filename));

    run_parser(ps, scanner, src);
    yylex_destroy(scanner);
    int oom = ps->oom;
    free(ps);
    free(fatal);
    if (oom) {
        ast_free(p);
        return NULL;
    }
    return p;
}

void ast_free(Program *p)
{
    if (!p)
        return;
    Chunk *c = p->pool;
    while (c) {
        Chunk *next = c->next;
        free(c);
        c = next;
    }
    free(p);
}

/* ---- dump ----------------------------------------------------------------- */

static void dump_expr(const Expr *e, FILE *out)
{
    switch (e->kind) {
    case EX_IDENT:
        fputs(e->name, out);
        break;
    case EX_NUMBER:
        fprintf(out, "%g", e->num);
        break;
    case EX_TUPLE:
    case EX_CALL:
        fprintf(out, "%s(", e->kind == EX_TUPLE ? "" : e->name);
        for (int i = 0; i < e->nargs; i++) {
            if (i)
                fputs(", ", out);
            if (e->args[i].name)
                fprintf(out, "%s=", e->args[i].name);
            dump_expr(e->args[i].value, out);
        }
        fputc(')', out);
        break;
    }
}

static void dump_values(const Stmt *s, FILE *out)
{
    for (int i = 0; i < s->nvalues; i++) {
        if (i)
            fputs(", ", out);
        dump_expr(s->values[i], out);
    }
}

void ast_dump(const Program *p, FILE *out)
{
    if (!p)
        return;
    for (const Block *b = p->blocks; b; b = b->next) {
        fprintf(out, "%s %s\n", b->kind == BLOCK_MODEL ? "model" : "train", b->name);
        for (const Stmt *s = b->stmts; s; s = s->next) {
            switch (s->kind) {
            case ST_INPUT:
                fprintf(out, "  input %s %s[", s->name, s->type.dtype);
                for (int i = 0; i < s->type.rank; i++)
                    fprintf(out, "%s%d", i ? "," : "", s->type.dims[i]);
                fputs("]\n", out);
                break;
            case ST_OUTPUT:
                fputs("  output ", out);
                dump_values(s, out);
                fputc('\n', out);
                break;
            case ST_ASSIGN:
                fprintf(out, "  assign %s = ", s->name);
                dump_expr(s->value, out);
                fputc('\n', out);
                break;
            case ST_LAYER:
                fputs("  layer ", out);
                dump_expr(s->value, out);
                fputc('\n', out);
                break;
            case ST_SETTING:
                fprintf(out, "  setting %s ", s->name);
                dump_values(s, out);
                fputc('\n', out);
                break;
            }
        }
    }
}
