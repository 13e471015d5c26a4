/* csv.c — CSV files of numbers with a header row.
 *
 * Rules:
 *   - UTF-8 (a byte-order mark is skipped); lines end in \n or \r\n; the
 *     separator is ',' only.
 *   - line 1 is the header: one name per column.  A leading '#' and the
 *     spaces after it are dropped (np.savetxt(..., header=...) writes
 *     "# a,b,c").  Names are trimmed of spaces and tabs; a name may be
 *     quoted "like, this" with "" standing for one quote.  An empty name
 *     (pandas' index column) is refused, and so is a first row of numbers
 *     only (a file without a header would lose its first sample), unless
 *     they are 0, 1, 2, ... (pandas' names for unnamed columns).
 *   - every later line is one sample with exactly as many cells as the
 *     header has names (a ragged row is refused naming it); lines that are
 *     empty or hold only spaces are skipped (as numpy and pandas do).
 *   - a cell the caller takes must be a number: what C's strtod reads
 *     (decimal, exponent, inf, nan, hex) with optional spaces around it,
 *     optionally inside double quotes.  An empty cell, text, or a quoted
 *     cell running past its line (a multi-line cell) is refused naming the
 *     row (the line number, 1-based as an editor shows it), the column
 *     (1-based) and the column's name.  Cells of excluded columns are not
 *     read as numbers, so an id or a text column can be excluded.
 *   - numbers are read as doubles (correctly rounded, as strtod does),
 *     then converted as data.c says (float32 rounding, int32 integrality
 *     and range): exactly what np.loadtxt(...).astype(np.float32) gives.
 *   - member: one column, by name, gives a 1-D array (n,); else all
 *     columns but the excluded ones give (n, columns).  A name that the
 *     header lacks or holds twice is refused.
 */
#include "data_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_header {
    char **names;
    int n;
    size_t end;             /* the offset just past the header line */
} csv_header;

