SELECT sum((crm.decide_row('bench scoring', 'points', l))::numeric) FROM bench_lead l;
