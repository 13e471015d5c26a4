#include "build.h"
int fit_is_verb(const char *arg) { (void)arg; return 0; }
int fit_main(int argc, char **argv) { (void)argc; (void)argv; return 2; }
