#!/bin/bash
# tests/check_install.sh — make install into a temporary DESTDIR; the man
# page renders without a warning; a model compiled by the installed nnc
# builds with `pkg-config --cflags --libs nnc` alone (the installed,
# portable runtime) and runs; the host library links through nnc-host.pc;
# then make uninstall leaves no file behind.
set -e
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
PREFIX=/usr/local
dest=$(mktemp -d "${TMPDIR:-/tmp}/nnc-install.XXXXXX")
work=$(mktemp -d "${TMPDIR:-/tmp}/nnc-install-use.XXXXXX")
trap 'rm -rf "$dest" "$work"' EXIT
fail() { echo "check-install: FAIL: $*"; exit 1; }

$MAKE --no-print-directory install DESTDIR="$dest" PREFIX=$PREFIX >/dev/null
root=$dest$PREFIX
for f in bin/nnc lib/libnnc_rt.a lib/libnnc_host.a include/nnc_rt.h include/nnc_host.h \
         lib/pkgconfig/nnc.pc lib/pkgconfig/nnc-host.pc share/man/man1/nnc.1; do
    [ -f "$root/$f" ] || fail "$PREFIX/$f not installed"
done
echo "installed: $(find "$dest" -type f | wc -l) files under DESTDIR$PREFIX"

# the portable runtime: no instruction beyond the target's default ISA
if [ "$(uname -m)" = x86_64 ] && objdump -d "$root/lib/libnnc_rt.a" | grep -q '%[yz]mm'; then
    fail "the installed runtime uses AVX registers: it was built for this machine, not the baseline"
fi

# the man page: rendered without a warning, every option of --help in it
page=$root/share/man/man1/nnc.1
if command -v man >/dev/null; then
    warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >"$work/page.txt") || fail "man -l $page failed"
else
    warn=$(groff -man -Tutf8 -ww "$page" 2>&1 >"$work/page.txt") || fail "groff failed on $page"
fi
[ -z "$warn" ] || fail "the man page renders with warnings: $warn"
grep -q "EXIT STATUS" "$work/page.txt" || fail "the man page has no EXIT STATUS"
version=$("$root/bin/nnc" --version | awk '{ print $2 }')
grep -q "^\.TH NNC 1 .*\"nnc $version\"" "$page" || fail "the man page's .TH does not say nnc $version (nnc --version)"
for opt in $("$root/bin/nnc" --help | grep -o '^  -[-A-Za-z0-9]*' ); do
    grep -q -- "$opt" "$work/page.txt" || fail "the man page does not describe $opt (nnc --help lists it)"
done
echo "man page: renders without warnings, describes every option of nnc --help"

# a model built with pkg-config's flags alone, against the installed files only
export PKG_CONFIG_PATH=$root/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs nnc) || fail "pkg-config nnc"
cat > "$work/tiny.nn" <<'NN'
model tiny {
    input x: f32[4]
    dense(8, relu)
    dense(3, softmax)
}
train tiny {
    loss sparse_categorical_crossentropy
    optimizer adam(lr = 0.01)
    batch 4
}
NN
cat > "$work/main.c" <<'C'
#include <stdio.h>
#include "tiny.h"
static tiny_t m;
int main(void) {
    float x[16], y[12];
    int32_t t[4] = { 0, 1, 2, 0 };
    for (int i = 0; i < 16; i++) x[i] = (float)(i % 5) - 2.0f;
    tiny_init(&m, 1);
    float first = tiny_train_batch(&m, x, t, 4), last = first;
    for (int s = 0; s < 50; s++) last = tiny_train_batch(&m, x, t, 4);
    tiny_predict(&m, x, y, 4);
    printf("loss %.4f -> %.4f, p[0] = %.4f %.4f %.4f\n", first, last, y[0], y[1], y[2]);
    return !(last < first);
}
C
"$root/bin/nnc" "$work/tiny.nn" -o "$work/tiny.c"
(cd "$work" && cc -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 tiny.c main.c $flags -o tiny) ||
    fail "cc tiny.c main.c $flags"
"$work/tiny" || fail "the model built on the installed runtime does not train"
echo "pkg-config --cflags --libs nnc: $flags"
hflags=$(pkg-config --cflags --libs nnc-host) || fail "pkg-config nnc-host"
printf '#include "nnc_host.h"\nint main(void) { return 0; }\n' > "$work/host.c"
cc -std=c99 -Wall -Wextra -Werror "$work/host.c" $hflags -o "$work/host" || fail "cc host.c $hflags"
echo "pkg-config --cflags --libs nnc-host: $hflags"
# the installed nnc fit finds the installed runtime and host library beside it
/usr/bin/python3 -c "
import numpy as np
x = (np.arange(40 * 4) % 7 - 3).reshape(40, 4).astype(np.float32)
np.savez('$work/tiny.npz', x=x, y=(x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0))" || fail "numpy"
"$root/bin/nnc" fit "$work/tiny.nn" --data "$work/tiny.npz" --epochs 3 --verbose 2 > "$work/fit.out" ||
    fail "the installed nnc fit"
grep -q "^Epoch 3/3" "$work/fit.out" || fail "the installed nnc fit printed no third epoch"
echo "installed nnc fit: $(tail -1 "$work/fit.out")"

$MAKE --no-print-directory uninstall DESTDIR="$dest" PREFIX=$PREFIX >/dev/null
left=$(find "$dest" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "check-install: passed (installed, used through pkg-config, uninstalled without a trace)"
