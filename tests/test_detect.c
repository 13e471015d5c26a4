/* test_detect.c — unit tests for the runtime's RoiAlign and TfIdfVectorizer
 * kernels (runtime/roi_align.c, runtime/text.c).
 *
 * RoiAlign: cases computed by hand on an image that is a linear function of
 * the pixel (10 * row + column, plus 100 per image and 1000 per channel),
 * where bilinear interpolation is exact, so each average is the function at
 * the mean sample and each max a few products; with sampling_ratio 2 and 0
 * (adaptive), both coordinate modes, a region partly outside the image and
 * regions whose image index is out of range or NaN.  Then random regions
 * at odd sizes against a plain reference written here in double (ONNX's
 * definition read afresh: samples, clamping, the max of weighted corners).
 * TfIdf: counts by hand of unigrams, bigrams with skips and a trigram over
 * a batch of two rows of odd length, in TF, IDF and TFIDF modes. */
#include <math.h>
#include <stdlib.h>

#include "nnc_rt.h"
#include "kernel_check.h"

/* ---- RoiAlign ------------------------------------------------------------------------ */

/* x (n, c, h, w) = 10 * row + column + 100 * image + 1000 * channel */
static float *linear_image(long n, long c, long h, long w)
{
    float *x = falloc(n * c * h * w);
    long b, ch, i, j;
    for (b = 0; b < n; b++)
        for (ch = 0; ch < c; ch++)
            for (i = 0; i < h; i++)
                for (j = 0; j < w; j++)
                    x[((b * c + ch) * h + i) * w + j] = (float)(10 * i + j + 100 * b + 1000 * ch);
    return x;
}

/* sampling_ratio 2, output_half_pixel, scale 1: region (0.5, 0.25)-(3.5, 2.25)
 * of a 3 x 5 image in bins of 2 x 1 pixels; samples at rows 0.75 and 1.75,
 * columns 0.75 + pw and 1.25 + pw.  avg: 10 * 1.25 + (1 + pw) + offsets.
 * Two regions on images 1 and 0, two channels. */
START_TEST(roi_fixed_sampling)
{
    const float rois[8] = {0.5f, 0.25f, 3.5f, 2.25f, 0.5f, 0.25f, 3.5f, 2.25f};
    const float batch[2] = {1, 0};
    float *x = linear_image(2, 2, 3, 5), *y = guarded(2 * 2 * 3);
    long r, ch, pw;
    nnc_rt_roi_align(y, x, rois, batch, 2, 2, 3, 5, 2, 1, 3, 2, 1.0f, NNC_RT_ROI_AVG, 0);
    for (r = 0; r < 2; r++)
        for (ch = 0; ch < 2; ch++)
            for (pw = 0; pw < 3; pw++)
                ck_near(y[(r * 2 + ch) * 3 + pw], 13.5 + (double)pw + 100 * (1 - r) + 1000 * ch, 1e-4, 1e-6);
    ck_assert(guard_ok(y, 12));
    /* max, image 0, channel 0: bin pw's best sample is at row 1.75, column 1.75 + pw (or
     * 1.25 + pw: the same weight 0.5625 on the same pixel (2, 2 + pw)): 0.5625 * (21 + pw) */
    fill_nan(y, 12);
    nnc_rt_roi_align(y, x, rois, batch, 2, 2, 3, 5, 2, 1, 3, 2, 1.0f, NNC_RT_ROI_MAX, 0);
    for (pw = 0; pw < 3; pw++)
        ck_near(y[(1 * 2 + 0) * 3 + pw], 0.5625 * (21 + pw), 1e-5, 1e-6);
    ck_assert(guard_ok(y, 12));
    free(x);
    free(y);
}
END_TEST

