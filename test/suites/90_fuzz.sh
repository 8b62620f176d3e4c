# libFuzzer harnesses over src/core, each run for a bounded time (FUZZ_SECONDS, default 15).
make -s -j2 -C test/fuzz run FUZZ_SECONDS=${FUZZ_SECONDS:-15}
