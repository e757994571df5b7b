-- scimd embedded store, schema version 3: what searches on users read instead of the JSON of
-- every user.

-- The folded family name (`name.familyName eq` / `sw`: an index lookup or range), derived on
-- every write like the other `_ci` columns (resource.rs).
ALTER TABLE resources ADD COLUMN family_name_ci TEXT;
CREATE INDEX resources_family_name_ci ON resources (kind, family_name_ci);
UPDATE resources
SET family_name_ci = CASE json_type(claims, '$."urn:scimd:claims:name.familyName"')
                     WHEN 'text' THEN scimd_lower(json_extract(claims, '$."urn:scimd:claims:name.familyName"')) END
WHERE kind = 1;

-- The emails of users, one row per value, so that filters on emails (`emails.value eq`,
-- `emails[type eq "work" and value co "@example"]`) read a narrow indexed table.
--
-- Derived from the `urn:scimd:claims:emails` claim on every write of a user (write.rs); `type_ci`
-- and `value_ci` are the folded strings (scimd_lower), NULL where the element has no string
-- there. `pos` is the element's index in the claim's list.
CREATE TABLE user_emails (
    seq      INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    pos      INTEGER NOT NULL,
    type_ci  TEXT,
    value_ci TEXT,
    PRIMARY KEY (seq, pos)
) WITHOUT ROWID;

-- `emails.value eq "…"`: an index lookup.
CREATE INDEX user_emails_value ON user_emails (value_ci);

INSERT INTO user_emails (seq, pos, type_ci, value_ci)
SELECT r.seq, e.key,
       CASE json_type(e.value, '$.type') WHEN 'text' THEN scimd_lower(json_extract(e.value, '$.type')) END,
       CASE json_type(e.value, '$.value') WHEN 'text' THEN scimd_lower(json_extract(e.value, '$.value')) END
FROM resources AS r, json_each(r.claims, '$."urn:scimd:claims:emails"') AS e
WHERE r.kind = 1 AND json_type(r.claims, '$."urn:scimd:claims:emails"') = 'array' AND e.type = 'object';

-- Members of other domains by their folded id (`members.value eq "…"`, caseExact false in RFC
-- 7643 §4.2: an index lookup). Members of this store are found by `resources.id`, which the
-- store keeps folded (ids are generated lower-case).
ALTER TABLE external_members ADD COLUMN member_id_ci TEXT;
UPDATE external_members SET member_id_ci = scimd_lower(member_id);
CREATE INDEX external_members_member_id_ci ON external_members (member_id_ci);