/* sampling_ratio 0, half_pixel, scale 0.5: region (-4, 1)-(6, 7) is
 * (-2.5, 0)-(2.5, 3) in the 3 x 5 map, two bins of 3 x 2.5, grids of
 * ceil(3 / 1) = 3 by ceil(2.5) = 3 samples: rows 0.5, 1.5, 2.5 (clamped to
 * the last row, 2), columns -2.083 and -1.25 (outside: nothing),
 * -0.417 (clamped to 0); then 0.417, 1.25, 2.083.
 * bin 0: (5 + 15 + 20) / 9; bin 1: (3 * 40 + 3 * 3.75) / 9 */
START_TEST(roi_adaptive_outside)
{
    const float rois[4] = {-4, 1, 6, 7};
    const float batch[1] = {0};
    float *x = linear_image(1, 1, 3, 5), *y = guarded(2);
    nnc_rt_roi_align(y, x, rois, batch, 1, 1, 3, 5, 1, 1, 2, 0, 0.5f, NNC_RT_ROI_AVG, 1);
    ck_near(y[0], 40.0 / 9, 1e-5, 1e-5);
    ck_near(y[1], 131.25 / 9, 1e-5, 1e-5);
    ck_assert(guard_ok(y, 2));
    free(x);
    free(y);
}
END_TEST

/* an image index out of range, fractional or NaN, or a coordinate that is not
 * finite: that region's outputs are NaN, its neighbours' unaffected */
START_TEST(roi_bad_regions)
{
    const float rois[20] = {0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, INFINITY, 2};
    const float batch[5] = {0, 1, 0.5f, NAN, 0};
    float *x = linear_image(1, 1, 3, 3), *y = guarded(5);
    long r;
    nnc_rt_roi_align(y, x, rois, batch, 1, 1, 3, 3, 5, 1, 1, 1, 1.0f, NNC_RT_ROI_AVG, 0);
    ck_near(y[0], 11.0, 1e-5, 1e-6);    /* one sample at (1, 1) */
    for (r = 1; r < 5; r++)
        ck_assert_msg(isnan(y[r]), "region %ld: %g, want NaN", r, (double)y[r]);
    ck_assert(guard_ok(y, 5));
    free(x);
    free(y);
}
END_TEST

/* ONNX's RoiAlign in double: one sample's four weighted corners (0 when
 * outside), and the bins of one region */
static int corners(const float *img, long h, long w, double sy, double sx, double *v)
{
    long y0, x0, y1, x1;
    double ty, tx;
    if (sy < -1 || sy > h || sx < -1 || sx > w)
        return 0;
    sy = sy < 0 ? 0 : sy;
    sx = sx < 0 ? 0 : sx;
    y0 = (long)sy;
    x0 = (long)sx;
    if (y0 >= h - 1)
        sy = (double)(y0 = h - 1);
    if (x0 >= w - 1)
        sx = (double)(x0 = w - 1);
    y1 = y0 + 1 < h ? y0 + 1 : h - 1;
    x1 = x0 + 1 < w ? x0 + 1 : w - 1;
    ty = sy - (double)y0;
    tx = sx - (double)x0;
    v[0] = (1 - ty) * (1 - tx) * img[y0 * w + x0];
    v[1] = (1 - ty) * tx * img[y0 * w + x1];
    v[2] = ty * (1 - tx) * img[y1 * w + x0];
    v[3] = ty * tx * img[y1 * w + x1];
    return 1;
}

typedef struct RoiCase {
    long n, c, h, w, nr, oh, ow;
    int sampling, mode, half_pixel;
    float scale;
} RoiCase;

static const RoiCase roi_cases[] = {
    {1, 1, 7, 9, 3, 3, 5, 0, NNC_RT_ROI_AVG, 0, 1.0f},   {2, 3, 5, 7, 4, 2, 3, 2, NNC_RT_ROI_AVG, 1, 0.5f},
    {2, 3, 5, 7, 4, 2, 3, 0, NNC_RT_ROI_MAX, 1, 0.5f},   {3, 2, 9, 4, 5, 5, 1, 3, NNC_RT_ROI_MAX, 0, 1.0f},
    {1, 5, 11, 13, 2, 7, 3, 1, NNC_RT_ROI_AVG, 1, 0.25f}, {2, 1, 6, 6, 6, 1, 1, 0, NNC_RT_ROI_MAX, 0, 2.0f},
};

