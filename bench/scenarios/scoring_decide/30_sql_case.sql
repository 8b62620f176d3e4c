SELECT sum(bench_points_sql(source, city, company_size, beds, licence_on_file)) FROM bench_lead;
