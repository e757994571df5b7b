-- scimd PostgreSQL store, schema version 1.
--
-- A resource is a row of `resources` with every claim kept in `claims` (jsonb). Nothing is
-- derived by the application: the indexes that make `userName`, `externalId`, `displayName`
-- and `emails.value` equalities index lookups are expression indexes over `claims`, so that
-- they can never disagree with it. The filter compiler (filter.rs) writes exactly these
-- expressions, with the claim names as literals, so that the planner matches them.

-- The store's one case folding: full Unicode lower-casing (ICU root locale), whatever the
-- database's own collation is, so that `ÉLODIE` and `élodie` are one userName and filters agree
-- with Rust's `to_lowercase`, which the in-memory evaluator uses. A plain SQL function: the
-- planner inlines it, in queries and in index expressions alike.
CREATE FUNCTION scimd_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT lower(t COLLATE "und-x-icu") $$;

-- The values a claim holds, as the evaluator reads them: the elements of an array, the value
-- itself otherwise; never JSON null, nothing for a missing claim (SQL NULL).
CREATE FUNCTION scimd_values(v jsonb) RETURNS SETOF jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT e
        FROM jsonb_array_elements(CASE jsonb_typeof(v) WHEN 'array' THEN v ELSE jsonb_build_array(v) END) AS e
        WHERE jsonb_typeof(e) <> 'null'
    $$;