static void roi_ref(double *y, const float *x, const float *rois, const float *batch, const RoiCase *k)
{
    long r, ch, ph, pw, iy, ix, q;
    for (r = 0; r < k->nr; r++) {
        const float *roi = rois + 4 * r;
        double off = k->half_pixel ? 0.5 : 0.0, x0 = roi[0] * k->scale - off, y0 = roi[1] * k->scale - off;
        double rw = roi[2] * k->scale - off - x0, rh = roi[3] * k->scale - off - y0, bh, bw;
        long gh, gw;
        if (!k->half_pixel) {
            rw = fmax(rw, 1);
            rh = fmax(rh, 1);
        }
        bh = rh / (double)k->oh;
        bw = rw / (double)k->ow;
        gh = k->sampling ? k->sampling : (long)ceil(bh);
        gw = k->sampling ? k->sampling : (long)ceil(bw);
        for (ch = 0; ch < k->c; ch++) {
            const float *img = x + ((long)batch[r] * k->c + ch) * k->h * k->w;
            for (ph = 0; ph < k->oh; ph++)
                for (pw = 0; pw < k->ow; pw++) {
                    double acc = 0, best = 0;
                    for (iy = 0; iy < gh; iy++)
                        for (ix = 0; ix < gw; ix++) {
                            double v[4] = {0, 0, 0, 0}, m;
                            corners(img, k->h, k->w, y0 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh,
                                    x0 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw, v);
                            acc += v[0] + v[1] + v[2] + v[3];
                            m = fmax(fmax(v[0], v[1]), fmax(v[2], v[3]));
                            best = iy + ix == 0 || m > best ? m : best;
                        }
                    q = ((r * k->c + ch) * k->oh + ph) * k->ow + pw;
                    y[q] = k->mode == NNC_RT_ROI_AVG ? (gh * gw > 0 ? acc / (double)(gh * gw) : 0) : best;
                }
        }
    }
}

START_TEST(roi_random)
{
    const RoiCase *k = &roi_cases[_i];
    long nx = k->n * k->c * k->h * k->w, ny = k->nr * k->c * k->oh * k->ow, r;
    float *x = falloc(nx), *rois = falloc(4 * k->nr), *batch = falloc(k->nr), *y = guarded(ny);
    double *want = dalloc(ny);
    nnc_rt_rng g;
    nnc_rt_rng_seed(&g, 311 + (uint64_t)_i);
    fill_uniform(x, nx, &g, -1.0f, 2.0f);
    for (r = 0; r < k->nr; r++) {   /* corners in input pixels, up to 30% beyond the image; some inverted */
        float sw = (float)k->w / k->scale, sh = (float)k->h / k->scale;
        rois[4 * r + 0] = sw * (-0.3f + 1.2f * nnc_rt_rng_uniform(&g));
        rois[4 * r + 1] = sh * (-0.3f + 1.2f * nnc_rt_rng_uniform(&g));
        rois[4 * r + 2] = rois[4 * r] + sw * (-0.1f + 0.9f * nnc_rt_rng_uniform(&g));
        rois[4 * r + 3] = rois[4 * r + 1] + sh * (-0.1f + 0.9f * nnc_rt_rng_uniform(&g));
        batch[r] = (float)(nnc_rt_rng_u32(&g) % (uint32_t)k->n);
    }
    nnc_rt_roi_align(y, x, rois, batch, k->n, k->c, k->h, k->w, k->nr, k->oh, k->ow, k->sampling, k->scale, k->mode,
                     k->half_pixel);
    roi_ref(want, x, rois, batch, k);
    ck_assert_int_eq(first_bad(y, want, ny, 1e-5, 1e-4), ny);
    ck_assert(guard_ok(y, ny));
    free(x); free(rois); free(batch); free(y); free(want);
}
END_TEST

/* ---- TfIdfVectorizer ------------------------------------------------------------------ */

