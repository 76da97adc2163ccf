/* SPDX-License-Identifier: ISC */
/*
 * fuzz.h: the libFuzzer entry point every target in fuzz/ defines.  Built
 * with --enable-fuzzing, libFuzzer supplies main(); otherwise replay.c does,
 * and runs the target over its corpus as a regression test.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#endif /* FUZZ_H */
