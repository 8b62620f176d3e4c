SELECT sum(bench_points_plpgsql(inputs->>'source', inputs->>'city', inputs->>'company_size',
                                (inputs->>'beds')::integer, (inputs->>'licence_on_file')::boolean))
  FROM bench_lead;
