/* export.c — writes Fashion-MNIST samples as the firmware programs read
 * them: raw native float32 pixels, and for labelled files each sample
 * followed by its class as a float.  Host tool, used by tests/firmware.sh.
 * Usage: export SPLIT FIRST COUNT OUT.bin [labels [CLASSES]]; CLASSES (e.g.
 * "0,2,4,6") keeps only samples of those classes: COUNT of them from FIRST on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

int main(int argc, char **argv)
{
    data_set ds;
    long first, count, i, kept = 0;
    int labels, keep[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    FILE *f;
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
