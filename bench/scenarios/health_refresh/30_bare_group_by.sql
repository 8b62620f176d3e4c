SELECT d.customer_id, count(*), max(d.dispensed_at), sum(d.price) FROM crm.dispense d GROUP BY d.customer_id;
