/* diag.c — gcc-style diagnostics with the source line and a caret.
 *
 * Decision: the run's file name and source text are copied at diag_init, so
 * a caller may free its buffer and late phases (lower, passes) can still
 * quote the line.  Columns are byte offsets (a tab is one column, as the
 * lexer counts); when drawing the caret line a tab is copied as a tab and
 * UTF-8 continuation bytes take no room, so the caret lines up under the
 * text on any terminal, whatever its tab width.
 */
#include "diag.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct {
    char *filename;
    char *src;
    FILE *out;      /* NULL: stderr */
    int errors;
    int warnings;
    int warn_mode;  /* DIAG_*: kept across diag_init (a command-line choice) */
} D;

void diag_init(const char *filename, const char *src)
{
    /* copied before the old ones go: filename may be diag_filename() */
    char *f = filename ? strdup(filename) : NULL, *s = src ? strdup(src) : NULL;
    free(D.filename);
    free(D.src);
    D.filename = f;
    D.src = s;   /* on failure: no source lines */
    D.errors = 0;
}

void diag_set_output(FILE *out) { D.out = out; }
void diag_set_warnings(int mode) { D.warn_mode = mode; }
int diag_warning_count(void) { return D.warnings; }
int diag_error_count(void) { return D.errors; }
const char *diag_filename(void) { return D.filename ? D.filename : "<input>"; }

static int is_utf8_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Print source line `loc.line` and, under it, the caret line. */
static void show_source(FILE *o, Loc loc)
{
    if (!D.src)
        return;
    const char *s = D.src;
    for (int l = 1; l < loc.line; l++) {
        s = strchr(s, '\n');
        if (!s)
            return;     /* no such line */
        s++;
    }
    size_t len = strcspn(s, "\n");
    if (*s == '\0' && loc.line > 1)
        return;         /* the empty "line" after a final newline */
    if (len > 0 && s[len - 1] == '\r')
        len--;
    fwrite(s, 1, len, o);
    fputc('\n', o);
    if (loc.col <= 0)
        return;

    size_t col = (size_t)loc.col;
    for (size_t i = 1; i < col; i++) {
        unsigned char c = i - 1 < len ? (unsigned char)s[i - 1] : ' ';
        if (c == '\t')
            fputc('\t', o);
        else if (!is_utf8_cont(c))
            fputc(' ', o);
    }
    fputc('^', o);
    /* `~` under the rest of the range, up to the end of this line */
    size_t end = col + 1;
    if (loc.end_line == loc.line && loc.end_col > loc.col)
        end = (size_t)loc.end_col;
    else if (loc.end_line > loc.line)
        end = len + 1;
    if (end > len + 1)
        end = len + 1;
    for (size_t i = col + 1; i < end; i++)
        if (!is_utf8_cont((unsigned char)s[i - 1]))
            fputc('~', o);
    fputc('\n', o);
}

static void report(const char *kind, const char *flag, Loc loc, const char *fmt, va_list ap)
{
    FILE *o = D.out ? D.out : stderr;
    if (loc.line > 0 && loc.col > 0)
        fprintf(o, "%s:%d:%d: %s: ", diag_filename(), loc.line, loc.col, kind);
    else if (loc.line > 0)
        fprintf(o, "%s:%d: %s: ", diag_filename(), loc.line, kind);
    else
        fprintf(o, "%s: %s: ", diag_filename(), kind);
    vfprintf(o, fmt, ap);
    if (flag)
        fprintf(o, " [%s%s]", D.warn_mode == DIAG_WERROR ? "-Werror," : "", flag);
    fputc('\n', o);
    if (loc.line > 0)
        show_source(o, loc);
}

void diag_error(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("error", NULL, loc, fmt, ap);
    va_end(ap);
    D.errors++;
}

void diag_warning(Loc loc, const char *flag, const char *fmt, ...)
{
    if (D.warn_mode == DIAG_NOWARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(D.warn_mode == DIAG_WERROR ? "error" : "warning", flag, loc, fmt, ap);
    va_end(ap);
    if (D.warn_mode == DIAG_WERROR)
        D.errors++;
    else
        D.warnings++;
}

void diag_note(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("note", NULL, loc, fmt, ap);
    va_end(ap);
}

/* ---- suggestions ---------------------------------------------------------- */

#define MAXW 64

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* Case-insensitive edit distance where swapping two neighbours counts as one
 * edit (optimal string alignment): "reul" is one typo away from "relu". */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= MAXW || lb >= MAXW)
        return INT_MAX;     /* not a typo of anything we know */
    int d[MAXW][MAXW];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = lower((unsigned char)a[i - 1]) != lower((unsigned char)b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && lower((unsigned char)a[i - 1]) == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == lower((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

int diag_distance(const char *a, const char *b)
{
    return edit_distance(a, b);
}

const char *diag_suggest(const char *word, const char *const *candidates, int n)
{
    if (!word || !candidates)
        return NULL;
    int limit = (int)(strlen(word) / 3);
    if (limit < 1)
        limit = 1;
    const char *best = NULL;
    int best_d = limit + 1;
    for (int i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        int d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

const char *diag_did_you_mean(const char *word, const char *const *candidates, int n)
{
    static char buf[160];
    const char *s = diag_suggest(word, candidates, n);
    if (!s)
        return "";
    snprintf(buf, sizeof buf, "; did you mean '%.*s'?", 120, s);
    return buf;
}
