# libFuzzer harnesses over src/core, each run for a bounded time (FUZZ_SECONDS, default 15) from a
# fixed seed (FUZZ_SEED, default 1) so that the suite is repeatable; `make fuzz` explores at random.
make -s -j2 -C test/fuzz run FUZZ_SECONDS=${FUZZ_SECONDS:-15} FUZZ_SEED=${FUZZ_SEED:-1}
