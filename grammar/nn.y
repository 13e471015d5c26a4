/* nn.y - the grammar of the .nn language (the truth the DESIGN sketch
 * points to).  Actions are one-line calls to the builders in ast.c.
 *
 * Decisions:
 *  - Statements end at a newline or ';'.  The lexer drops newlines inside
 *    ( ) and [ ] and outside blocks, so the grammar only sees NL where a
 *    statement can end.
 *  - `model` and `train` are reserved; `input` and `output` are keywords
 *    only where they start a statement (elsewhere they are names, see
 *    `name`), so a value or layer may still be called `output`.
 *  - Error recovery: a broken statement is skipped up to the end of its line
 *    (or the block's '}'), so every bad line is reported; junk at the top
 *    level is skipped up to the next '}'.  A block without its '}' ends at
 *    the next `model`/`train` or at end of file: there the lexer inserts a
 *    NO_RBRACE token, which the grammar takes in place of '}' and reports
 *    (parse_unclosed) - a token, not a lookahead-driven reduction, so it
 *    cannot fire by default in the middle of error recovery.
 *  - parse.error custom (bison >= 3.6; `detailed`'s machinery, message
 *    assembled by us in yyreport_syntax_error) rather than rewriting the
 *    verbose string: token names read as words ("a name", "end of line")
 *    and the expected list is not cut at four.  parse.lac full makes that
 *    list exact (LALR default reductions would drop e.g. ',' from it).
 */
%define api.pure full
%locations
%define api.location.type {Loc}
%define parse.error custom
%define parse.lac full
%expect 0
%parse-param {ParseState *ps}
%param {yyscan_t scanner}

%code requires {
#include "ast.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* YYLTYPE is Loc: end_col is exclusive, so a range runs from the first
 * symbol's start to the last symbol's end; an empty rule sits at the end of
 * what came before it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                        \
    do {                                                                   \
        if (N) {                                                           \
            (Cur).line = YYRHSLOC(Rhs, 1).line;                            \
            (Cur).col = YYRHSLOC(Rhs, 1).col;                              \
            (Cur).end_line = YYRHSLOC(Rhs, N).end_line;                    \
            (Cur).end_col = YYRHSLOC(Rhs, N).end_col;                      \
        } else {                                                           \
            (Cur).line = (Cur).end_line = YYRHSLOC(Rhs, 0).end_line;       \
            (Cur).col = (Cur).end_col = YYRHSLOC(Rhs, 0).end_col;          \
        }                                                                  \
    } while (0)

/* A growable list of pointers (Expr *, Arg *) living in the AST pool. */
typedef struct AstList {
    void **items;
    int n, cap;
} AstList;

/* The dims of `f32[28, 28]` while they are being read. */
typedef struct AstDims {
    TypeSpec type;
    int count;          /* dims seen, may exceed AST_MAX_RANK */
} AstDims;

#define PARSE_MAX_NEST 64

/* Everything the lexer, the parser and the builders share for one parse. */
typedef struct ParseState {
    Program *prog;
    Block **block_tail;
    Block *block;               /* the block being filled, or NULL */
    Stmt **stmt_tail;
    int oom;
    void *fatal;                /* jmp_buf * for the lexer's fatal errors */

    /* lexer: position of the next character */
    int line, col;
    /* the most recent token (the parser's lookahead) and the one before */
    int tok;
    Loc tok_loc;
    const char *tok_text;
    int prev_tok;
    Loc prev_loc;
    const char *prev_text;
    int prev_starts_stmt;       /* prev token began a statement */
    int tok_starts_stmt;
    Loc last_loc;               /* last token that was not NL or EOF */
    /* brackets: newlines inside ( ) [ ] are not statement ends */
    int depth;
    Loc open_loc[PARSE_MAX_NEST];
    char open_char[PARSE_MAX_NEST];
    int in_block;               /* between '{' and '}' */
    Loc brace_loc;              /* the last '{' */
    /* set with a NO_RBRACE token: what came instead of the '}' */
    int unclosed_eof;           /* end of file (else a block keyword) */
    Loc unclosed_loc;
    const char *unclosed_text;
    int unclosed_depth;         /* brackets still open then */
    Loc unclosed_paren;         /* ... the innermost one */
    char unclosed_char;
    int silenced;               /* a syntax error left to parse_unclosed */
} ParseState;

/* builders (ast.c) */
const char *ast_strndup(ParseState *ps, const char *s, size_t n);
AstList *ast_list_add(ParseState *ps, AstList *list, void *item);
Expr *ast_ident(ParseState *ps, const char *name, Loc loc);
Expr *ast_number(ParseState *ps, const char *text, Loc loc);
Expr *ast_call(ParseState *ps, const char *name, Loc name_loc, AstList *args, Loc loc);
Expr *ast_tuple(ParseState *ps, Expr *first, AstList *rest, Loc loc);
Arg *ast_arg(ParseState *ps, const char *name, Loc name_loc, Expr *value);
AstDims *ast_dims_add(ParseState *ps, AstDims *dims, const char *text, Loc loc);
AstDims *ast_type(ParseState *ps, AstDims *dims, const char *dtype, Loc dtype_loc, Loc loc);
void ast_block_begin(ParseState *ps, BlockKind kind, const char *name, Loc name_loc, Loc loc);
void ast_block_end(ParseState *ps, Loc loc);
void ast_input(ParseState *ps, const char *name, Loc name_loc, AstDims *type, Loc loc);
void ast_output(ParseState *ps, AstList *names, Loc loc);
void ast_assign(ParseState *ps, const char *name, Loc name_loc, AstList *more, Expr *value, Loc loc);
void ast_layer(ParseState *ps, Expr *value, Loc loc);
void ast_setting(ParseState *ps, const char *name, Loc name_loc, AstList *values, Loc loc);
}

