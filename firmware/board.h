/* board.h — what the firmware programs need from the board they run on.
 *
 * Two implementations: board_mps2.c, bare metal on qemu's mps2-an386
 * (Cortex-M4F: vector table, startup, ARM semihosting for files and
 * output, SysTick for cycle counts, stack painting), and board_host.c, the
 * same programs on the host with stdio, which gives the reference outputs
 * the device's are compared with.  The programs never call libc's stdio, so
 * the firmware image holds only the model, the runtime and this harness.
 */
#ifndef NNC_FIRMWARE_BOARD_H
#define NNC_FIRMWARE_BOARD_H

#include <stdint.h>

void board_init(void);
/* the program's i-th argument (0 is the program), or NULL */
const char *board_arg(int i);
/* files on the host: a handle >= 0, or -1 */
int  board_open(const char *path, int write);
/* bytes transferred (short at the end of a file) */
long board_read(int handle, void *buf, long len);
long board_write(int handle, const void *buf, long len);
void board_close(int handle);
void board_puts(const char *s);
/* a free-running count of processor cycles (0 where there is none) */
uint64_t board_cycles(void);
/* peak stack use since reset, in bytes (0 where it is not measured) */
long board_stack_used(void);
/* the image's sections, in bytes (0 on the host) */
void board_sections(long *text, long *rodata, long *data, long *bss);
void board_exit(int status);

/* formatting for board_puts (fw_format.c) */
void fw_put_long(const char *label, long v);             /* "label N\n"    */
void fw_put_float(const char *label, double v, int digits);
void fw_puts(const char *a, const char *b, const char *c); /* a b c, then newline */
char *fw_long_str(long v, char *buf);                    /* 24 bytes     */
char *fw_float_str(double v, int digits, char *buf);     /* 40 bytes     */
/* the image's sections, the model's state and the peak stack, then the last
 * line: "firmware: ram N bytes, flash N bytes, stack N bytes" (ram: .data,
 * .bss and the stack; flash: .text, .rodata and .data's initial image) */
void fw_report_memory(long model_bytes);

#endif
