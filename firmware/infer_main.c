/* infer_main.c — inference on the board: reads samples from a host file
 * through the board API, runs the generated model's predict on each, writes
 * the outputs to another host file, and reports the memory and the cycles
 * one inference took.  Built against any generated model:
 *   cc -DNNC_MODEL=name -DNNC_UPPER=NAME '-DNNC_HEADER="name.h"' ...
 * Arguments: INPUT.bin OUTPUT.bin COUNT (raw float32 rows, native order).
 * An int8 build whose input arrives int8 (NAME_INT8_INPUT) is compiled with
 * NAME_INT8_INPUT_ONLY: each row is quantized as it is read (outside the
 * timed call, into the int8 input buffer; nnc_rt_q8_quantize with the
 * header's scale and zero point) and NAME_predict_int8 runs on it, so the
 * RAM counts an int8 input, not a float one.  When the output leaves int8
 * too (NAME_INT8_OUTPUT), y is int8, dequantized as it is written.
 * FW_FLOAT_API defined: NAME_predict on the floats, whatever the build.
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

#if U(INT8_OUTPUT) && !defined(FW_FLOAT_API)
static int8_t y[U(OUTPUT_SIZE)];

/* y dequantized to floats a few at a time into the output file (the file
 * holds floats, as for a float build) */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int write_row(int out)
{
    float chunk[16];
    long i, k;
    for (i = 0; i < (long)sizeof y; i += k) {
        k = (long)sizeof y - i < 16 ? (long)sizeof y - i : 16;
        nnc_rt_q8_dequantize(chunk, y + i, k, U(OUTPUT_SCALE), U(OUTPUT_ZERO_POINT));
        if (board_write(out, chunk, k * (long)sizeof *chunk) != k * (long)sizeof *chunk)
            return 0;
    }
    return 1;
}
#else
static float y[U(OUTPUT_SIZE)];

static int write_row(int out)
{
    return board_write(out, y, (long)sizeof y) == (long)sizeof y;
}
#endif

#if U(INT8_INPUT) && !defined(FW_FLOAT_API)
static int8_t x[U(INPUT_SIZE)];

/* a row of floats from the file, quantized into x a few at a time; a
 * function of its own (not inlined) so that its buffer is off the stack
 * while the model runs */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int read_row(int in)
{
    float chunk[16];
    long i, k;
    for (i = 0; i < (long)sizeof x; i += k) {
        k = (long)sizeof x - i < 16 ? (long)sizeof x - i : 16;
        if (board_read(in, chunk, k * (long)sizeof *chunk) != k * (long)sizeof *chunk)
            return 0;
        nnc_rt_q8_quantize(x + i, chunk, k, U(INPUT_SCALE), U(INPUT_ZERO_POINT));
    }
    return 1;
}
#define PREDICT F(predict_int8)
#else
static CAT(NNC_MODEL, _input_t) x[U(INPUT_SIZE)];

static int read_row(int in)
{
    return board_read(in, x, (long)sizeof x) == (long)sizeof x;
}
#define PREDICT F(predict)
#endif

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
        if (!read_row(in)) {
            fw_puts("firmware: short input file", in_path, 0);
            return 1;
        }
        t0 = board_cycles();
        PREDICT(&model, x, y, 1);
        t = board_cycles() - t0;
        if (i == 0 || t < best)
            best = t;
        if (!write_row(out)) {
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