-- RFC 7644 §3.4.2.2 `pr`: a value that is not null, not "", and for arrays and objects, one
-- that holds such a value somewhere.
CREATE FUNCTION scimd_present(v jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(jsonb_path_exists(v,
            'strict $.** ? (@.type() == "number" || @.type() == "boolean" || (@.type() == "string" && @ != ""))'),
            false)
    $$;

-- The folded string values of the sub-attribute `sub` of the complex values of a claim
-- (`emails` → `value`): what the GIN index on emails holds. Only built-ins inside, so that the
-- index expression does not depend on the search_path.
CREATE FUNCTION scimd_folded_subvalues(v jsonb, sub text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(array_agg(lower((s #>> '{}') COLLATE "und-x-icu")), '{}')
        FROM jsonb_array_elements(CASE jsonb_typeof(v) WHEN 'array' THEN v ELSE jsonb_build_array(v) END) AS e,
             jsonb_array_elements(CASE jsonb_typeof(e -> sub) WHEN 'array' THEN e -> sub
                                  ELSE jsonb_build_array(e -> sub) END) AS s
        WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(s) = 'string'
    $$;

-- An RFC 3339 date-time as the store's canonical UTC text, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`
-- (nine fractional digits), which sorts in time order; NULL if the text is not one. It accepts
-- what the `time` crate's Rfc3339 parser accepts, which the in-memory evaluator uses: any one
-- ASCII character between date and time, `Z`/`z` or `±HH:MM` (hours up to 23), a fraction of
-- any length (nine digits kept), a leap second only as the last second of a month in UTC; and,
-- as the evaluator does, no offset at all, taken as UTC. Integer arithmetic throughout
-- (H. Hinnant's civil-date algorithms): no dependency on the session's TimeZone, nanoseconds
-- kept (timestamptz keeps microseconds), year 0000 allowed.
CREATE FUNCTION scimd_instant(t text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    p text[];
    y bigint; mo bigint; d bigint; hh bigint; mi bigint; ss bigint;
    nanos bigint := 0;
    off bigint := 0;
    leap boolean := false;
    yy bigint; era bigint; yoe bigint; doy bigint; doe bigint; mp bigint;
    days bigint; secs bigint; tod bigint;
    dim bigint;
BEGIN
    p := regexp_match(t,
        '^([0-9]{4})-([0-9]{2})-([0-9]{2})(.)([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.]([0-9]+))?(?:([Zz])|([-+])([0-9]{2}):([0-9]{2}))?$');
    IF p IS NULL OR octet_length(p[4]) <> 1 THEN
        RETURN NULL;
    END IF;
    y := p[1]::bigint; mo := p[2]::bigint; d := p[3]::bigint;
    hh := p[5]::bigint; mi := p[6]::bigint; ss := p[7]::bigint;
    IF p[8] IS NOT NULL THEN
        nanos := rpad(left(p[8], 9), 9, '0')::bigint;
    END IF;
    IF p[10] IS NOT NULL THEN
        IF p[11]::bigint > 23 OR p[12]::bigint > 59 THEN
            RETURN NULL;
        END IF;
        off := (p[11]::bigint * 60 + p[12]::bigint) * CASE p[10] WHEN '-' THEN -1 ELSE 1 END;
    END IF;
    -- (plpgsql reads an IF condition up to the first THEN: no CASE inside one.)
    dim := CASE WHEN mo = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
                WHEN mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END;
    IF mo < 1 OR mo > 12 OR d < 1 OR d > dim OR hh > 23 OR mi > 59 OR ss > 60 THEN
        RETURN NULL;
    END IF;
    IF ss = 60 THEN
        ss := 59; nanos := 999999999; leap := true;
    END IF;
    -- Days since 1970-01-01 of the civil date.
    yy := y - CASE WHEN mo <= 2 THEN 1 ELSE 0 END;
    era := (CASE WHEN yy >= 0 THEN yy ELSE yy - 399 END) / 400;
    yoe := yy - era * 400;
    doy := (153 * (mo + CASE WHEN mo > 2 THEN -3 ELSE 9 END) + 2) / 5 + d - 1;
    doe := yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days := era * 146097 + doe - 719468;
    secs := days * 86400 + hh * 3600 + mi * 60 + ss - off * 60;
    -- Back to the civil date and time of day, in UTC.
    days := CASE WHEN secs >= 0 THEN secs / 86400 ELSE -((-secs + 86399) / 86400) END;
    tod := secs - days * 86400;
    days := days + 719468;
    era := (CASE WHEN days >= 0 THEN days ELSE days - 146096 END) / 146097;
    doe := days - era * 146097;
    yoe := (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy := doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp := (5 * doy + 2) / 153;
    d := doy - (153 * mp + 2) / 5 + 1;
    mo := mp + CASE WHEN mp < 10 THEN 3 ELSE -9 END;
    y := yoe + era * 400 + CASE WHEN mo <= 2 THEN 1 ELSE 0 END;
    dim := CASE WHEN mo = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
                WHEN mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END;
    IF leap AND NOT (tod = 86399 AND d = dim) THEN
        RETURN NULL;
    END IF;
    IF y < 0 OR y > 9999 THEN
        RETURN NULL;
    END IF;
    RETURN lpad(y::text, 4, '0') || '-' || lpad(mo::text, 2, '0') || '-' || lpad(d::text, 2, '0')
        || 'T' || lpad((tod / 3600)::text, 2, '0') || ':' || lpad((tod % 3600 / 60)::text, 2, '0')
        || ':' || lpad((tod % 60)::text, 2, '0') || '.' || lpad(nanos::text, 9, '0') || 'Z';
END
$$;

CREATE TABLE resources (
    -- Creation order: keyset positions (`Keyset::seq`) and ties in a sort.
    seq           bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            text     NOT NULL CONSTRAINT resources_id_key UNIQUE,
    kind          smallint NOT NULL CHECK (kind IN (1, 2)),   -- 1 = User, 2 = Group
    created       text     NOT NULL,                          -- canonical UTC text, as scimd_instant
    last_modified text     NOT NULL,
    version       bigint   NOT NULL,
    claims        jsonb    NOT NULL
);

-- userName is unique among users without regard to case. A violation names this index, which
-- error.rs maps to the userName claim.
CREATE UNIQUE INDEX resources_user_name ON resources (scimd_fold(claims ->> 'urn:scimd:claims:userName'))
    WHERE kind = 1;
CREATE INDEX resources_external_id ON resources (kind, (claims ->> 'urn:scimd:claims:externalId'));
CREATE INDEX resources_user_display_name ON resources (scimd_fold(claims ->> 'urn:scimd:claims:displayName'))
    WHERE kind = 1;
CREATE INDEX resources_group_display_name
    ON resources (scimd_fold(claims ->> 'urn:scimd:claims:groupDisplayName'))
    WHERE kind = 2;
CREATE INDEX resources_emails_value
    ON resources USING gin (scimd_folded_subvalues(claims -> 'urn:scimd:claims:emails', 'value'))
    WHERE kind = 1;
-- Paging in creation order within a kind.
CREATE INDEX resources_kind_seq ON resources (kind, seq);

-- The members of groups, in the order they were added (`pos`). A member of this store has its
-- row in `resources` (`member_seq`); a member of another domain has none, and keeps the kind,
-- domain and display the server gave. Members are keyed by id within a group, as the store
-- contract names them.
CREATE TABLE members (
    group_seq  bigint   NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    member_id  text     NOT NULL,
    member_seq bigint   REFERENCES resources (seq) ON DELETE CASCADE,
    kind       smallint NOT NULL CHECK (kind IN (1, 2)),
    domain     text,
    display    text,
    pos        bigint   NOT NULL,
    PRIMARY KEY (group_seq, member_id),
    CHECK ((member_seq IS NULL) = (domain IS NOT NULL))
);

-- Nested memberships (the recursive walk up) and the cascade of a deleted member.
CREATE INDEX members_member_seq ON members (member_seq);
-- Memberships of an id, and forget_member.
CREATE INDEX members_member_id ON members (member_id);
-- `members.value eq` (caseExact false in RFC 7643 §4.2).
CREATE INDEX members_member_id_folded ON members (scimd_fold(member_id));
-- A group's members in order, and the next position.
CREATE INDEX members_group_pos ON members (group_seq, pos);

-- Admin state (schemas, claim mappings, domains): one JSON document per key, versioned so that
-- concurrent writes from several nodes are detected rather than lost. Kept as text: read back
-- exactly as written.
CREATE TABLE settings (
    key     text   PRIMARY KEY,
    value   text   NOT NULL,
    version bigint NOT NULL
);