%code {
#include <string.h>
#include "nn.lex.h"

static void yyerror(YYLTYPE *loc, ParseState *ps, yyscan_t scanner, const char *msg);
static void parse_unclosed(ParseState *ps);
static AstList *list_join(ParseState *ps, AstList *a, AstList *b);

/* A .nn file nests calls a handful deep; a limit well below the C stack
 * turns "f(f(f(...)))" x 10000 into one clear error. */
#define YYINITDEPTH 200
#define YYMAXDEPTH 1000
}

%union {
    const char *str;
    Expr *expr;
    Arg *arg;
    AstList *list;
    AstDims *dims;
}

%token END 0 "end of file"
%token <str> IDENT NUMBER
%token <str> INVALID "invalid character"
%token NL NO_RBRACE
%token ';'              /* only inside brackets, where it is always an error */
%token KW_MODEL "model" KW_TRAIN "train" KW_INPUT "input" KW_OUTPUT "output"

%type <str> name
%type <expr> expr titem scalar
%type <arg> arg
%type <list> args values names setting call_args titems scalars
%type <dims> dims type

%%

// program = (block | junk "}")*
program:
  %empty
| program block
| program error '}'                     { yyerrok; }
| program error NO_RBRACE               { yyerrok; }
;

// block = "model" name "{" model-body "}" | "train" name "{" train-body "}"
block:
  model_head model_body                 { ast_block_end(ps, @$); }
| train_head train_body                 { ast_block_end(ps, @$); }
;

model_head:
  "model" name '{'                      { ast_block_begin(ps, BLOCK_MODEL, $2, @2, @$); }
;

train_head:
  "train" name '{'                      { ast_block_begin(ps, BLOCK_TRAIN, $2, @2, @$); }
;

// the last statement may end at the '}'
model_body:
  model_lines rbrace
| model_lines model_stmt rbrace
| model_lines error rbrace              { yyerrok; }
;

rbrace:
  '}'
| NO_RBRACE                             { parse_unclosed(ps); }
;

model_lines:
  %empty
| model_lines NL
| model_lines model_stmt NL
| model_lines error NL                  { yyerrok; }
;

