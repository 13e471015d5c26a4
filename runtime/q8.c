/* q8.c — the int8 products generated code calls (nnc_rt_q8.h).  For now the
 * references; the tiled and SIMD kernels replace these bodies. */
#include "nnc_rt.h"

void nnc_rt_q8_dense(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias,
                     int n, int k, int m, const nnc_rt_q8_out *o) {
    nnc_rt_q8_dense_ref(y, x, w, bias, n, k, m, o);
}

void nnc_rt_q8_conv2d(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t x_zp,
                      const int8_t *w, const int32_t *bias, void *scratch, int n,
                      const nnc_rt_q8_out *o) {
    (void)scratch;
    nnc_rt_q8_conv2d_ref(p, y, x, x_zp, w, bias, n, o);
}
