/* fw_format.c — number formatting for the firmware programs' reports,
 * without libc's printf (newlib's pulls in tens of KiB of flash). */
#include "board.h"

char *fw_long_str(long v, char *buf)
{
    char tmp[24];
    int n = 0, i = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < 23);
    if (v < 0)
        buf[i++] = '-';
    while (n)
        buf[i++] = tmp[--n];
    buf[i] = 0;
    return buf;
}

char *fw_float_str(double v, int digits, char *buf)
{
    long scale = 1, whole, frac;
    int i, k;
    char *p = buf;
    if (!(v - v == 0)) {
        buf[0] = 'n'; buf[1] = 'a'; buf[2] = 'n'; buf[3] = 0;
        return buf;
    }
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    for (i = 0; i < digits; i++)
        scale *= 10;
    whole = (long)v;
    frac = (long)((v - (double)whole) * (double)scale + 0.5);
    if (frac >= scale) {
        whole++;
        frac -= scale;
    }
    fw_long_str(whole, p);
    while (*p)
        p++;
    if (digits > 0) {
        *p++ = '.';
        for (k = digits - 1; k >= 0; k--) {
            p[k] = (char)('0' + frac % 10);
            frac /= 10;
        }
        p += digits;
    }
    *p = 0;
    return buf;
}

void fw_puts(const char *a, const char *b, const char *c)
{
    board_puts(a);
    if (b) {
        board_puts(" ");
        board_puts(b);
    }
    if (c) {
        board_puts(" ");
        board_puts(c);
    }
    board_puts("\n");
}

void fw_put_long(const char *label, long v)
{
    char buf[24];
    fw_puts(label, fw_long_str(v, buf), 0);
}

void fw_put_float(const char *label, double v, int digits)
{
    char buf[40];
    fw_puts(label, fw_float_str(v, digits, buf), 0);
}

void fw_report_memory(long model_bytes)
{
    long text, rodata, data, bss, stack = board_stack_used();
    char r[24], f[24], s[24];
    board_sections(&text, &rodata, &data, &bss);
    fw_put_long(".text", text);
    fw_put_long(".rodata", rodata);
    fw_put_long(".data", data);
    fw_put_long(".bss", bss);
    fw_put_long("model state (sizeof)", model_bytes);
    fw_put_long("stack peak", stack);
    board_puts("firmware: ram ");
    board_puts(fw_long_str(data + bss + stack, r));
    board_puts(" bytes, flash ");
    board_puts(fw_long_str(text + rodata + data, f));
    board_puts(" bytes, stack ");
    board_puts(fw_long_str(stack, s));
    board_puts(" bytes\n");
}
