SELECT count(*), sum(l.territory_id) FROM bench_pts p, LATERAL crm.locate(p.lon, p.lat) l;
