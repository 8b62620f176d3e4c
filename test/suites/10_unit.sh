# Core unit tests: src/core linked without a server, under AddressSanitizer and UBSan.
make -s -C test/unit run