static void header_free(csv_header *h)
{
    int i;
    for (i = 0; i < h->n; i++)
        free(h->names[i]);
    free(h->names);
    memset(h, 0, sizeof *h);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* the header line of buf[0..len) */
static int header_parse(const host_src *s, const char *buf, size_t len, csv_header *h)
{
    size_t i = 0, cap = 0;
    memset(h, 0, sizeof *h);
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    if (i < len && buf[i] == '#') {
        i++;
        while (i < len && is_blank(buf[i]))
            i++;
    }
    if (i >= len || buf[i] == '\n' || (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
        host_err(s, "row 1: expected a header row of column names, found %s",
                 i >= len ? "an empty file" : "an empty line");
        return 1;
    }
    for (;;) {
        char *name;
        size_t a, b, k = 0;
        int quoted = 0;
        while (i < len && is_blank(buf[i]))
            i++;
        if (i < len && buf[i] == '"') {
            size_t j;
            a = ++i;
            for (j = i; j < len && !(buf[j] == '"' && !(j + 1 < len && buf[j + 1] == '"')); j++) {
                if (buf[j] == '\n') break;
                if (buf[j] == '"') j++;
            }
            if (j >= len || buf[j] != '"') {
                host_err(s, "row 1, column %d: expected a closing quote on the same line, found the "
                         "line's end", h->n + 1);
                header_free(h);
                return 1;
            }
            b = j;
            i = j + 1;
            quoted = 1;
            while (i < len && is_blank(buf[i]))
                i++;
            if (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
                host_err(s, "row 1, column %d: expected ',' after the quoted name, found '%c'", h->n + 1, buf[i]);
                header_free(h);
                return 1;
            }
        } else {
            a = i;
            while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
                i++;
            b = i;
            while (b > a && is_blank(buf[b - 1]))
                b--;
        }
        if (h->n == (int)cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(h->names, nc * sizeof *nn);
            if (!nn || nc > 100000000) {
                free(nn == h->names ? NULL : nn);
                host_err(s, "row 1: too many columns");
                header_free(h);
                return 1;
            }
            h->names = nn;
            cap = nc;
        }
        if ((name = malloc(b - a + 1)) == NULL) {
            host_err(s, "out of memory");
            header_free(h);
            return 1;
        }
        for (; a < b; a++) {            /* "" -> " inside quotes */
            name[k++] = buf[a];
            if (quoted && buf[a] == '"')
                a++;
        }
        name[k] = '\0';
        h->names[h->n++] = name;
        if (i < len && buf[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    if (i < len && buf[i] == '\r')
        i++;
    if (i < len && buf[i] == '\n')
        i++;
    h->end = i;
    {   /* a first row of numbers is data, not names: refuse rather than drop a
         * sample (but pandas names unnamed columns 0, 1, 2, ...) */
        int k, numbers = 0, pandas = 1;
        for (k = 0; k < h->n; k++) {
            char *end, want[16];
            const char *nm = h->names[k];
            if (!*nm) {
                host_err(s, "row 1, column %d: expected a column name, found an empty one (pandas' index "
                         "column? save with index=False)", k + 1);
                header_free(h);
                return 1;
            }
            if ((strtod(nm, &end), *end == '\0') && !(*nm == 'i' || *nm == 'I' || *nm == 'n' || *nm == 'N'))
                numbers++;
            snprintf(want, sizeof want, "%d", k);
            pandas &= strcmp(nm, want) == 0;
        }
        if (numbers == h->n && !pandas) {
            host_err(s, "row 1: expected a header row of column names, found only numbers (a CSV "
                     "without a header?)");
            header_free(h);
            return 1;
        }
    }
    return 0;
}

/* the column named name: its index, -1 when none, -2 when twice */
static int find_column(const csv_header *h, const char *name, size_t len)
{
    int i, found = -1;
    for (i = 0; i < h->n; i++)
        if (strlen(h->names[i]) == len && memcmp(h->names[i], name, len) == 0) {
            if (found >= 0)
                return -2;
            found = i;
        }
    return found;
}

static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* a number at p (line end e): its value and the end; 1 if none.
 *
 * Up to 15 significant digits and a power of ten up to 22: one exact
 * multiply or divide of exact operands, so correctly rounded (Clinger's
 * fast path).  For float32 data, longer mantissas (np.savetxt's %.18e has
 * 19 digits) take the first 19 digits: the double then lies within 2 ulp
 * of the correctly rounded one, and when it is more than 8 ulp away from a
 * float32 rounding midpoint both round to the same float32, which is all
 * the caller keeps.  Everything else goes to strtod. */
static int parse_number(const char *p, const char *e, int f32, double *v, const char **end)
{
    const char *q = p;
    uint64_t m = 0;
    int sig = 0, scale = 0, any = 0, dropped = 0, neg = 0, ex = 0;
    if (q < e && (*q == '-' || *q == '+'))
        neg = *q++ == '-';
    for (; q < e && *q >= '0' && *q <= '9'; q++) {
        int d = *q - '0';
        any = 1;
        if (m == 0 && d == 0)
            continue;                   /* a leading zero */
        if (sig < 19) {
            m = m * 10 + (uint64_t)d;
            sig++;
        } else {
            scale++;
            dropped |= d != 0;
        }
    }
    if (q < e && *q == '.') {
        for (q++; q < e && *q >= '0' && *q <= '9'; q++) {
            int d = *q - '0';
            any = 1;
            if (m == 0 && d == 0) {
                scale--;
            } else if (sig < 19) {
                m = m * 10 + (uint64_t)d;
                sig++;
                scale--;
            } else {
                dropped |= d != 0;
            }
        }
    }
    if (!any)
        goto slow;
    if (q < e && (*q == 'e' || *q == 'E')) {
        int eneg = 0, ed = 0;
        q++;
        if (q < e && (*q == '-' || *q == '+'))
            eneg = *q++ == '-';
        while (q < e && *q >= '0' && *q <= '9') {
            if (ex < 10000)
                ex = ex * 10 + (*q - '0');
            q++;
            ed++;
        }
        if (!ed)
            goto slow;
        if (eneg)
            ex = -ex;
    }
    if (q < e && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '.'))
        goto slow;                      /* hex, "1.5.3", ...: strtod decides */
    ex += scale;
    if (m == 0) {
        *v = neg ? -0.0 : 0.0;
    } else if (sig <= 15 && !dropped && ex >= -22 && ex <= 22) {
        *v = ex >= 0 ? (double)m * pow10_exact[ex] : (double)m / pow10_exact[-ex];
        if (neg)
            *v = -*v;
    } else if (f32 && ex >= -22 && ex <= 22) {
        double d = ex >= 0 ? (double)m * pow10_exact[ex] : (double)m / pow10_exact[-ex];
        uint64_t bits;
        uint32_t low;
        if (!(d >= 1.1754943508222875e-38 && d <= 3.4028234663852886e38))
            goto slow;                  /* float32 subnormals and overflow */
        memcpy(&bits, &d, 8);
        low = (uint32_t)(bits & 0x1FFFFFFFu);   /* the 29 bits float32 drops */
        if (low > 0x10000000u - 8 && low < 0x10000000u + 8)
            goto slow;
        *v = neg ? -d : d;
    } else {
        goto slow;
    }
    *end = q;
    return 0;
slow:
    {
        char *endp;
        /* strtod skips leading white space, '\n' included: only start it on
         * what can begin a number */
        char c = *p;
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'i' || c == 'I' ||
              c == 'n' || c == 'N'))
            return 1;
        errno = 0;
        *v = strtod(p, &endp);
        if (endp == p || endp > e)
            return 1;
        *end = endp;
        return 0;
    }
}

/* the cell's text for a message: up to 40 characters, quoted */
static void cell_text(const char *p, const char *e, char *buf, size_t cap)
{
    const char *q = p;
    size_t k = 0;
    while (q < e && *q != ',')
        q++;
    while (q > p && is_blank(q[-1]))
        q--;
    if (q == p) {
        snprintf(buf, cap, "an empty cell");
        return;
    }
    buf[k++] = '\'';
    while (p < q && k + 5 < cap && k < 42)
        buf[k++] = *p >= 32 && *p < 127 ? *p++ : (p++, '?');
    if (p < q && k + 5 < cap) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k++] = '\'';
    buf[k] = '\0';
}

int host_csv_has(const char *path, const char *name)
{
    host_src s = { path, NULL };
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    csv_header h;
    int r;
    if (!f) {
        host_err(&s, "cannot open: %s", strerror(errno));
        return -1;
    }
    got = getline(&line, &cap, f);
    fclose(f);
    if (header_parse(&s, got > 0 ? line : "", got > 0 ? (size_t)got : 0, &h)) {
        free(line);
        return -1;
    }
    free(line);
    r = find_column(&h, name, strlen(name));
    header_free(&h);
    if (r == -2) {
        host_err(&s, "row 1: expected one column named '%s', found two or more", name);
        return -1;
    }
    return r >= 0;
}

int host_csv_load(const char *path, const char *column, const char *exclude, int missing_ok,
                  nnc_host_dtype want, nnc_host_array *a)
{
    host_src s = { path, NULL };
    unsigned char *ubuf = NULL;
    const char *buf;
    size_t len, at;
    csv_header h;
    char *take = NULL;      /* per column: 1 when taken */
    long rows_max = 0, row = 0, line;
    int c, nsel = 0, rc = 1;
    float *fd = NULL;
    int32_t *id = NULL;
    void *out = NULL;
    char found[64];

    memset(&h, 0, sizeof h);
    if (host_read_file(path, &ubuf, &len))
        return 1;
    buf = (const char *)ubuf;
    if (header_parse(&s, buf, len, &h))
        goto done;
    if ((take = calloc((size_t)h.n, 1)) == NULL) {
        host_err(&s, "out of memory");
        goto done;
    }
    if (column) {
        int k = find_column(&h, column, strlen(column));
        if (k < 0) {
            host_err(&s, "row 1: expected %s column named '%s', found %s", k == -1 ? "a" : "exactly one",
                     column, k == -1 ? "none (see the header)" : "two or more");
            goto done;
        }
        take[k] = 1;
        nsel = 1;
    } else {
        const char *p = exclude ? exclude : "";
        memset(take, 1, (size_t)h.n);
        while (*p) {
            const char *q = p, *b;
            int k;
            while (*q && *q != ',')
                q++;
            while (p < q && is_blank(*p))
                p++;
            b = q;
            while (b > p && is_blank(b[-1]))
                b--;
            if (b > p) {
                k = find_column(&h, p, (size_t)(b - p));
                if (k == -2 || (k == -1 && !missing_ok)) {
                    host_err(&s, "row 1: expected %s column named '%.*s' to exclude, found %s",
                             k == -1 ? "a" : "exactly one", (int)(b - p), p,
                             k == -1 ? "none (see the header)" : "two or more");
                    goto done;
                }
                if (k >= 0)
                    take[k] = 0;
            }
            p = *q ? q + 1 : q;
        }
        for (c = 0; c < h.n; c++)
            nsel += take[c];
        if (nsel == 0) {
            host_err(&s, "row 1: expected at least one column left after excluding '%s', found none", exclude);
            goto done;
        }
    }

    /* at most one sample per remaining line */
    {
        const char *p = buf + h.end, *e = buf + len;
        while (p < e) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            rows_max++;
            p = nl ? nl + 1 : e;
        }
    }
    if ((unsigned long)rows_max > (SIZE_MAX / 4) / (size_t)nsel) {
        host_err(&s, "too large: %ld rows of %d columns", rows_max, nsel);
        goto done;
    }
    out = malloc(rows_max ? (size_t)rows_max * (size_t)nsel * 4 : 1);
    if (!out) {
        host_err(&s, "out of memory for %ld rows of %d columns", rows_max, nsel);
        goto done;
    }
    fd = out;
    id = out;

    at = h.end;
    for (line = 2; at < len; line++) {
        const char *p = buf + at, *e, *nl = memchr(p, '\n', len - at), *t;
        long base = row * nsel;
        int k = 0;
        e = nl ? nl : buf + len;
        at = nl ? (size_t)(nl - buf) + 1 : len;
        if (e > p && e[-1] == '\r')
            e--;
        for (t = p; t < e && is_blank(*t); t++)
            ;
        if (t == e)
            continue;                   /* a blank line */
        for (c = 0; c < h.n; c++) {
            const char *q = p, *cend;
            int quoted = 0;
            while (q < e && is_blank(*q))
                q++;
            if (q < e && *q == '"') {   /* a quoted cell: its text up to the closing quote */
                const char *z = q + 1;
                while (z < e && !(*z == '"' && !(z + 1 < e && z[1] == '"')))
                    z += *z == '"' ? 2 : 1;
                if (z >= e) {
                    host_err(&s, "row %ld, column %d ('%s'): expected a closing quote on the same line "
                             "(cells spanning lines are not read), found the line's end", line, c + 1, h.names[c]);
                    goto done;
                }
                quoted = 1;
                cend = z;
                q++;
            } else {
                cend = q;
                while (cend < e && *cend != ',')
                    cend++;
            }
            if (take[c]) {
                double v;
                const char *ne;
                int bad = parse_number(q, cend, want == NNC_HOST_F32, &v, &ne);
                if (!bad) {
                    while (ne < cend && is_blank(*ne))
                        ne++;
                    bad = ne != cend;
                }
                if (bad) {
                    if (quoted) {
                        size_t n = (size_t)(cend - q);
                        snprintf(found, sizeof found, "'\"%.*s\"'", (int)(n > 40 ? 40 : n), q);
                    } else {
                        cell_text(q, e, found, sizeof found);
                    }
                    host_err(&s, "row %ld, column %d ('%s'): expected a number, found %s", line, c + 1,
                             h.names[c], found);
                    goto done;
                }
                if (want == NNC_HOST_F32) {
                    float f = (float)v;
                    if (isinf(f) && !isinf(v)) {
                        host_err(&s, "row %ld, column %d ('%s'): expected a value in float32's range, found %.17g",
                                 line, c + 1, h.names[c], v);
                        goto done;
                    }
                    fd[base + k] = f;
                } else {
                    if (v != v || v != floor(v) || v < -2147483648.0 || v > 2147483647.0) {
                        host_err(&s, "row %ld, column %d ('%s'): expected an integer%s (int32 data), found %.17g",
                                 line, c + 1, h.names[c], v == floor(v) ? " in int32's range" : "", v);
                        goto done;
                    }
                    id[base + k] = (int32_t)v;
                }
                k++;
            }
            q = cend + quoted;
            while (q < e && is_blank(*q))
                q++;
            if (c + 1 < h.n) {
                if (q >= e) {
                    host_err(&s, "row %ld: expected %d cells (the header's columns), found %d", line, h.n, c + 1);
                    goto done;
                }
                if (*q != ',') {
                    cell_text(q, e, found, sizeof found);
                    host_err(&s, "row %ld, column %d ('%s'): expected ',' after the quoted cell, found %s",
                             line, c + 1, h.names[c], found);
                    goto done;
                }
                p = q + 1;
            } else if (q < e) {
                int cells = h.n;
                if (*q != ',') {
                    cell_text(q, e, found, sizeof found);
                    host_err(&s, "row %ld, column %d ('%s'): expected the line's end after the quoted cell, "
                             "found %s", line, c + 1, h.names[c], found);
                    goto done;
                }
                for (; q < e; q++)          /* count them, roughly (quotes ignored) */
                    cells += *q == ',';
                host_err(&s, "row %ld: expected %d cells (the header's columns), found %d", line, h.n, cells);
                goto done;
            }
        }
        row++;
    }

    a->dtype = want;
    if (column) {
        a->ndim = 1;
        a->shape[0] = row;
    } else {
        a->ndim = 2;
        a->shape[0] = row;
        a->shape[1] = nsel;
    }
    if (row < rows_max && row > 0) {
        void *sh = realloc(out, (size_t)row * (size_t)nsel * 4);
        if (sh)
            out = sh;
    }
    a->data = out;
    out = NULL;
    snprintf(a->stored, sizeof a->stored, "csv");
    rc = 0;
done:
    free(out);
    free(take);
    header_free(&h);
    free(ubuf);
    return rc;
}
