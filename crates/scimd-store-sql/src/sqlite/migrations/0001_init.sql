-- scimd embedded store, schema version 1.
-- Indexed columns are derived from the claims on every write (see resource.rs); `claims` is the
-- JSON object of every claim, kept losslessly.
CREATE TABLE resources (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    kind            INTEGER NOT NULL,          -- 1 = User, 2 = Group
    user_name_ci    TEXT,                      -- users: lower-cased userName
    external_id     TEXT,                      -- externalId, as written (caseExact)
    display_name_ci TEXT,                      -- lower-cased displayName (users) or group displayName
    created         TEXT    NOT NULL,          -- RFC 3339, UTC, nanoseconds
    last_modified   TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    claims          TEXT    NOT NULL
);

-- userName is unique without regard to case. A violation is reported by SQLite as
-- "UNIQUE constraint failed: resources.kind, resources.user_name_ci" and mapped in error.rs.
CREATE UNIQUE INDEX resources_user_name_ci ON resources (kind, user_name_ci);
CREATE INDEX resources_external_id ON resources (kind, external_id);
CREATE INDEX resources_display_name_ci ON resources (kind, display_name_ci);
-- Paging in creation order within a kind, through the index alone.
CREATE INDEX resources_kind_seq ON resources (kind, seq);

CREATE TABLE members (
    group_seq  INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    member_seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    pos        INTEGER NOT NULL,               -- order of addition within the group
    display    TEXT,
    PRIMARY KEY (group_seq, member_seq)
) WITHOUT ROWID;

CREATE INDEX members_member_seq ON members (member_seq);
CREATE INDEX members_group_pos ON members (group_seq, pos);
