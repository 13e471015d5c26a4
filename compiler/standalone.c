/* standalone.c — --standalone: model.c and model.h that need no runtime
 * library, so a device build is copying two files and `cc model.c -lm`.
 *
 * The runtime's sources are compiled into nnc (compiler/embed_runtime.sh
 * writes them into build/gen/rt_embed.inc at build time, with the symbols
 * each file's object defines and uses).  model.h gets nnc_rt.h in place of
 * its #include; model.c gets, after the model, the runtime files it calls:
 * the files defining the nnc_rt_* names the model's code mentions, and what
 * those use, transitively.  A SIMD file compiled to nothing on the machine
 * nnc was built on (conv_avx512.c without AVX-512) comes with its family
 * (conv.c), so the kernels are there whatever -march model.c is built with:
 * the runtime chooses them by the compiler's macros, as in the library.
 * Likewise a file compiled to nothing for want of a flag (parallel.c
 * without -fopenmp) comes with the files that include its header
 * (parallel.h), so model.c built with -fopenmp links.
 *
 * One translation unit where the runtime has several: the guarded headers
 * (nnc_rt.h, gemm_internal.h, ...) are written once; each file's static
 * names and types are renamed for its body (#define NAME nnc_sa_FILE_NAME,
 * #undef after), and the macros it defines are #undef'd after it, so the
 * per-ISA instances of the convolution templates do not collide.  The
 * runtime's external functions keep their names (a static one that the
 * model never calls would be an unused-function warning). */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

typedef struct RtFile {
    const char *name, *defs, *uses, *text;
} RtFile;

#include "rt_embed.inc"

enum { NFILES = sizeof rt_files / sizeof rt_files[0] };

static int file_index(const char *name) {
    for (int i = 0; i < NFILES; i++)
        if (!strcmp(rt_files[i].name, name)) return i;
    return -1;
}

/* the file whose object defines symbol `sym` (len bytes), or -1 */
static int definer(const char *sym, size_t len) {
    for (int i = 0; i < NFILES; i++) {
        for (const char *p = rt_files[i].defs; (p = strstr(p, sym)); p++)
            if (p[-1] == ' ' && !strncmp(p, sym, len) && p[len] == ' ') return i;
    }
    return -1;
}

/* mark file f and what it uses */
static void need(int f, char *needed) {
    if (f < 0 || needed[f]) return;
    needed[f] = 1;
    const char *p = rt_files[f].uses;
    while (*p) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (!len) break;
        char sym[256];
        if (len < sizeof sym) {
            memcpy(sym, p, len);
            sym[len] = 0;
            need(definer(sym, len), needed);
        }
        p += len;
    }
}

/* the header is `#ifndef X / #define X ...`: included once, outside any file's renames */
static int guarded(const char *text) {
    const char *p = strstr(text, "\n#");
    return p && !strncmp(p + 1, "#ifndef ", 8);
}

/* the quoted #include on this line (line..end): its file index, else -1 */
static int include_of(const char *line, const char *end) {
    if (strncmp(line, "#include \"", 10)) return -1;
    const char *q = memchr(line + 10, '"', (size_t)(end - line - 10));
    if (!q) return -1;
    char name[64];
    size_t len = (size_t)(q - line - 10);
    if (len >= sizeof name) return -1;
    memcpy(name, line + 10, len);
    name[len] = 0;
    return file_index(name);
}

static void hoist_headers(const char *text, char *written, FILE *out);

/* text includes the runtime header `name`, itself or through the runtime
 * headers it includes (depth levels) */
static int includes(const char *text, const char *name, int depth) {
    for (const char *line = text; *line && depth > 0;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        int h = include_of(line, end);
        if (h >= 0 && (!strcmp(rt_files[h].name, name) || includes(rt_files[h].text, name, depth - 1))) return 1;
        line = *end ? end + 1 : end;
    }
    return 0;
}

/* guarded header h, once: the headers it includes, then its own lines */
static void write_header(int h, char *written, FILE *out) {
    if (written[h]) return;
    written[h] = 1;
    hoist_headers(rt_files[h].text, written, out);
    fprintf(out, "/* ---- runtime/%s ---- */\n", rt_files[h].name);
    for (const char *l = rt_files[h].text; *l;) {   /* its own includes are written */
        const char *e = strchr(l, '\n');
        if (!e) e = l + strlen(l);
        if (include_of(l, e) < 0) fprintf(out, "%.*s\n", (int)(e - l), l);
        l = *e ? e + 1 : e;
    }
}

/* write the guarded headers text includes (recursively) that are not written yet */
static void hoist_headers(const char *text, char *written, FILE *out) {
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        int h = include_of(line, end);
        if (h >= 0) {
            if (guarded(rt_files[h].text)) write_header(h, written, out);
            else hoist_headers(rt_files[h].text, written, out);
        }
        line = *end ? end + 1 : end;
    }
}

