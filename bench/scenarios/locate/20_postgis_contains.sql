SELECT count(*), sum(t.territory_id) FROM bench_pts p JOIN bench_terr t ON ST_Contains(t.geom, p.geom);