// model-stmt = "input" name ":" type | "output" names | name ("," name)* "=" expr | expr
model_stmt:
  "input" name ':' type                 { ast_input(ps, $2, @2, $4, @$); }
| "output" names                        { ast_output(ps, $2, @$); }
| name '=' expr                         { ast_assign(ps, $1, @1, NULL, $3, @$); }
| name ',' names '=' expr               { ast_assign(ps, $1, @1, $3, $5, @$); }
| expr                                  { ast_layer(ps, $1, @$); }
;

// type = name "[" NUMBER ("," NUMBER)* ","? "]"
type:
  name '[' dims opt_comma ']'           { $$ = ast_type(ps, $3, $1, @1, @$); }
;

dims:
  NUMBER                                { $$ = ast_dims_add(ps, NULL, $1, @1); }
| dims ',' NUMBER                       { $$ = ast_dims_add(ps, $1, $3, @3); }
;

names:
  name                                  { $$ = ast_list_add(ps, NULL, ast_ident(ps, $1, @1)); }
| names ',' name                        { $$ = ast_list_add(ps, $1, ast_ident(ps, $3, @3)); }
;

train_body:
  train_lines rbrace
| train_lines train_stmt rbrace
| train_lines error rbrace              { yyerrok; }
;

train_lines:
  %empty
| train_lines NL
| train_lines train_stmt NL
| train_lines error NL                  { yyerrok; }
;

// train-stmt = name ["="] (values | "[" values "]")   (Keras: metrics = ['accuracy'])
train_stmt:
  name setting                          { ast_setting(ps, $1, @1, $2, @$); }
| name '=' setting                      { ast_setting(ps, $1, @1, $3, @$); }
;

setting:
  values                                { $$ = $1; }
| '[' values opt_comma ']'              { $$ = $2; }
;

values:
  expr                                  { $$ = ast_list_add(ps, NULL, $1); }
| values ',' expr                       { $$ = ast_list_add(ps, $1, $3); }
;

// expr = name | NUMBER | name "(" [call-args] ")" ["(" call-args ")"] | tuple
// call-args = arg ("," arg)* ","? | "[" args "]" ["," args]
/* Keras' functional forms: concatenate([a, b]) is concat(a, b), and a
 * layer applied to its inputs, Dense(64)(x) or Add()([a, b]), is the call
 * with the inputs first: dense(x, 64), add(a, b) */
expr:
  name                                  { $$ = ast_ident(ps, $1, @1); }
| NUMBER                                { $$ = ast_number(ps, $1, @1); }
| name '(' ')'                          { $$ = ast_call(ps, $1, @1, NULL, @$); }
| name '(' call_args ')'                { $$ = ast_call(ps, $1, @1, $3, @$); }
| name '(' ')' '(' call_args ')'        { $$ = ast_call(ps, $1, @1, $5, @$); }
| name '(' call_args ')' '(' call_args ')'  { $$ = ast_call(ps, $1, @1, list_join(ps, $6, $3), @$); }
| '(' titem ',' ')'                     { $$ = ast_tuple(ps, $2, NULL, @$); }
| '(' titem ',' titems opt_comma ')'    { $$ = ast_tuple(ps, $2, $4, @$); }
;

call_args:
  args opt_comma                        { $$ = $1; }
| '[' args opt_comma ']'                { $$ = $2; }
| '[' args opt_comma ']' ',' args opt_comma  { $$ = list_join(ps, $2, $6); }
;

// Keras' tuples, two levels deep at most: kernel_size = (3, 5),
// cropping = ((1, 0), (2, 2)).  tuple = "(" titem "," (titem ("," titem)* ","?)? ")"
titems:
  titem                                 { $$ = ast_list_add(ps, NULL, $1); }
| titems ',' titem                      { $$ = ast_list_add(ps, $1, $3); }
;

// titem = scalar | "(" scalar "," (scalar ("," scalar)* ","?)? ")"
titem:
  scalar
