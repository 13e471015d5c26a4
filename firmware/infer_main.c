/* infer_main.c — inference on the board: reads samples from a host file
 * through the board API, runs the generated model's predict on each, writes
 * the outputs to another host file, and reports the memory and the cycles
 * one inference took.  Built against any generated model:
 *   cc -DNNC_MODEL=name -DNNC_UPPER=NAME '-DNNC_HEADER="name.h"' ...
 * Arguments: INPUT.bin OUTPUT.bin COUNT (raw float32 rows, native order).
 * The last line is "firmware: ram N bytes, flash N bytes, stack N bytes":
 * ram counts .data, .bss and the measured stack; flash .text, .rodata and
 * .data's initial image.
 */
#include <stdlib.h>

#include "board.h"
#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

static CAT(NNC_MODEL, _t) model;
static CAT(NNC_MODEL, _input_t) x[U(INPUT_SIZE)];
static float y[U(OUTPUT_SIZE)];

int fw_main(void)
{
    const char *in_path, *out_path, *count;
    int in, out;
    long n, i;
    uint64_t best = 0;
    board_init();
    in_path = board_arg(1);
    out_path = board_arg(2);
    count = board_arg(3);
    if (!in_path || !out_path || !count) {
        board_puts("usage: infer INPUT.bin OUTPUT.bin COUNT\n");
        return 2;
    }
    n = atol(count);
    in = board_open(in_path, 0);
    out = board_open(out_path, 1);
    if (in < 0 || out < 0) {
        fw_puts("firmware: cannot open", in < 0 ? in_path : out_path, 0);
        return 1;
    }
    F(init)(&model, 1);     /* the parameters are baked: this sets up the rest */
    for (i = 0; i < n; i++) {
        uint64_t t0, t;
        if (board_read(in, x, (long)sizeof x) != (long)sizeof x) {
            fw_puts("firmware: short input file", in_path, 0);
            return 1;
        }
        t0 = board_cycles();
        F(predict)(&model, x, y, 1);
        t = board_cycles() - t0;
        if (i == 0 || t < best)
            best = t;
        if (board_write(out, y, (long)sizeof y) != (long)sizeof y) {
            fw_puts("firmware: cannot write", out_path, 0);
            return 1;
        }
    }
    board_close(in);
    board_close(out);
    fw_put_long("samples", n);
    /* SysTick counts the 25 MHz processor clock of qemu's virtual time; under
     * -icount shift=0 one instruction takes 1 ns, so one tick is 40 of them */
    fw_put_long("systick ticks per inference (fewest of all samples)", (long)best);
    fw_put_long("instructions per inference (ticks x 40 under qemu -icount shift=0)", (long)best * 40);
    fw_report_memory((long)sizeof model);
    return 0;
}
