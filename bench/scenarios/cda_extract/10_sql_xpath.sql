-- plain SQL: xpath() per field per medication entry
WITH ns AS (SELECT ARRAY[ARRAY['v3', 'urn:hl7-org:v3']] AS n),
sa AS (
    SELECT unnest(xpath('//v3:substanceAdministration[v3:consumable]', d.doc, ns.n)) AS x, ns.n
      FROM bench_doc d, ns),
line AS (
    SELECT (xpath('/*/v3:consumable/v3:manufacturedProduct/v3:manufacturedMaterial/v3:code/@code', x, n))[1]::text AS code,
           (xpath('/*/v3:consumable/v3:manufacturedProduct/v3:manufacturedMaterial/v3:code/@displayName', x, n))[1]::text AS display,
           to_date(left((xpath('/*/v3:effectiveTime/v3:low/@value', x, n))[1]::text, 8), 'YYYYMMDD') AS start_date,
           (xpath('/*/v3:doseQuantity/@value', x, n))[1]::text::numeric AS dose,
           (xpath('/*/v3:entryRelationship/v3:supply/v3:quantity/@value', x, n))[1]::text::numeric AS quantity,
           24 / (xpath('/*/v3:effectiveTime/v3:period[@unit="h"]/@value', x, n))[1]::text::numeric AS per_day
      FROM sa)
SELECT count(*) AS lines, sum(floor(quantity / (dose * per_day))) AS days
  FROM line;
