/* diag.h — gcc-style diagnostics: "file:line:col: error: msg", then the
 * source line and a caret under the offending text.
 *
 * Decision: one diagnostics context per compiler run (a file-scope state in
 * diag.c).  nnc compiles one model per process, and a global keeps every
 * front end and pass free of an extra parameter.  Errors are counted, never
 * fatal: callers check diag_error_count() at phase boundaries.
 */
#ifndef NNC_DIAG_H
#define NNC_DIAG_H

#include <stdio.h>

/* A source range.  Lines and columns are 1-based; end_col is exclusive.
 * line == 0 means "no position" (e.g. an error about a whole ONNX file). */
typedef struct Loc {
    int line, col;
    int end_line, end_col;
} Loc;

/* Start a run: name and full text of the source (text may be NULL). */
void diag_init(const char *filename, const char *src);
/* Where messages go (default stderr, NULL restores it); tests pass a memstream. */
void diag_set_output(FILE *out);
void diag_error(Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void diag_note(Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A warning (gcc's form, its class in brackets: "[-Wloss-output]").  With
 * -Werror it is reported and counted as an error; with -w it is dropped. */
enum { DIAG_WARN, DIAG_WERROR, DIAG_NOWARN };
void diag_set_warnings(int mode);
void diag_warning(Loc loc, const char *flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int  diag_warning_count(void);
int  diag_error_count(void);
const char *diag_filename(void);

/* The candidate closest to `word` by edit distance, or NULL when nothing is
 * close enough to be a plausible typo (distance > max(1, len/3)). */
const char *diag_suggest(const char *word, const char *const *candidates, int n);
/* The edit distance diag_suggest measures (case-insensitive, a swap of two
 * neighbours is one edit; INT_MAX for words of 64 characters or more). */
int diag_distance(const char *a, const char *b);
/* "; did you mean 'x'?" / "" — convenience for messages (a static buffer) */
const char *diag_did_you_mean(const char *word, const char *const *candidates, int n);

#endif
