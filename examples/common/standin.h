/* standin.h — Fashion-MNIST in the shapes of the MLPerf Tiny benchmarks,
 * whose own data sets (Speech Commands, COCO person crops, CIFAR-10,
 * ToyADMOS) Debian does not ship.  One 28x28 image (pixels in [0, 1],
 * row-major) becomes one sample of each benchmark's input:
 *
 *   kws  49x10x1   bilinear resampling of the image to 49 rows x 10 columns;
 *                  labels 0-9 the garments, and the two classes keyword
 *                  spotting has beyond its ten words: sample i with
 *                  i % 12 == 10 becomes "silence" (10: faint uniform noise)
 *                  and i % 12 == 11 "unknown" (11: the image upside down)
 *   vww  96x96x3   the image scaled up 3x (nearest), padded by 6 zero pixels
 *                  to 96x96, replicated into 3 channels; label 1 for the
 *                  garments worn on the upper body (T-shirt 0, pullover 2,
 *                  dress 3, coat 4, shirt 6), 0 for the rest
 *   ic   32x32x3   the image padded by 2 zero pixels, replicated into 3
 *                  channels (data_pad_images' layout), labels unchanged
 *   ad   640       rows 4-23 of the image, each padded by 2 zeros on both
 *                  sides to 32 values: 20 x 32 = 640 values
 *
 * Header-only (static inline) so the example drivers and the firmware
 * tools (firmware/export.c) make the very same samples.  Channels-last.
 */
#ifndef NNC_EXAMPLES_STANDIN_H
#define NNC_EXAMPLES_STANDIN_H

#include <stdint.h>
#include <string.h>

#include "data.h"

enum { STANDIN_SIDE = 28, STANDIN_AD_ANOMALY = 8 };    /* ad: bags play the anomalies */

enum standin_kind { STANDIN_NONE, STANDIN_KWS, STANDIN_VWW, STANDIN_IC, STANDIN_AD };

/* floats per sample of each kind (STANDIN_NONE: the image itself) */
static inline long standin_size(enum standin_kind k)
{
    switch (k) {
    case STANDIN_KWS: return 49 * 10;
    case STANDIN_VWW: return 96 * 96 * 3;
    case STANDIN_IC: return 32 * 32 * 3;
    case STANDIN_AD: return 640;
    default: return STANDIN_SIDE * STANDIN_SIDE;
    }
}

/* the kind an example's name asks for: its prefix kws_, vww_, ic_ or ad_ */
static inline enum standin_kind standin_kind_of(const char *name)
{
    if (!strncmp(name, "kws_", 4)) return STANDIN_KWS;
    if (!strncmp(name, "vww_", 4)) return STANDIN_VWW;
    if (!strncmp(name, "ic_", 3)) return STANDIN_IC;
    if (!strncmp(name, "ad_", 3)) return STANDIN_AD;
    return STANDIN_NONE;
}

/* the image's pixel at real coordinates (r, c) >= 0, bilinear, the last
 * row and column repeated beyond the edge */
static inline float standin_bilinear(const float *img, float r, float c)
{
    int r0 = (int)r, c0 = (int)c, i, j;
    float fr = r - (float)r0, fc = c - (float)c0, v = 0;
    for (i = 0; i < 2; i++)
        for (j = 0; j < 2; j++) {
            int rr = r0 + i < STANDIN_SIDE ? r0 + i : STANDIN_SIDE - 1;
            int cc = c0 + j < STANDIN_SIDE ? c0 + j : STANDIN_SIDE - 1;
            v += (i ? fr : 1 - fr) * (j ? fc : 1 - fc) * img[rr * STANDIN_SIDE + cc];
        }
    return v;
}

/* Sample `index` of a set (its position, which picks kws' extra classes)
 * from image img with class label: out gets standin_size(k) floats, the
 * return value is the sample's class (ad: the image's class, for scoring). */
static inline int standin_sample(enum standin_kind k, const float *img, int label, long index, float *out)
{
    int r, c, ch;
    switch (k) {
    case STANDIN_KWS:
        if (index % 12 == 10) {         /* silence: noise below 0.05 */
            uint32_t s = (uint32_t)index * 2654435761u + 12345u;
            for (r = 0; r < 49 * 10; r++) {
                s = s * 1664525u + 1013904223u;
                out[r] = (float)(s >> 8) * (0.05f / 16777216.0f);
            }
            return 10;
        }
        for (r = 0; r < 49; r++)        /* pixel centres mapped onto the image's */
            for (c = 0; c < 10; c++) {
                float sr = ((float)r + 0.5f) * (28.0f / 49.0f) - 0.5f;
                float sc = ((float)c + 0.5f) * (28.0f / 10.0f) - 0.5f;
                int rr = index % 12 == 11 ? 48 - r : r;
                out[rr * 10 + c] = standin_bilinear(img, sr < 0 ? 0 : sr, sc < 0 ? 0 : sc);
            }
        return index % 12 == 11 ? 11 : label;
    case STANDIN_VWW:
        memset(out, 0, sizeof(float) * 96 * 96 * 3);
        for (r = 0; r < 84; r++)
            for (c = 0; c < 84; c++)
                for (ch = 0; ch < 3; ch++)
                    out[((r + 6) * 96 + c + 6) * 3 + ch] = img[(r / 3) * STANDIN_SIDE + c / 3];
        return label == 0 || label == 2 || label == 3 || label == 4 || label == 6;
    case STANDIN_IC:
        memset(out, 0, sizeof(float) * 32 * 32 * 3);
        for (r = 0; r < STANDIN_SIDE; r++)
            for (c = 0; c < STANDIN_SIDE; c++)
                for (ch = 0; ch < 3; ch++)
                    out[((r + 2) * 32 + c + 2) * 3 + ch] = img[r * STANDIN_SIDE + c];
        return label;
    case STANDIN_AD:
        for (r = 0; r < 20; r++)
            for (c = 0; c < 32; c++)
                out[r * 32 + c] = c < 2 || c >= 30 ? 0.0f : img[(r + 4) * STANDIN_SIDE + c - 2];
        return label;
    default:
        memcpy(out, img, sizeof(float) * STANDIN_SIDE * STANDIN_SIDE);
        return label;
    }
}

/* every image of ds as kind k: x gets ds->n * standin_size(k) floats, y
 * (may be NULL) the n classes */
static inline void standin_set(enum standin_kind k, const data_set *ds, float *x, int32_t *y)
{
    long i, size = standin_size(k);
    for (i = 0; i < ds->n; i++) {
        int label = standin_sample(k, ds->x + i * STANDIN_SIDE * STANDIN_SIDE, ds->y[i], i, x + i * size);
        if (y)
            y[i] = label;
    }
}

#endif
