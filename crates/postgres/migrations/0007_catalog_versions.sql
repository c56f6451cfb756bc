-- A number per owner that every write to their images or labels moves, in the writing
-- transaction, whichever process (or tool outside imgtag) writes: `Catalog::version`, what
-- the server's reused answers are keyed on. No row yet: version 0.
CREATE TABLE catalog_versions (
    owner text COLLATE "C" PRIMARY KEY,
    v     bigint NOT NULL
);

-- Statement-level triggers read the statement's rows from transition tables, so a bulk
-- import's 5,000 images move each owner's counter once per statement, not once per row.
-- Owners are upserted in order: writers touching several owners lock their counters in one
-- order and cannot deadlock on them. The counter row stays locked until the writer commits,
-- so one owner's writes queue behind each other from their first statement (as their tag
-- counters do before commit), and a reader sees the new number exactly when the write lands.
-- `search_path` is the schema's as migrated, so a session with another one (psql, a tool
-- naming the tables with their schema) still finds `catalog_versions`.
CREATE FUNCTION catalog_versions_bump() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO catalog_versions AS c (owner, v)
            SELECT DISTINCT owner, 1 FROM new_rows ORDER BY owner
            ON CONFLICT (owner) DO UPDATE SET v = c.v + 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO catalog_versions AS c (owner, v)
            SELECT DISTINCT owner, 1 FROM old_rows ORDER BY owner
            ON CONFLICT (owner) DO UPDATE SET v = c.v + 1;
    ELSE
        INSERT INTO catalog_versions AS c (owner, v)
            SELECT o, 1 FROM (SELECT owner FROM new_rows UNION SELECT owner FROM old_rows) AS u (o)
            ORDER BY o
            ON CONFLICT (owner) DO UPDATE SET v = c.v + 1;
    END IF;
    RETURN NULL;
END
$$;

-- One trigger per event: PostgreSQL allows transition tables on single-event triggers only.
CREATE TRIGGER images_version_insert AFTER INSERT ON images
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_bump();
CREATE TRIGGER images_version_update AFTER UPDATE ON images
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_bump();
CREATE TRIGGER images_version_delete AFTER DELETE ON images
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_bump();
CREATE TRIGGER labels_version_insert AFTER INSERT ON labels
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_bump();
CREATE TRIGGER labels_version_update AFTER UPDATE ON labels
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_bump();
CREATE TRIGGER labels_version_delete AFTER DELETE ON labels
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_bump();
