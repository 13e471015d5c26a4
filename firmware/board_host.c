/* board_host.c — the board API on the host (stdio), for reference runs of
 * the firmware programs.  Nothing is measured here: cycles, stack and
 * sections read 0. */
#include <stdio.h>
#include <stdlib.h>

#include "board.h"

static FILE *files[8];
static int argc_;
static char **argv_;

/* the programs' main is fw_main; the host's main hands it the arguments */
int fw_main(void);
int main(int argc, char **argv)
{
    argc_ = argc;
    argv_ = argv;
    return fw_main();
}

void board_init(void) {}
const char *board_arg(int i) { return i < argc_ ? argv_[i] : NULL; }

int board_open(const char *path, int write)
{
    int h;
    for (h = 0; h < 8; h++)
        if (!files[h]) {
            files[h] = fopen(path, write ? "wb" : "rb");
            return files[h] ? h : -1;
        }
    return -1;
}

long board_read(int h, void *buf, long len) { return (long)fread(buf, 1, (size_t)len, files[h]); }
long board_write(int h, const void *buf, long len) { return (long)fwrite(buf, 1, (size_t)len, files[h]); }

void board_close(int h)
{
    fclose(files[h]);
    files[h] = NULL;
}

void board_puts(const char *s) { fputs(s, stdout); }
uint64_t board_cycles(void) { return 0; }
long board_stack_used(void) { return 0; }

void board_sections(long *text, long *rodata, long *data, long *bss)
{
    *text = *rodata = *data = *bss = 0;
}

void board_exit(int status)
{
    fflush(stdout);
    exit(status);
}
