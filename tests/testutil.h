/* testutil.h — small helpers shared by the Check unit tests.
 *
 * Capture what a piece of code prints (diag messages, ast_dump, an IR dump)
 * into a string, so tests can compare exact text:
 *
 *     TuCapture c;
 *     tu_diag_begin(&c);              // diag output now goes to c
 *     ... code that reports errors ...
 *     char *text = tu_diag_end(&c);   // diag back on stderr; free(text)
 *
 *     tu_begin(&c); ast_dump(p, c.f); text = tu_end(&c);   // any FILE * printer
 *
 * Needs _POSIX_C_SOURCE >= 200809L for open_memstream (the Makefile sets it).
 */
#ifndef NNC_TESTUTIL_H
#define NNC_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "diag.h"

typedef struct TuCapture {
    FILE *f;        /* write here between begin and end */
    char *buf;
    size_t len;
} TuCapture;

static inline void tu_begin(TuCapture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
}

/* The captured text, NUL-terminated, never NULL; the caller frees it. */
static inline char *tu_end(TuCapture *c)
{
    if (c->f)
        fclose(c->f);
    c->f = NULL;
    if (!c->buf) {
        c->buf = malloc(1);
        if (c->buf)
            c->buf[0] = '\0';
    }
    return c->buf;
}

static inline void tu_diag_begin(TuCapture *c)
{
    tu_begin(c);
    diag_set_output(c->f);
}

static inline char *tu_diag_end(TuCapture *c)
{
    diag_set_output(NULL);      /* back to stderr */
    return tu_end(c);
}

#endif
