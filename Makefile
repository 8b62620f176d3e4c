# crm: PostgreSQL extension built with PGXS.
#
#   make / make install        build and install the extension (needs pg_config on PATH or PG_CONFIG=)
#   make test                  every suite on a throwaway cluster; ends with "N passed, N failed"
#   make demo                  the demo on a throwaway cluster
#   make unit | fuzz | bench   core unit tests, bounded fuzzing, benchmarks
#   make installcheck          pg_regress only, against a running server

EXTENSION   = crm
MODULE_big  = crm
DATA        = crm--1.0.sql
PGFILEDESC  = "crm - CRM logic inside PostgreSQL"

CORE_SRCS   = $(sort $(wildcard src/core/*.c))
PG_SRCS     = $(sort $(wildcard src/pg/*.c))
OBJS        = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)
SQL_PARTS   = $(sort $(wildcard src/sql/*.sql))

XML_CFLAGS := $(shell xml2-config --cflags 2>/dev/null || echo -I/usr/include/libxml2)
XML_LIBS   := $(shell xml2-config --libs 2>/dev/null || echo -lxml2)

PG_CPPFLAGS = -I$(srcdir)/src/core $(XML_CFLAGS)
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers -Wno-clobbered -Wno-cast-function-type
SHLIB_LINK  = $(XML_LIBS) -lm

REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=crm --inputdir=$(srcdir)

EXTRA_CLEAN = test/unit/run_unit test/unit/*.o test/fuzz/build results regression.diffs regression.out \
              output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The install script is assembled from src/sql/NN_*.sql so that every feature owns its part.
# crm--1.0.sql is committed too (the required top-level file); it is rewritten only when it differs.
all: crm--1.0.sql
crm--1.0.sql: $(SQL_PARTS)
	@cat $(SQL_PARTS) > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; echo "assembled $@"; fi
.PHONY: crm--1.0.sql

$(OBJS): $(wildcard src/core/*.h) $(wildcard src/pg/*.h)

.PHONY: test unit fuzz bench demo
test:
	test/run
unit:
	$(MAKE) -C test/unit run
fuzz:
	$(MAKE) -C test/fuzz run
bench:
	bench/run all
demo:
	demo/run
