/* test_multi.c — the runtime pieces of several-output training and of
 * sub-models (runtime/loss.c, serial.c): packed labels unpacked per output
 * (float class indices to int32, anything not an integer to -1), a loss
 * gradient scaled by its output's weight, and a parameter buffer of
 * another model copied range by range after the same checks as load.
 * The whole of it is checked against PyTorch by tests/multi_output_torch.py. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

START_TEST(test_labels_unpack)
{
    /* two samples of [class | r0 r1], floats */
    float y[6] = {3.0f, 0.5f, -1.5f, 2.0f, 7.0f, 8.0f};
    float r[4 + GUARD];
    int32_t c[2 + GUARD];
    int i;
    for (i = 0; i < 4 + GUARD; i++)
        r[i] = GUARD_VALUE;
    for (i = 0; i < 2 + GUARD; i++)
        c[i] = 12345;
    nnc_rt_labels_unpack(c, y, 2, 1, 0, 3, 1);
    nnc_rt_labels_unpack(r, y, 2, 2, 1, 3, 0);
    ck_assert_int_eq(c[0], 3);
    ck_assert_int_eq(c[1], 2);
    ck_assert(r[0] == 0.5f && r[1] == -1.5f && r[2] == 7.0f && r[3] == 8.0f);
    for (i = 0; i < GUARD; i++) {
        ck_assert(r[4 + i] == GUARD_VALUE);
        ck_assert_int_eq(c[2 + i], 12345);
    }
    /* not an integer class index: -1, which the sparse losses skip */
    {
        float bad[5] = {2.5f, NAN, 3e9f, -0.0f, 16777216.0f};
        int32_t got[5];
        nnc_rt_labels_unpack(got, bad, 5, 1, 0, 1, 1);
        ck_assert_int_eq(got[0], -1);
        ck_assert_int_eq(got[1], -1);
        ck_assert_int_eq(got[2], -1);
        ck_assert_int_eq(got[3], 0);
        ck_assert_int_eq(got[4], 16777216);
    }
    /* int32 labels copied as they are */
    {
        int32_t yi[4] = {1, 2, 3, 4}, a[2], b[2];
        nnc_rt_labels_unpack(a, yi, 2, 1, 0, 2, 0);
        nnc_rt_labels_unpack(b, yi, 2, 1, 1, 2, 0);
        ck_assert(a[0] == 1 && a[1] == 3 && b[0] == 2 && b[1] == 4);
    }
}
END_TEST

START_TEST(test_loss_backward_scaled)
{
    float p[6] = {0.3f, -1.0f, 2.0f, 0.1f, 0.5f, -0.2f}, t[6] = {1, 0, 0, 0, 1, 0};
    int32_t lab[2] = {0, 1};
    float g1[6], gw[6], g0[6];
    int kinds[4] = {NNC_RT_LOSS_MSE, NNC_RT_LOSS_MAE, NNC_RT_LOSS_CCE_LOGITS, NNC_RT_LOSS_SPARSE_CCE_LOGITS};
    int k, i;
    for (k = 0; k < 4; k++) {
        const void *target = kinds[k] == NNC_RT_LOSS_SPARSE_CCE_LOGITS ? (const void *)lab : (const void *)t;
        nnc_rt_loss_backward(kinds[k], g1, p, target, 2, 3);
        nnc_rt_loss_backward_scaled(kinds[k], gw, p, target, 2, 3, 0.5f);
        nnc_rt_loss_backward_scaled(kinds[k], g0, p, target, 2, 3, 0.0f);
        for (i = 0; i < 6; i++) {
            ck_near(gw[i], 0.5 * g1[i], 1e-9, 1e-6);
            ck_assert(g0[i] == 0.0f);
        }
    }
    /* weight 0 on an infinite prediction: zeros, not NaN */
    {
        float pi[2] = {INFINITY, 0}, ti[2] = {0, 0}, gi[2];
        nnc_rt_loss_backward_scaled(NNC_RT_LOSS_MSE, gi, pi, ti, 1, 2, 0.0f);
        ck_assert(gi[0] == 0.0f && gi[1] == 0.0f);
    }
}
END_TEST

START_TEST(test_params_load_map)
{
    float src[5] = {1, 2, 3, 4, 5}, dst[4] = {-1, -1, -1, -1}, before[4];
    unsigned char buf[64];
    long map[6] = {0, 3, 2, 3, 0, 1};    /* dst[0..1] = src[3..4]; dst[3] = src[0] */
    size_t len = nnc_rt_params_save(buf, sizeof buf, src, 5, 0xabcdu);
    ck_assert_int_eq((int)len, (int)NNC_RT_PARAMS_BYTES(5));
    memcpy(before, dst, sizeof dst);
    ck_assert_int_eq(nnc_rt_params_load_map(dst, 0xabceu, 5, map, 2, buf, len), NNC_RT_ERR_OTHER_MODEL);
    ck_assert_int_eq(nnc_rt_params_load_map(dst, 0xabcdu, 4, map, 2, buf, len), NNC_RT_ERR_OTHER_MODEL);
    ck_assert_int_eq(nnc_rt_params_load_map(dst, 0xabcdu, 5, map, 2, buf, len - 1), NNC_RT_ERR_FORMAT);
    buf[20] ^= 1;   /* a float changed: the CRC no longer holds */
    ck_assert_int_eq(nnc_rt_params_load_map(dst, 0xabcdu, 5, map, 2, buf, len), NNC_RT_ERR_FORMAT);
    ck_assert(!memcmp(dst, before, sizeof dst));
    buf[20] ^= 1;
    ck_assert_int_eq(nnc_rt_params_load_map(dst, 0xabcdu, 5, map, 2, buf, len), 0);
    ck_assert(dst[0] == 4 && dst[1] == 5 && dst[2] == -1 && dst[3] == 1);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {test_labels_unpack, test_loss_backward_scaled, test_params_load_map, NULL};
    const kernel_case cases[] = {{"multi", tests, 0, 0}};
    return run_cases("multi", cases, 1);
}
