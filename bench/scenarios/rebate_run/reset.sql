TRUNCATE bench_plain_line;
