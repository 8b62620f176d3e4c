-- crm.pdc: the Pharmacy Quality Alliance's vectors, edge cases and errors.
\set VERBOSITY default
SET client_min_messages = warning;

-- PQA: 2018-01-01 x90 then 2018-03-25 x90 (same drug): the second supply starts 2018-04-01, so
-- Jan 1 - Jun 29 is covered: 180 of 365 days.
SELECT crm.pdc('{2018-01-01,2018-03-25}', '{90,90}', '{C09AA02,C09AA02}', '2018-01-01', '2018-12-31');
-- ... and exactly 2018-04-01 .. 2018-06-29 in the second quarter: 90 of 91 days (Jun 30 uncovered)
SELECT crm.pdc('{2018-01-01,2018-03-25}', '{90,90}', '{C09AA02,C09AA02}', '2018-04-01', '2018-06-30');
-- not shifted it would have ended 2018-06-22: check that 2018-06-23 .. 2018-06-29 is covered
SELECT crm.pdc('{2018-01-01,2018-03-25}', '{90,90}', '{C09AA02,C09AA02}', '2018-06-23', '2018-06-29');
-- PQA: 2018-07-05 x90 then 2018-09-25 x90: starts 2018-10-03, ends 2018-12-31 (period from the
-- index date to the end of the year is fully covered, and nothing spills into 2019)
SELECT crm.pdc('{2018-07-05,2018-09-25}', '{90,90}', '{C07AB02,C07AB02}', '2018-07-05', '2018-12-31');
SELECT crm.pdc('{2018-07-05,2018-09-25}', '{90,90}', '{C07AB02,C07AB02}', '2018-10-03', '2018-12-31');
SELECT crm.pdc('{2018-07-05,2018-09-25}', '{90,90}', '{C07AB02,C07AB02}', '2019-01-01', '2019-01-31');
-- PQA: two different drugs of the class both filled 2018-01-01: both start that day, the shared
-- days count once: 30 of 59 days (Jan 1 - Feb 28)
SELECT crm.pdc('{2018-01-01,2018-01-01}', '{30,30}', '{C09AA02,C08CA01}', '2018-01-01', '2018-02-28');
-- the same two fills as one drug would shift: 59 of 59
SELECT crm.pdc('{2018-01-01,2018-01-01}', '{30,30}', '{C09AA02,C09AA02}', '2018-01-01', '2018-02-28');

-- edge cases
SELECT crm.pdc('{2026-01-01}', '{30}', '{A10BA02}', '2026-01-01', '2026-03-31') AS single_fill;
SELECT crm.pdc('{2026-01-01,2026-03-02}', '{30,30}', '{A10BA02,A10BA02}', '2026-01-01', '2026-03-31') AS with_gap;
SELECT crm.pdc('{2025-12-17,2026-01-20}', '{30,90}', '{A10BA02,A10BA02}', '2026-01-01', '2026-01-31') AS bounds;
SELECT crm.pdc('{2026-01-10}', '{30}', '{A10BA02}', '2026-01-10', '2026-01-10') AS one_day;
SELECT crm.pdc('{}', '{}', '{}', '2026-01-01', '2026-12-31') AS no_fills;
SELECT crm.pdc('{2027-01-01}', '{30}', '{A10BA02}', '2026-01-01', '2026-12-31') AS after_period;
SELECT crm.pdc(NULL, '{30}', '{A10BA02}', '2026-01-01', '2026-12-31') AS null_argument;
-- order of the fills does not matter
SELECT crm.pdc('{2018-03-25,2018-01-01}', '{90,90}', '{x,x}', '2018-01-01', '2018-12-31') AS unordered;

-- errors
SELECT crm.pdc('{2026-01-01,2026-02-01}', '{30}', '{a,a}', '2026-01-01', '2026-12-31');
SELECT crm.pdc('{2026-01-01}', '{30}', '{a}', '2026-12-31', '2026-01-01');
SELECT crm.pdc('{2026-01-01,NULL}', '{30,30}', '{a,a}', '2026-01-01', '2026-12-31');
SELECT crm.pdc('{2026-01-01}', '{NULL}', '{a}', '2026-01-01', '2026-12-31');
SELECT crm.pdc('{2026-01-01}', '{30}', '{NULL}', '2026-01-01', '2026-12-31');
SELECT crm.pdc('{2026-01-01}', '{0}', '{a}', '2026-01-01', '2026-12-31');
SELECT crm.pdc('{2026-01-01}', '{30}', '{a}', '2026-01-01', 'infinity');
SELECT crm.pdc('{{2026-01-01}}', '{{30}}', '{{a}}', '2026-01-01', '2026-12-31');
SELECT crm.pdc('{2026-01-01}', '{30}', '{a}', '1900-01-01', '2026-12-31');
