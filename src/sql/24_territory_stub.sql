-- TEMPORARY stand-in for crm.territory and crm.locate until the geo-fence part is merged
-- (fences are boxes here). Removed on merge.
CREATE TABLE crm.territory (
    tenant_id         bigint      NOT NULL DEFAULT crm.current_tenant(),
    territory_id      bigint      GENERATED ALWAYS AS IDENTITY,
    parent_id         bigint,
    code              text        NOT NULL,
    name              text        NOT NULL,
    fence             box         NOT NULL,
    priority          integer     NOT NULL DEFAULT 100,
    active            boolean     NOT NULL DEFAULT true,
    sla_seconds       integer     NOT NULL DEFAULT 300,
    manager_rep_id    bigint,
    assignment_policy text        NOT NULL DEFAULT 'round_robin'
                      CHECK (assignment_policy IN ('round_robin', 'least_loaded', 'weighted')),
    weight_model      text,
    created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, territory_id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, manager_rep_id) REFERENCES crm.rep (tenant_id, rep_id)
);
SELECT crm.setup_tenant_table('crm.territory');
GRANT SELECT ON crm.territory TO crm_rep;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.territory TO crm_admin;

CREATE FUNCTION crm.locate(lon float8, lat float8, srs text DEFAULT 'wgs84')
    RETURNS TABLE (territory_id bigint, name text, priority integer)
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT t.territory_id, t.name, t.priority FROM crm.territory t
     WHERE t.tenant_id OPERATOR(pg_catalog.=) crm.current_tenant() AND t.active
       AND t.fence OPERATOR(pg_catalog.@>) pg_catalog.point(lon, lat)
     ORDER BY t.priority, t.territory_id;
END;
