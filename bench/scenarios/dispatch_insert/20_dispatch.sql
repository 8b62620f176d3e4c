CALL public.bench_insert_leads(:scale, 'd');
