/* board_mps2.c — bare-metal board support for qemu's mps2-an386
 * (Cortex-M4F): vector table and reset handler (FPU on, .data copied,
 * .bss zeroed, stack painted), ARM semihosting for files and output, and
 * SysTick as a cycle counter.
 *
 * Cycle counts: the M4's DWT cycle counter is not modelled by qemu, so the
 * count is SysTick's, which runs at the board's 25 MHz processor clock on
 * qemu's virtual clock; run under `-icount shift=0` (one instruction per
 * virtual nanosecond) each tick is 40 instructions, so the figure is a
 * deterministic instruction count, not a cycle-accurate timing.
 *
 * Board code, not model code: it is built with -Wall -Wextra -Werror but
 * without -Wpedantic (a vector table mixes a data address with handlers).
 */
#include <stdint.h>
#include <string.h>

#include "board.h"

extern uint32_t _stext, _etext, _srodata, _erodata, _sidata, _sdata, _edata, _sbss, _ebss;
extern uint32_t _sstack, _estack;
int fw_main(void);

#define PAINT 0xC0FFEE11u
#define REG(a) (*(volatile uint32_t *)(a))
#define SCB_CPACR 0xE000ED88u
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u

/* ---- semihosting ---------------------------------------------------------- */
enum { SYS_OPEN = 0x01, SYS_CLOSE = 0x02, SYS_WRITE0 = 0x04, SYS_WRITE = 0x05, SYS_READ = 0x06,
       SYS_GET_CMDLINE = 0x15, SYS_EXIT = 0x18 };
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR 0x20023

static int semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s) { semihost(SYS_WRITE0, (void *)s); }

int board_open(const char *path, int write)
{
    uint32_t args[3];
    args[0] = (uint32_t)(uintptr_t)path;
    args[1] = write ? 5 : 1;                /* "wb" : "rb" */
    args[2] = (uint32_t)strlen(path);
    return semihost(SYS_OPEN, args);
}

long board_read(int h, void *buf, long len)
{
    uint32_t args[3] = { (uint32_t)h, (uint32_t)(uintptr_t)buf, (uint32_t)len };
    return len - semihost(SYS_READ, args);  /* it returns the bytes NOT read */
}

long board_write(int h, const void *buf, long len)
{
    uint32_t args[3] = { (uint32_t)h, (uint32_t)(uintptr_t)buf, (uint32_t)len };
    return len - semihost(SYS_WRITE, args);
}

void board_close(int h)
{
    uint32_t args[1] = { (uint32_t)h };
    semihost(SYS_CLOSE, args);
}

void board_exit(int status)
{
    for (;;)
        semihost(SYS_EXIT, (void *)(uintptr_t)(status ? ADP_STOPPED_RUNTIME_ERROR
                                                      : ADP_STOPPED_APPLICATION_EXIT));
}

/* the command line from qemu's -semihosting-config arg=...,arg=... */
static char cmdline[512];
static const char *args_[16];
static int nargs;

const char *board_arg(int i) { return i < nargs ? args_[i] : NULL; }

static void read_args(void)
{
    uint32_t block[2] = { (uint32_t)(uintptr_t)cmdline, sizeof cmdline - 1 };
    char *p = cmdline;
    if (semihost(SYS_GET_CMDLINE, block) != 0)
        return;
    cmdline[block[1] < sizeof cmdline ? block[1] : sizeof cmdline - 1] = 0;
    while (*p && nargs < 16) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p)
            break;
        args_[nargs++] = p;
        while (*p && *p != ' ')
            p++;
    }
}

/* ---- SysTick: a 24-bit down-counter, extended by its wrap interrupt ------- */
static volatile uint64_t ticks_hi;

void systick_handler(void) { ticks_hi += 1u << 24; }

uint64_t board_cycles(void)
{
    uint64_t hi;
    uint32_t now;
    do {
        hi = ticks_hi;
        now = REG(SYST_CVR);
    } while (hi != ticks_hi);
    return hi + (0xFFFFFFu - now);
}

void board_init(void)
{
    REG(SYST_RVR) = 0xFFFFFFu;
    REG(SYST_CVR) = 0;
    REG(SYST_CSR) = 7;      /* processor clock, interrupt, enable */
    read_args();
}

/* ---- memory ----------------------------------------------------------------- */
long board_stack_used(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == PAINT)
        p++;
    return (long)((const char *)&_estack - (const char *)p);
}

void board_sections(long *text, long *rodata, long *data, long *bss)
{
    *text = (long)((char *)&_etext - (char *)&_stext);
    *rodata = (long)((char *)&_erodata - (char *)&_srodata);
    *data = (long)((char *)&_edata - (char *)&_sdata);
    *bss = (long)((char *)&_ebss - (char *)&_sbss);
}

/* ---- reset and faults -------------------------------------------------------- */
static void fault_handler(void)
{
    board_puts("firmware: hard fault\n");
    board_exit(1);
}

void reset_handler(void)
{
    uint32_t *src = &_sidata, *dst, *sp;
    REG(SCB_CPACR) |= 0xFu << 20;   /* CP10, CP11: the FPU, before any float code */
    __asm__ volatile("dsb\n isb" ::: "memory");
    for (dst = &_sdata; dst < &_edata;)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    /* paint the stack below this frame, so its peak use can be read back */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (dst = &_sstack; dst < sp - 16;)
        *dst++ = PAINT;
    board_exit(fw_main());
}

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&_estack, reset_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler,
    systick_handler,
};
