/*
 * engine_micro.c - how long one evaluation of a compiled 50-rule lead scoring
 * table takes in the core engine alone (no server), and how many allocations
 * it makes.  A timing program, not a test: see README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmn_engine.h"

#define NRULES 50
#define NINPUTS 1000

static long nallocs = 0;

static void *
count_alloc(size_t n)
{
	void	   *p = malloc(n);

	nallocs++;
	if (p == NULL)
		abort();
	return p;
}

static void *
count_realloc(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	nallocs++;
	if (q == NULL)
		abort();
	return q;
}

static const char *const sources[] = {"web", "exhibition", "referral", "call center", "wechat"};
static const char *const regions[] = {"east", "south", "north", "west", "central"};

static char *
model(const char *hit_policy, const char *aggregation)
{
	static char buf[65536];
	size_t		n = 0;
	unsigned	seed = 42;

	n += snprintf(buf + n, sizeof(buf) - n,
				  "<definitions xmlns=\"https://www.omg.org/spec/DMN/20230324/MODEL/\" name=\"bench\">"
				  "<inputData id=\"s\" name=\"source\"><variable name=\"source\" typeRef=\"string\"/></inputData>"
				  "<inputData id=\"r\" name=\"region\"><variable name=\"region\" typeRef=\"string\"/></inputData>"
				  "<inputData id=\"c\" name=\"company size\"><variable name=\"company size\" typeRef=\"number\"/></inputData>"
				  "<inputData id=\"p\" name=\"pages viewed\"><variable name=\"pages viewed\" typeRef=\"number\"/></inputData>"
				  "<decision id=\"d\" name=\"score\"><decisionTable hitPolicy=\"%s\"%s%s%s>"
				  "<input><inputExpression typeRef=\"string\"><text>source</text></inputExpression></input>"
				  "<input><inputExpression typeRef=\"string\"><text>region</text></inputExpression></input>"
				  "<input><inputExpression typeRef=\"number\"><text>company size</text></inputExpression></input>"
				  "<input><inputExpression typeRef=\"number\"><text>pages viewed</text></inputExpression></input>"
				  "<output name=\"points\" typeRef=\"number\"/>",
				  hit_policy, aggregation ? " aggregation=\"" : "", aggregation ? aggregation : "",
				  aggregation ? "\"" : "");
	for (int r = 0; r < NRULES; r++)
	{
		int			lo = (int) (rand_r(&seed) % 500);

		n += snprintf(buf + n, sizeof(buf) - n,
					  "<rule><inputEntry><text>%s</text></inputEntry>"
					  "<inputEntry><text>\"%s\", \"%s\"</text></inputEntry>"
					  "<inputEntry><text>[%d..%d)</text></inputEntry>"
					  "<inputEntry><text>&gt;= %d</text></inputEntry>"
					  "<outputEntry><text>%d</text></outputEntry>"
					  "<annotationEntry><text>rule %d</text></annotationEntry></rule>",
					  r % 3 == 0 ? "-" : "\"web\", \"wechat\"",
					  regions[rand_r(&seed) % 5], regions[rand_r(&seed) % 5],
					  lo, lo + 200 + (int) (rand_r(&seed) % 800), (int) (rand_r(&seed) % 30),
					  1 + (int) (rand_r(&seed) % 20), r + 1);
	}
	snprintf(buf + n, sizeof(buf) - n, "</decisionTable></decision></definitions>");
	return buf;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);	/* CPU time: the machine is shared */
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static void
run(const char *label, const char *hit_policy, const char *aggregation, FeelValue **inputs, int iters)
{
	CrmError	err;
	char	   *xml = model(hit_policy, aggregation);
	DmnModel   *m = dmn_read_xml(xml, strlen(xml), &err);
	DmnProgram *p = m ? dmn_compile(m, &err) : NULL;
	double		times[7];
	long		before;
	int			matched[NRULES];
	int			nm;

	if (p == NULL)
	{
		fprintf(stderr, "%s: %s\n", label, err.message);
		exit(1);
	}
	for (int k = 0; k < 7; k++)
	{
		double		t0 = now_ns();

		for (int i = 0; i < iters; i++)
			feel_value_free(dmn_evaluate(p, 0, inputs[i % NINPUTS], matched, NRULES, &nm, &err));
		times[k] = (now_ns() - t0) / iters;
	}
	qsort(times, 7, sizeof(double), cmp_double);
	before = nallocs;
	for (int i = 0; i < 1000; i++)
		feel_value_free(dmn_evaluate(p, 0, inputs[i % NINPUTS], matched, NRULES, &nm, &err));
	printf("%-22s %8.0f ns per evaluation (median of 7 x %d), %.2f allocations per evaluation\n",
		   label, times[3], iters, (nallocs - before) / 1000.0);
	dmn_program_free(p);
	dmn_model_free(m);
}

int
main(int argc, char **argv)
{
	int			iters = argc > 1 ? atoi(argv[1]) : 200000;
	FeelValue  *inputs[NINPUTS];
	unsigned	seed = 7;
	CrmError	err;
	char		num[32];

	crm_set_allocator(count_alloc, count_realloc, free);
	for (int i = 0; i < NINPUTS; i++)
	{
		inputs[i] = feel_context_new();
		feel_context_put(inputs[i], "source", 6, feel_string(sources[i % 5], strlen(sources[i % 5])));
		feel_context_put(inputs[i], "region", 6, feel_string(regions[(i / 5) % 5], strlen(regions[(i / 5) % 5])));
		snprintf(num, sizeof(num), "%u", rand_r(&seed) % 1200);
		feel_context_put(inputs[i], "company size", 12, feel_number_from_text(num, &err));
		snprintf(num, sizeof(num), "%u", rand_r(&seed) % 40);
		feel_context_put(inputs[i], "pages viewed", 12, feel_number_from_text(num, &err));
	}
	printf("%d-rule table, 4 inputs (2 string lists, 1 range, 1 comparison)\n", NRULES);
	run("COLLECT SUM", "COLLECT", "SUM", inputs, iters);
	run("FIRST", "FIRST", NULL, inputs, iters);
	run("RULE ORDER", "RULE ORDER", NULL, inputs, iters / 4);
	for (int i = 0; i < NINPUTS; i++)
		feel_value_free(inputs[i]);
	return 0;
}
