/* host_data_dump.c — loads a data file with the host library and prints
 * what it read, for tests/host_data.py to compare with what NumPy wrote.
 *
 *   host_data_dump array PATH [-m MEMBER] [-e EXCLUDE] [-i] [-s D1,D2,..]
 *                       [-p] [-o OUT.npy] [-t]
 *   host_data_dump xy XPATH [-y YPATH] [-l LABEL_COLUMN] -n INPUT_SIZE
 *                       [-k INPUT_IDS] -N LABEL_SIZE [-c CLASSES (sparse labels)]
 *                       [-I INPUT_NAME] [-L LABEL_NAME] [-u (no labels)] [-p] [-t]
 *
 * Prints "shape E1 E2 ..", "stored DTYPE", "dtype f32|i32" (each prefixed
 * "x " / "y " for xy, then "n N"), and with -p every value, one a line
 * (floats as %.9g, which round-trips float32).  -o writes the array back
 * with nnc_host_npy_save (float32).  -t prints the load time to stderr.
 * Exit status: 0, 1 when loading failed (the library's message on
 * stderr), 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnc_host.h"

static void print_array(const char *prefix, const nnc_host_array *a, int values)
{
    long n, k;
    int d;
    printf("%sshape", prefix);
    for (d = 0; d < a->ndim; d++)
        printf(" %ld", a->shape[d]);
    printf("\n%sstored %s\n%sdtype %s\n", prefix, a->stored, prefix, a->dtype == NNC_HOST_I32 ? "i32" : "f32");
    if (!values)
        return;
    n = a->ndim ? a->shape[0] * nnc_host_array_sample_size(a) : 0;
    for (k = 0; k < n; k++)
        if (a->dtype == NNC_HOST_I32)
            printf("%s%ld\n", prefix, (long)((const int32_t *)a->data)[k]);
        else
            printf("%s%.9g\n", prefix, (double)((const float *)a->data)[k]);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(void)
{
    fprintf(stderr, "usage: host_data_dump array PATH [-m MEMBER] [-e EXCLUDE] [-i] [-s D1,D2] [-p] [-o OUT] [-t]\n"
                    "       host_data_dump xy XPATH [-y YPATH] [-l COLUMN] -n INPUT_SIZE [-k IDS] -N LABEL_SIZE\n"
                    "                      [-c CLASSES] [-I NAME] [-L NAME] [-u] [-p] [-t]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *member = NULL, *exclude = NULL, *out = NULL, *ypath = NULL, *column = NULL;
    long shape[NNC_HOST_MAX_DIMS];
    int dims = 0, have_shape = 0, values = 0, timing = 0, i, rc;
    nnc_host_dtype want = NNC_HOST_F32;
    nnc_host_io io;
    int need_labels = 1;
    double t0;
    memset(&io, 0, sizeof io);
    if (argc < 3)
        return usage();
    for (i = 3; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "-i")) { want = NNC_HOST_I32; continue; }
        if (!strcmp(o, "-p")) { values = 1; continue; }
        if (!strcmp(o, "-t")) { timing = 1; continue; }
        if (!strcmp(o, "-u")) { need_labels = 0; continue; }
        if (!v)
            return usage();
        i++;
        if (!strcmp(o, "-m")) member = v;
        else if (!strcmp(o, "-e")) exclude = v;
        else if (!strcmp(o, "-o")) out = v;
        else if (!strcmp(o, "-y")) ypath = v;
        else if (!strcmp(o, "-l")) column = v;
        else if (!strcmp(o, "-n")) io.input_size = atol(v);
        else if (!strcmp(o, "-k")) io.input_ids = atoi(v);
        else if (!strcmp(o, "-N")) io.label_size = atol(v);
        else if (!strcmp(o, "-c")) { io.classes = atoi(v); io.sparse_labels = 1; }
        else if (!strcmp(o, "-I")) io.input_name = v;
        else if (!strcmp(o, "-L")) io.label_name = v;
        else if (!strcmp(o, "-s")) {
            char *p = (char *)v, *e;
            have_shape = 1;
            while (*p && dims < NNC_HOST_MAX_DIMS) {
                shape[dims++] = strtol(p, &e, 10);
                p = *e == ',' ? e + 1 : e;
                if (e == p && *p) return usage();
            }
        } else {
            return usage();
        }
    }
    t0 = now();
    if (!strcmp(argv[1], "array")) {
        nnc_host_array a;
        rc = nnc_host_array_load(argv[2], member, exclude, want, have_shape ? shape : NULL, dims, &a);
        if (timing)
            fprintf(stderr, "seconds %.3f\n", now() - t0);
        if (rc) {
            if (a.data || a.ndim || a.shape[0])
                fprintf(stderr, "host_data_dump: BUG: the array is not empty after a failure\n");
            return 1;
        }
        print_array("", &a, values);
        if (out && nnc_host_npy_save(out, a.data, a.shape, a.ndim)) {
            nnc_host_array_free(&a);
            return 1;
        }
        nnc_host_array_free(&a);
        return 0;
    }
    if (!strcmp(argv[1], "xy")) {
        nnc_host_xy d;
        rc = nnc_host_xy_load(argv[2], ypath, column, &io, need_labels, &d);
        if (timing)
            fprintf(stderr, "seconds %.3f\n", now() - t0);
        if (rc) {
            if (d.x.data || d.y.data || d.n)
                fprintf(stderr, "host_data_dump: BUG: the data are not empty after a failure\n");
            return 1;
        }
        print_array("x ", &d.x, values);
        if (d.y.data)
            print_array("y ", &d.y, values);
        printf("n %ld\n", d.n);
        nnc_host_xy_free(&d);
        return 0;
    }
    return usage();
}