/* two rows of 7 tokens; the pool: unigrams 1 -> column 4, 2 -> 0; bigrams
 * (1, 2) -> 1, (2, 1) -> 2, (3, 1) -> 3; trigram (2, 1, 2) -> 5 (sorted
 * by n, then tokens; rows (n, column, tokens, 0-padding to 3)) */
static const float rows[14] = {1, 2, 1, 3, 2, 1, 2, 2, 2, 3, 1, 1, 9, 2};
static const float pool[6 * 5] = {1, 4, 1, 0, 0, 1, 0, 2, 0, 0, 2, 1, 1, 2, 0,
                                  2, 2, 2, 1, 0, 2, 3, 3, 1, 0, 3, 5, 2, 1, 2};
static const float weights[6] = {0.5f, 1.5f, 2, 4, 8, 0.25f};

/* min 1, max 3, skip 1 (distances 1 and 2), by hand:
 * row 0: unigrams 1 x3, 2 x3; d 1: (1,2) x2, (2,1) x2, (2,1,2); d 2: (1,2), (3,1)
 * row 1: unigrams 1 x2, 2 x3; d 1: (3,1); d 2: (2,1), (3,1), (1,2) */
START_TEST(tfidf_modes)
{
    static const double tf[12] = {3, 3, 2, 1, 3, 1, 3, 1, 1, 2, 2, 0};
    float *y = guarded(12);
    long j;
    nnc_rt_tfidf(y, rows, pool, weights, 2, 7, 6, 3, 1, 1, 6, NNC_RT_TFIDF_TF);
    ck_assert_int_eq(first_bad(y, tf, 12, 0, 0), 12);
    ck_assert(guard_ok(y, 12));
    fill_nan(y, 12);
    nnc_rt_tfidf(y, rows, pool, weights, 2, 7, 6, 3, 1, 1, 6, NNC_RT_TFIDF_IDF);
    for (j = 0; j < 12; j++)
        ck_near(y[j], tf[j] > 0 ? weights[j % 6] : 0.0, 0, 0);
    fill_nan(y, 12);
    nnc_rt_tfidf(y, rows, pool, weights, 2, 7, 6, 3, 1, 1, 6, NNC_RT_TFIDF_TFIDF);
    for (j = 0; j < 12; j++)
        ck_near(y[j], tf[j] * weights[j % 6], 0, 0);
    ck_assert(guard_ok(y, 12));
    free(y);
}
END_TEST

/* row 0 alone, as a (C) input, min_gram_length 2 (unigrams never counted):
 * no skips, then skips beyond the row (the kernel stops at its length):
 * d 3: nothing; d 4: (1,2) twice, (2,1); d 5: nothing; d 6: (1,2) */
START_TEST(tfidf_min_and_skips)
{
    static const double no_skip[6] = {0, 2, 2, 0, 0, 1}, far[6] = {0, 6, 3, 1, 0, 1};
    float y[6];
    nnc_rt_tfidf(y, rows, pool, weights, 1, 7, 6, 3, 2, 0, 6, NNC_RT_TFIDF_TF);
    ck_assert_int_eq(first_bad(y, no_skip, 6, 0, 0), 6);
    nnc_rt_tfidf(y, rows, pool, weights, 1, 7, 6, 3, 2, 10, 6, NNC_RT_TFIDF_TF);
    ck_assert_int_eq(first_bad(y, far, 6, 0, 0), 6);
}
END_TEST

int main(void)
{
    const TTest *fixed[] = {roi_fixed_sampling, roi_adaptive_outside, roi_bad_regions, NULL};
    const TTest *loops[] = {roi_random, NULL};
    const TTest *text[] = {tfidf_modes, tfidf_min_and_skips, NULL};
    const kernel_case cases[] = {{"roi_align by hand", fixed, 0, 0},
                                 {"roi_align vs reference", loops, 0, (int)(sizeof roi_cases / sizeof roi_cases[0])},
                                 {"tfidf by hand", text, 0, 0}};
    return run_cases("detect", cases, (int)(sizeof cases / sizeof cases[0]));
}
