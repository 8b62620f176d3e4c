# libFuzzer harnesses over src/core, each run for a bounded time (FUZZ_SECONDS, default 15).
make -s -C test/fuzz run FUZZ_SECONDS=${FUZZ_SECONDS:-15}
