/* file.c — whole files into memory, for the front ends (.nn text, ONNX
 * protobuf, weights files, bound tensors): one growing buffer, a NUL after
 * the bytes so text can be used as a string.  NULL (errno set) on failure;
 * EFBIG past the caller's limit, so /dev/zero or a runaway file is an error,
 * not an exhausted machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "ir.h"

char *file_read(const char *path, long *len) { return file_read_max(path, FILE_MAX, len); }

char *file_read_max(const char *path, long max, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) { free(buf); fclose(f); return NULL; }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
        if (n > (size_t)max) {
            free(buf);
            fclose(f);
            errno = EFBIG;
            return NULL;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return NULL; }
    buf[n] = 0;
    *len = (long)n;
    return buf;
}