| '(' scalar ',' ')'                    { $$ = ast_tuple(ps, $2, NULL, @$); }
| '(' scalar ',' scalars opt_comma ')'  { $$ = ast_tuple(ps, $2, $4, @$); }
;

scalars:
  scalar                                { $$ = ast_list_add(ps, NULL, $1); }
| scalars ',' scalar                    { $$ = ast_list_add(ps, $1, $3); }
;

scalar:
  name                                  { $$ = ast_ident(ps, $1, @1); }
| NUMBER                                { $$ = ast_number(ps, $1, @1); }
;

args:
  arg                                   { $$ = ast_list_add(ps, NULL, $1); }
| args ',' arg                          { $$ = ast_list_add(ps, $1, $3); }
;

// arg = expr | name "=" expr
arg:
  expr                                  { $$ = ast_arg(ps, NULL, @1, $1); }
| name '=' expr                         { $$ = ast_arg(ps, $1, @1, $3); }
;

opt_comma:
  %empty
| ','
;

name:
  IDENT                                 { $$ = $1; }
| "input"                               { $$ = "input"; }
| "output"                              { $$ = "output"; }
;

%%

/* ---- syntax errors -------------------------------------------------------- */

/* How a token is named in "expected ..." */
static const char *expected_name(yysymbol_kind_t k)
{
    switch (k) {
    case YYSYMBOL_YYEOF: return "end of file";
    case YYSYMBOL_IDENT: return "a name";
    case YYSYMBOL_NUMBER: return "a number";
    case YYSYMBOL_NL: return "end of line";
    case YYSYMBOL_KW_MODEL: return "'model'";
    case YYSYMBOL_KW_TRAIN: return "'train'";
    case YYSYMBOL_KW_INPUT: return "'input'";
    case YYSYMBOL_KW_OUTPUT: return "'output'";
    default: return yysymbol_name(k);   /* "'('" for character tokens */
    }
}

/* What was found instead, e.g. "name 'foo'", "')'", "end of line" */
static void describe_unexpected(char *buf, size_t size, ParseState *ps, yysymbol_kind_t k)
{
    const char *text = ps->tok_text ? ps->tok_text : "";
    switch (k) {
    case YYSYMBOL_IDENT: snprintf(buf, size, "name '%.64s'", text); break;
    case YYSYMBOL_NUMBER: snprintf(buf, size, "number '%.64s'", text); break;
    case YYSYMBOL_NL: snprintf(buf, size, "%s", text[0] == ';' ? "';'" : "end of line"); break;
    default: snprintf(buf, size, "%s", expected_name(k)); break;
    }
}

/* A byte the lexer does not know, printable in a message. */
static void describe_char(char *buf, size_t size, const char *text)
{
    unsigned char c = (unsigned char)text[0];
    if (c >= 0xC2 && c <= 0xF4 && text[1])     /* a whole UTF-8 character */
        snprintf(buf, size, "'%.8s'", text);
    else if (c < 0x20 || c >= 0x7F)
        snprintf(buf, size, "'\\x%02x'", c);
    else
        snprintf(buf, size, "'%c'", c);
}

