SELECT count(t), sum(t) FROM (SELECT crm.locate_id(p.lon, p.lat) AS t FROM bench_pts p) s;
