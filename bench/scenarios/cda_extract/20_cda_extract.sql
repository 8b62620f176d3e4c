-- the extension: crm.cda_extract
SELECT count(*) AS lines, sum(e.days_supply) AS days
  FROM bench_doc d, crm.cda_extract(d.doc) e
 WHERE e.kind = 'medication';
