/* torch_rnn.c — the C side of tests/torch_rnn.py: runs the runtime's
 * recurrent kernels (nnc_rt_rnn_forward / nnc_rt_rnn_backward) on tensors it
 * is given and writes the results back for comparison with PyTorch.
 *
 * Protocol (stdin -> stdout, records until EOF): one text line
 *   rnn cell n steps features units act return_sequences reverse bias
 * then raw native float32: x (n,T,F), w (F,G), r (U,G), [b (G; GRU 2G) if
 * bias], dy (y's shape), dh (n,U), dc (n,U).  Written back: y, h_last,
 * c_last (LSTM only), dx, dw, dr, [db].  G is the gate width (4U LSTM, 3U
 * GRU, U SimpleRNN).  Exit status 2 on a malformed record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"

static float *floats(long n, int read)
{
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!p || (read && n > 0 && fread(p, sizeof(float), (size_t)n, stdin) != (size_t)n)) {
        fprintf(stderr, "torch_rnn: short input (wanted %ld floats)\n", n);
        exit(2);
    }
    return p;
}

static void put(const float *p, long n)
{
    if (n > 0 && fwrite(p, sizeof(float), (size_t)n, stdout) != (size_t)n) {
        fprintf(stderr, "torch_rnn: write failed\n");
        exit(2);
    }
}

int main(void)
{
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        nnc_rt_rnn p;
        int n, bias, lstm, gru;
        long G, U, nx, ny, nb;
        float *x, *w, *r, *b, *dy, *dh, *dc, *y, *hl, *cl, *ws, *sc, *dx, *dw, *dr, *db;
        if (sscanf(line, "rnn %d %d %d %d %d %d %d %d %d", &p.cell, &n, &p.steps, &p.features,
                   &p.units, &p.act, &p.return_sequences, &p.reverse, &bias) != 9) {
            fprintf(stderr, "torch_rnn: bad record: %s", line);
            return 2;
        }
        lstm = p.cell == NNC_RT_CELL_LSTM;
        gru = p.cell == NNC_RT_CELL_GRU;
        G = NNC_RT_RNN_GATES(&p);
        U = p.units;
        nx = (long)n * p.steps * p.features;
        ny = (long)n * (p.return_sequences ? p.steps : 1) * U;
        nb = bias ? G * (gru ? 2 : 1) : 0;
        x = floats(nx, 1);
        w = floats(p.features * G, 1);
        r = floats(U * G, 1);
        b = bias ? floats(nb, 1) : NULL;
        dy = floats(ny, 1);
        dh = floats(n * U, 1);
        dc = floats(n * U, 1);
        y = floats(ny, 0);
        hl = floats(n * U, 0);
        cl = floats(n * U, 0);
        ws = floats(n * NNC_RT_RNN_WORK(&p), 0);
        sc = floats(n * NNC_RT_RNN_SCRATCH(&p), 0);
        dx = floats(nx, 0);
        dw = floats(p.features * G, 0);
        dr = floats(U * G, 0);
        db = floats(nb, 0);
        nnc_rt_rnn_forward(&p, y, hl, lstm ? cl : NULL, ws, x, w, r, b, n);
        nnc_rt_rnn_backward(&p, dx, dw, dr, bias ? db : NULL, dy, dh, lstm ? dc : NULL, x, w, r, ws, sc, n);
        put(y, ny);
        put(hl, n * U);
        if (lstm)
            put(cl, n * U);
        put(dx, nx);
        put(dw, p.features * G);
        put(dr, U * G);
        put(db, nb);
        fflush(stdout);
        free(x); free(w); free(r); free(b); free(dy); free(dh); free(dc); free(y); free(hl);
        free(cl); free(ws); free(sc); free(dx); free(dw); free(dr); free(db);
    }
    return 0;
}
