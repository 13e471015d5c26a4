/* export.c — writes Fashion-MNIST samples as the firmware programs read
 * them: raw native float32 pixels, and for labelled files each sample
 * followed by its class as a float.  Host tool, used by tests/firmware.sh.
 * Usage: export SPLIT FIRST COUNT OUT.bin [labels [CLASSES]]; CLASSES (e.g.
 * "0,2,4,6") keeps only samples of those classes: COUNT of them from FIRST on.
 *
 * export --as KIND SPLIT FIRST COUNT OUT [DIMS|- [LABELS]]: COUNT samples
 * from FIRST on as the MLPerf Tiny examples' drivers make them
 * (examples/common/standin.h; KIND kws, vww, ic, ad, or fashion for the
 * images as they are); ad skips the anomalies (bags), as its driver's
 * training set does.  OUT ending in .npy is a NumPy file of shape (COUNT,
 * DIMS) (DIMS "49,10,1": the model's input shape; default or "-", the flat
 * sample size), the calibration data of `nnc --quantize int8 --calibrate`;
 * else raw floats.  LABELS, if given, gets each sample's class as int32.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "standin.h"

/* a version 1.0 .npy header for little-endian float32 of shape (n, dims) */
static int npy_header(FILE *f, long n, const char *dims, long size)
{
    char shape[256], head[400];
    size_t len, total;
    long prod = 1;
    const char *p;
    if (dims && *dims) {
        for (p = dims; *p; p++)
            if ((*p < '0' || *p > '9') && *p != ',') {
                fprintf(stderr, "export: bad dimensions '%s' (want e.g. 49,10,1)\n", dims);
                return 1;
            }
        for (p = dims; *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
            prod *= atol(p);
        if (prod != size || strlen(dims) > 200) {
            fprintf(stderr, "export: dimensions %s hold %ld floats, a sample has %ld\n", dims, prod, size);
            return 1;
        }
        snprintf(shape, sizeof shape, "%ld,%s", n, dims);
    } else {
        snprintf(shape, sizeof shape, "%ld, %ld", n, size);
    }
    snprintf(head, sizeof head, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape);
    len = strlen(head);
    total = (10 + len + 1 + 63) / 64 * 64;  /* magic, version, length, dict, newline: a multiple of 64 */
    memset(head + len, ' ', total - 10 - 1 - len);
    head[total - 10 - 1] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)((total - 10) & 0xff), f);
    fputc((int)((total - 10) >> 8), f);
    return fwrite(head, 1, total - 10, f) != total - 10;
}

static int export_as(int argc, char **argv)
{
    static const char *const kinds[] = { "fashion", "kws", "vww", "ic", "ad" };
    enum standin_kind k = STANDIN_NONE;
    data_set ds;
    long first, count, i, size, kept = 0;
    float *sample;
    size_t plen;
    int k_found = 0, bad = 0;
    FILE *f, *lf = NULL;
    if (argc < 7) {
        fprintf(stderr, "usage: export --as fashion|kws|vww|ic|ad SPLIT FIRST COUNT OUT[.npy] [DIMS|- [LABELS]]\n");
        return 2;
    }
    for (i = 0; i < 5; i++)
        if (!strcmp(argv[2], kinds[i]))
            k = (enum standin_kind)i, k_found = 1;
    if (!k_found) {
        fprintf(stderr, "export: unknown kind '%s' (fashion, kws, vww, ic or ad)\n", argv[2]);
        return 2;
    }
    first = atol(argv[4]);
    count = atol(argv[5]);
    size = standin_size(k);
    if (data_load_fashion(argv[3], 0, &ds))
        return 1;
    if (first < 0 || count < 1 || first > ds.n - count) {
        fprintf(stderr, "export: %s has %ld samples, not %ld from %ld on\n", argv[3], ds.n, count, first);
        data_free(&ds);
        return 1;
    }
    sample = malloc((size_t)size * sizeof *sample);
    f = fopen(argv[6], "wb");
    if (!f || !sample) {
        fprintf(stderr, "export: cannot write %s\n", argv[6]);
        free(sample);
        data_free(&ds);
        if (f)
            fclose(f);
        return 1;
    }
    plen = strlen(argv[6]);
    if (plen > 4 && !strcmp(argv[6] + plen - 4, ".npy"))
        bad = npy_header(f, count, argc > 7 && strcmp(argv[7], "-") ? argv[7] : NULL, size);
    if (argc > 8 && (lf = fopen(argv[8], "wb")) == NULL) {
        fprintf(stderr, "export: cannot write %s\n", argv[8]);
        bad = 1;
    }
    for (i = first; i < ds.n && kept < count && !bad; i++) {
        if (k == STANDIN_AD && ds.y[i] == STANDIN_AD_ANOMALY)
            continue;
        int32_t label = standin_sample(k, ds.x + i * STANDIN_SIDE * STANDIN_SIDE, ds.y[i], i, sample);
        bad = fwrite(sample, sizeof(float), (size_t)size, f) != (size_t)size ||
              (lf && fwrite(&label, sizeof label, 1, lf) != 1);
        kept++;
    }
    if (kept < count && !bad) {
        fprintf(stderr, "export: %s has only %ld such samples from %ld on\n", argv[3], kept, first);
        bad = 1;
    }
    free(sample);
    data_free(&ds);
    if ((lf && fclose(lf)) || fclose(f) || bad) {
        fprintf(stderr, "export: could not write %s\n", argv[6]);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    data_set ds;
    long first, count, i, kept = 0;
    int labels, keep[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    FILE *f;
    if (argc > 1 && !strcmp(argv[1], "--as"))
        return export_as(argc, argv);
    if (argc < 5) {
        fprintf(stderr, "usage: export train|t10k FIRST COUNT OUT.bin [labels]\n");
        return 2;
    }
    first = atol(argv[2]);
    count = atol(argv[3]);
    labels = argc > 5 && !strcmp(argv[5], "labels");
    if (argc > 6) {
        const char *c;
        memset(keep, 0, sizeof keep);
        for (c = argv[6]; *c; c++)
            if (*c >= '0' && *c <= '9')
                keep[*c - '0'] = 1;
    }
    if (data_load_fashion(argv[1], 0, &ds))
        return 1;
    f = fopen(argv[4], "wb");
    if (!f) {
        fprintf(stderr, "export: cannot write %s\n", argv[4]);
        data_free(&ds);
        return 1;
    }
    for (i = first; i < ds.n && kept < count; i++) {
        float y = (float)ds.y[i];
        if (!keep[ds.y[i]])
            continue;
        fwrite(ds.x + i * 784, sizeof(float), 784, f);
        if (labels)
            fwrite(&y, sizeof y, 1, f);
        kept++;
    }
    data_free(&ds);
    if (kept < count) {
        fprintf(stderr, "export: %s has only %ld such samples from %ld on\n", argv[1], kept, first);
        fclose(f);
        return 1;
    }
    return fclose(f) ? 1 : 0;
}