static int yyreport_syntax_error(const yypcontext_t *ctx, ParseState *ps, yyscan_t scanner)
{
    (void)scanner;
    yysymbol_kind_t tok = yypcontext_token(ctx);
    Loc loc = *yypcontext_location(ctx);

    if (tok == YYSYMBOL_INVALID) {
        char c[24];
        describe_char(c, sizeof c, ps->tok_text ? ps->tok_text : "?");
        diag_error(loc, "unexpected character %s", c);
        return 0;
    }
    if (tok == YYSYMBOL_NO_RBRACE) {
        ps->silenced = 1;       /* recovery reaches `error rbrace`: parse_unclosed */
        return 0;
    }

    /* "unexpected X, expected A, B or C": names and punctuation first, then
     * the statement ends; "input"/"output" are names too, so listing them
     * beside "a name" would confuse; NO_RBRACE is ours, not the user's */
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    int has_name = 0;
    for (int i = 0; i < n; i++)
        has_name |= exp[i] == YYSYMBOL_IDENT;
    const char *list[YYNTOKENS];
    int m = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < n; i++) {
            yysymbol_kind_t k = exp[i];
            int group = k == YYSYMBOL_NL || strcmp(yysymbol_name(k), "'}'") == 0 ? 1
                      : k == YYSYMBOL_YYEOF ? 2 : 0;
            if (k == YYSYMBOL_NO_RBRACE || group != pass ||
                (has_name && (k == YYSYMBOL_KW_INPUT || k == YYSYMBOL_KW_OUTPUT)) ||
                (k == YYSYMBOL_YYEOF && n > 1))
                continue;
            list[m++] = expected_name(k);
        }
    char what[96], expected[256] = "";
    describe_unexpected(what, sizeof what, ps, tok);
    size_t len = 0;
    for (int i = 0; i < m && len < sizeof expected; i++)
        len += (size_t)snprintf(expected + len, sizeof expected - len, "%s%s",
                                i == 0 ? ", expected " : i == m - 1 ? " or " : ", ", list[i]);

    /* A misspelt statement keyword shows up one token late:
     * "inptu x: f32[3]" fails at 'x'.  Point at the misspelling instead. */
    static const char *const stmt_kw[] = { "input", "output" };
    const char *kw;
    if (ps->prev_starts_stmt && ps->prev_tok == IDENT && ps->prev_text &&
        (tok == YYSYMBOL_IDENT || tok == YYSYMBOL_KW_INPUT || tok == YYSYMBOL_KW_OUTPUT) &&
        (kw = diag_suggest(ps->prev_text, stmt_kw, 2)) != NULL) {
        diag_error(ps->prev_loc, "unknown statement '%s'; did you mean '%s'?", ps->prev_text, kw);
    } else if (tok == YYSYMBOL_IDENT && ps->block == NULL) {
        static const char *const block_kw[] = { "model", "train" };
        diag_error(loc, "unexpected %s%s%s", what, expected,
                   diag_did_you_mean(ps->tok_text, block_kw, 2));
    } else {
        diag_error(loc, "unexpected %s%s", what, expected);
    }

    /* Crossing a line inside brackets is how a missing ')' shows: say which
     * bracket, and forget it so that recovery finds the end of this line. */
    if (ps->depth > 0) {
        int top = ps->depth - 1;
        if (top < PARSE_MAX_NEST && ps->open_loc[top].line < loc.line) {
            diag_note(ps->open_loc[top], "to match this '%c'", ps->open_char[top]);
            ps->depth = 0;
        }
    }
    return 0;
}

/* a's items, then b's, in one list */
static AstList *list_join(ParseState *ps, AstList *a, AstList *b)
{
    for (int i = 0; b && i < b->n; i++)
        a = ast_list_add(ps, a, b->items[i]);
    return a;
}

/* Bison calls this only for "memory exhausted": the stack limit above. */
static void yyerror(YYLTYPE *loc, ParseState *ps, yyscan_t scanner, const char *msg)
{
    (void)ps;
    (void)scanner;
    if (strstr(msg, "exhausted"))
        diag_error(*loc, "expression nested too deeply (the limit is about %d levels)",
                   YYMAXDEPTH / 2);
    else
        diag_error(*loc, "%s", msg);
}

/* A block ended without its '}': at the next block keyword or at end of
 * file (a syntax error there was silenced for this message). */
static void parse_unclosed(ParseState *ps)
{
    ps->silenced = 0;
    if (ps->unclosed_depth > 0 && ps->unclosed_depth <= PARSE_MAX_NEST)
        diag_error(ps->unclosed_paren, "'%c' opened here is never closed", ps->unclosed_char);
    ps->unclosed_depth = 0;
    if (ps->unclosed_eof) {
        diag_error(ps->brace_loc, "'{' opened here is never closed");
    } else {
        diag_error(ps->unclosed_loc, "expected '}' before '%s'", ps->unclosed_text);
        diag_note(ps->brace_loc, "to match this '{'");
    }
}
