-- Tag filters read each label's confidence from the index instead of the table: with
-- `confidence` in the leaf entries, a by-tag page (and an AND of tags, merged newest first)
-- is an index-only scan, one page read per ~200 labels instead of one table row each.
-- Replaces labels_owner_name, whose key it repeats.
CREATE INDEX labels_owner_name_conf ON labels (owner, name, image_id) INCLUDE (confidence);
DROP INDEX labels_owner_name;
