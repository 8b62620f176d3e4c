# Core unit tests: src/core linked without a server, under AddressSanitizer and UBSan.
make -s -j2 -C test/unit run
