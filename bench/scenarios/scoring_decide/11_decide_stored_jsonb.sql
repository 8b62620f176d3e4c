SELECT sum((crm.decide('bench scoring', 'points', inputs))::numeric) FROM bench_lead;
