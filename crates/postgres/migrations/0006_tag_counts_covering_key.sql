-- `GET /tags` reads an owner's counters index-only from the primary key, `n` included, and
-- the server orders those few hundred rows. The (owner, n DESC, name) index kept them in
-- order, but every counter change moved the counter's entry to another place in it (its n
-- changed), leaving the live entries spread over sparse pages that every read walks: 715
-- pages for 1,240 counters after bench/catalog's import, against 24 for this key, whose
-- entries stay where they are, next to their dead versions until those are cleaned up.
ALTER TABLE tag_counts
    DROP CONSTRAINT tag_counts_pkey,
    ADD CONSTRAINT tag_counts_pkey PRIMARY KEY (owner, name) INCLUDE (n);
DROP INDEX tag_counts_owner_n;
