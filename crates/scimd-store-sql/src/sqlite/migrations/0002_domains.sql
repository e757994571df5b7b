-- scimd embedded store, schema version 2: admin state, and members kept in other domains.

-- Admin state (schemas, claim mappings, domains): one JSON document per key, versioned so that
-- concurrent admin writes are detected rather than lost.
CREATE TABLE settings (
    key     TEXT    PRIMARY KEY,
    value   TEXT    NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID;

-- Members of a group that live in another domain (a PRIMARY group with LDAP users): the id as
-- the server checked it in its domain, with no row in `resources`. `pos` shares the sequence of
-- `members.pos`, so that a group's members read back in the order they were added.
CREATE TABLE external_members (
    group_seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    member_id TEXT    NOT NULL,
    kind      INTEGER NOT NULL,                -- 1 = User, 2 = Group
    domain    TEXT    NOT NULL,
    pos       INTEGER NOT NULL,
    display   TEXT,
    PRIMARY KEY (group_seq, member_id)
) WITHOUT ROWID;

CREATE INDEX external_members_member_id ON external_members (member_id);
CREATE INDEX external_members_group_pos ON external_members (group_seq, pos);

-- Every member of every group, of this store or another domain, for member filters.
CREATE VIEW group_members (group_seq, member_id, kind, display, pos) AS
    SELECT m.group_seq, x.id, x.kind, m.display, m.pos
    FROM members AS m JOIN resources AS x ON x.seq = m.member_seq
    UNION ALL
    SELECT group_seq, member_id, kind, display, pos FROM external_members;
