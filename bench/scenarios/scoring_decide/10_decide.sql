SELECT sum((crm.decide('bench scoring', 'points',
           jsonb_build_object('source', source, 'city', city, 'company_size', company_size,
                              'beds', beds, 'licence_on_file', licence_on_file)))::numeric)
  FROM bench_lead;