/* text with its unguarded (template) headers inlined and guarded ones dropped */
static void expand(const char *text, FILE *out) {
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        int h = include_of(line, end);
        if (h < 0) fprintf(out, "%.*s\n", (int)(end - line), line);
        else if (!guarded(rt_files[h].text)) expand(rt_files[h].text, out);
        line = *end ? end + 1 : end;
    }
}

typedef struct Names { char (*name)[128]; int n, cap; } Names;

static void add_name(Names *s, const char *p, size_t len) {
    if (len >= 128 || !strncmp(p, "nnc_rt_", 7) || !strncmp(p, "NNC_RT_", 7)) return;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->name[i]) == len && !strncmp(s->name[i], p, len)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->name = realloc(s->name, (size_t)s->cap * sizeof *s->name);
        if (!s->name) abort();
    }
    memcpy(s->name[s->n], p, len);
    s->name[s->n++][len] = 0;
}

/* the file-scope names a body declares that another file may declare too:
 * statics, typedefs and the functions its template macros instantiate
 * (renamed), and its macros (#undef'd after it) */
static int scan_names(const char *body, Names *renames, Names *macros) {
    enum { NPAT = 6 };
    static const char *const pat[NPAT] = {
        "^static[^(=;]*[^A-Za-z0-9_(=;]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*[[(=;]",
        "^typedef[^;]*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*);[[:space:]]*(/\\*.*)?$",
        "^typedef[^(]*\\([[:space:]]*\\*[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\\)",
        "^}[[:space:]]*([A-Za-z_][A-Za-z0-9_]*);",
        "^[A-Z][A-Z0-9_]*\\(([a-z_][A-Za-z0-9_]*)[,)]",
        "^#[[:space:]]*define[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)",
    };
    regex_t re[NPAT];
    for (int i = 0; i < NPAT; i++)
        if (regcomp(&re[i], pat[i], REG_EXTENDED)) {
            for (int j = 0; j < i; j++) regfree(&re[j]);
            return -1;
        }
    int continued = 0;
    char line[1024];
    for (const char *p = body; *p;) {
        const char *end = strchr(p, '\n');
        if (!end) end = p + strlen(p);
        size_t len = (size_t)(end - p);
        if (len >= sizeof line) len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = 0;
        int cont = len && line[len - 1] == '\\';
        for (int i = 0; i < NPAT && !continued; i++) {      /* not inside a macro's body */
            regmatch_t m[2];
            if (!regexec(&re[i], line, 2, m, 0) && m[1].rm_so >= 0)
                add_name(i == NPAT - 1 ? macros : renames, line + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
        }
        if (!continued && !strncmp(line, "enum", 4) && strchr(line, '{') && strchr(line, '}'))
            for (const char *q = strchr(line, '{') + 1; q && *q && *q != '}'; q = strpbrk(q, ",}")) {
                q += *q == ',';                  /* one-line enum: its enumerators */
                q += strspn(q, " \t");
                size_t n = strspn(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
                if (n) add_name(renames, q, n);
                if (*q == '}') break;
            }
        continued = cont;
        p = *end ? end + 1 : end;
    }
    for (int i = 0; i < NPAT; i++) regfree(&re[i]);
    return 0;
}

static void file_stem(const char *name, char *out, size_t cap) {
    size_t i = 0;
    for (; name[i] && name[i] != '.' && i + 1 < cap; i++) out[i] = name[i];
    out[i] = 0;
}

/* a SIMD file that this build compiled to nothing: its family's stem ("conv") */
static int family_of(int f, char *fam, size_t cap) {
    if (rt_files[f].defs[0] != ' ' || strspn(rt_files[f].defs, " ") != strlen(rt_files[f].defs)) return 0;
    size_t n = strcspn(rt_files[f].name, "_.");
    if (n >= cap) return 0;
    memcpy(fam, rt_files[f].name, n);
    fam[n] = 0;
    return 1;
}

int standalone_bundle(const char *ctext, const char *htext, char **c, size_t *clen, char **h, size_t *hlen) {
    int rt = file_index("nnc_rt.h");
    const char *inc = strstr(htext, "#include \"nnc_rt.h\"\n");
    if (rt < 0 || !inc) {
        fprintf(stderr, "nnc: --standalone: this nnc was built without the runtime's sources\n");
        return -1;
    }
    FILE *hf = open_memstream(h, hlen);
    if (!hf) abort();
    /* nnc_rt.h includes nnc_rt_q8.h (the int8 kernels): spliced in where it is included */
    const char *rt_text = rt_files[rt].text, *q8inc = strstr(rt_text, "#include \"nnc_rt_q8.h\"\n");
    int q8 = file_index("nnc_rt_q8.h");
    if (q8inc && q8 >= 0)
        fprintf(hf, "%.*s/* ---- runtime/nnc_rt.h (nnc --standalone) ---- */\n%.*s%s%s", (int)(inc - htext), htext,
                (int)(q8inc - rt_text), rt_text, rt_files[q8].text, q8inc + strlen("#include \"nnc_rt_q8.h\"\n"));
    else
        fprintf(hf, "%.*s/* ---- runtime/nnc_rt.h (nnc --standalone) ---- */\n%s", (int)(inc - htext), htext, rt_text);
    fputs(inc + strlen("#include \"nnc_rt.h\"\n"), hf);
    fclose(hf);

    char needed[NFILES] = { 0 }, written[NFILES] = { 0 };
    written[rt] = 1;
    if (q8inc && q8 >= 0) written[q8] = 1;
    for (const char *p = ctext; (p = strstr(p, "nnc_rt_"));) {    /* what the model calls */
        size_t len = 0;
        while (p[len] == '_' || (p[len] >= 'a' && p[len] <= 'z') || (p[len] >= 'A' && p[len] <= 'Z') ||
               (p[len] >= '0' && p[len] <= '9'))
            len++;
        char sym[256];
        if (len < sizeof sym && (p == ctext || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')))) {
            memcpy(sym, p, len);
            sym[len] = 0;
            need(definer(sym, len), needed);
        }
        p += len;
    }
    for (int f = 0; f < NFILES; f++) {       /* a family's SIMD files come with it */
        char fam[32], stem[32];
        if (needed[f] || !family_of(f, fam, sizeof fam)) continue;
        for (int g = 0; g < NFILES; g++) {
            file_stem(rt_files[g].name, stem, sizeof stem);
            if (needed[g] && !strcmp(stem, fam)) need(f, needed);
        }
    }

    for (int f = 0; f < NFILES; f++) {       /* a file compiled to nothing here comes with its header's users */
        char stem[32], inc[40];
        size_t n = strlen(rt_files[f].name);
        if (needed[f] || n < 3 || strcmp(rt_files[f].name + n - 2, ".c") ||
            strspn(rt_files[f].defs, " ") != strlen(rt_files[f].defs))
            continue;
        file_stem(rt_files[f].name, stem, sizeof stem);
        snprintf(inc, sizeof inc, "%s.h", stem);
        for (int g = 0; g < NFILES; g++)
            if (needed[g] && includes(rt_files[g].text, inc, 4)) {
                need(f, needed);
                break;
            }
    }

    FILE *cf = open_memstream(c, clen);
    if (!cf) abort();
    for (const char *line = ctext; *line;) {     /* the model, the runtime headers it includes in place */
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        int h = include_of(line, end);
        if (h < 0) fprintf(cf, "%.*s\n", (int)(end - line), line);
        else if (guarded(rt_files[h].text)) write_header(h, written, cf);
        else expand(rt_files[h].text, cf);
        line = *end ? end + 1 : end;
    }
    fputs("\n/* ======== the runtime (nnc --standalone): the files of runtime/ this model calls ======== */\n"
          "#if defined(__GNUC__) && !defined(__clang__)\n"
          "/* seen whole with the model, a kernel's tail loop after a vector loop that\n"
          " * ends exactly at a constant size makes GCC 12 warn of an iteration 2^62 */\n"
          "#pragma GCC diagnostic ignored \"-Waggressive-loop-optimizations\"\n"
          "#endif\n"
          "#ifdef __clang__\n"
          "/* the internal headers' static inline helpers, pasted into this file, are\n"
          " * not all called by the kernels one model needs (clang warns of those) */\n"
          "#pragma clang diagnostic ignored \"-Wunused-function\"\n"
          "#endif\n", cf);
    int status = 0;
    for (int f = 0; f < NFILES && !status; f++) {
        if (!needed[f]) continue;
        hoist_headers(rt_files[f].text, written, cf);
        char *body = NULL;
        size_t blen = 0;
        FILE *bf = open_memstream(&body, &blen);
        if (!bf) abort();
        expand(rt_files[f].text, bf);
        fclose(bf);
        Names renames = { 0 }, macros = { 0 };
        char stem[64];
        file_stem(rt_files[f].name, stem, sizeof stem);
        status = scan_names(body, &renames, &macros);
        fprintf(cf, "\n/* ---- runtime/%s ---- */\n", rt_files[f].name);
        for (int i = 0; i < renames.n; i++) {     /* a name the file #defines in some branch stays */
            int macro = 0;
            for (int j = 0; j < macros.n; j++) macro |= !strcmp(macros.name[j], renames.name[i]);
            if (macro) renames.name[i][0] = 0;
            else fprintf(cf, "#define %s nnc_sa_%s_%s\n", renames.name[i], stem, renames.name[i]);
        }
        fputs(body, cf);
        for (int i = 0; i < renames.n; i++)
            if (renames.name[i][0]) fprintf(cf, "#undef %s\n", renames.name[i]);
        for (int i = 0; i < macros.n; i++) fprintf(cf, "#undef %s\n", macros.name[i]);
        free(renames.name);
        free(macros.name);
        free(body);
    }
    fclose(cf);
    if (status) {
        fprintf(stderr, "nnc: --standalone: internal error scanning the runtime's sources\n");
        free(*c);
        free(*h);
    }
    return status ? -1 : 0;
}
