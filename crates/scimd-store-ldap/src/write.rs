//! Writes: create, replace, change members, delete. Each is one LDAP operation where the
//! directory allows it; where it takes two (a rename and a modify; an add and the ordered
//! values it could not carry), a failure of the second undoes the first as far as it can.
//!
//! A write on a stored version carries an RFC 4528 assertion on the version attribute, so it
//! applies only to the entry as read (where the directory supports the control: OpenLDAP
//! does, Active Directory does not, and there a check-then-write can race). Writes read the
//! entry they leave with an RFC 4527 post-read control where supported.
//!
//! Values are written in order: ldap3 takes a set of values per attribute, so an attribute
//! with several values (a multi-valued claim, a group's members) gets its first value in the
//! add or replace and each further one as its own `add` modification of the same operation.
//!
//! A group class that requires a member (`groupOfNames`) keeps the configured
//! `empty_group_member` DN while the group has no member; it is removed with the first member
//! added and never read back.

use std::collections::HashSet;

use ldap3::controls::{Assertion, PostRead, RawControl};
use ldap3::{LdapResult, Mod};
use scimd_store::{
    MemberChange, NewResource, Replacement, ResourceKind, StoreError, StoreResult, StoredResource,
};

use crate::dn;
use crate::entry::{Decoded, Layout, RawEntry, Values, encode, parse_entry_element};
use crate::error::{self, Op, rc};
use crate::filter::escape;
use crate::members::Resolved;
use crate::search::stored;
use crate::store::{LdapStore, POST_READ_OID};

type Bytes = Vec<u8>;

fn set(values: impl IntoIterator<Item = Bytes>) -> HashSet<Bytes> {
    values.into_iter().collect()
}

/// A conditional write failed: the entry changed since it was read.
fn assertion_failed(e: &StoreError) -> bool {
    matches!(e, StoreError::Backend(m) if m.contains("LDAP result 122"))
}

impl LdapStore {
    fn op<'a>(&'a self, layout: &'a Layout, id: Option<&'a str>, attributes: &'a [String]) -> Op<'a> {
        Op { url: self.pool.url(), kind: layout.kind, id, name_claim: layout.name_claim, attributes }
    }

    /// Controls of a write: the assertion on `version` (if given and supported) and post-read.
    fn write_controls(&self, layout: &Layout, version: Option<&[u8]>) -> Vec<RawControl> {
        let mut controls = Vec::new();
        if let Some(v) = version.filter(|_| self.controls.assertion) {
            let filter = format!("({}={})", layout.version_attr, escape(v));
            // The filter is ours and well-formed; check it anyway, as Assertion::new panics on
            // one that does not parse.
            if ldap3::parse_filter(&filter).is_ok() {
                controls.push(Assertion::new(filter));
            }
        }
        if self.controls.post_read {
            controls.push(PostRead::new(layout.read_attrs(true, false).to_vec()));
        }
        controls
    }

    /// Runs a write on a pooled connection and maps its result.
    async fn run(&self, op: &Op<'_>, write: Write<'_>, controls: Vec<RawControl>) -> StoreResult<LdapResult> {
        let (slot, mut ldap) = self.pool.get().await?;
        let ldap = ldap.with_controls(controls).with_timeout(self.config.timeout());
        let res = match write {
            Write::Add(dn, attrs) => ldap.add(dn, attrs).await,
            Write::Modify(dn, mods) => ldap.modify(dn, mods).await,
            Write::Rename(dn, rdn) => ldap.modifydn(dn, &rdn, true, None).await,
            Write::Delete(dn) => ldap.delete(dn).await,
        };
        match res {
            Ok(r) if r.rc == 0 => Ok(r),
            Ok(r) if r.rc == rc::ASSERTION_FAILED => {
                Err(StoreError::Backend(format!("{}: {}", op.url, error::describe(&r))))
            }
            Ok(r) => Err(error::result(op, &r)),
            Err(e) => {
                // A broken connection leaves the pool; the next write opens another.
                if error::is_connection_error(&e) {
                    self.pool.discard(slot).await;
                }
                Err(error::client(op.url, e))
            }
        }
    }

    /// The entry a write left: from its post-read control, else read again.
    async fn after_write(
        &self,
        layout: &Layout,
        res: &LdapResult,
        dn: &str,
        with_members: bool,
    ) -> StoreResult<Decoded> {
        let posted = res
            .ctrls
            .iter()
            .find(|c| c.1.ctype == POST_READ_OID)
            .and_then(|c| c.1.val.as_deref())
            .and_then(|v| parse_entry_element(v).ok());
        let entry: RawEntry = match posted {
            Some(e) => e,
            None => {
                let attrs = layout.read_attrs(with_members, false);
                let refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
                self.search_base(dn, "(objectClass=*)", &refs)
                    .await?
                    .ok_or_else(|| StoreError::NotFound { kind: layout.kind, id: dn.to_owned() })?
            }
        };
        self.decode(layout, &entry)
    }

    /// The RDN value of a resource with these attribute values: the RDN attribute's first
    /// value, else the name claim's (written to the RDN attribute as well).
    fn rdn_value(
        &self,
        layout: &Layout,
        values: &mut Values,
        claims: &scimd_store::Claims,
    ) -> StoreResult<String> {
        if let Some((_, v)) = values.iter().find(|(a, _)| a.eq_ignore_ascii_case(&layout.rdn_attr))
            && let Some(first) = v.first()
        {
            return Ok(String::from_utf8_lossy(first).into_owned());
        }
        let name = claims.get_str(layout.name_claim).filter(|s| !s.is_empty()).ok_or_else(|| {
            StoreError::Rejected(format!(
                "the entry needs a value for its naming attribute {}: claim {} is missing",
                layout.rdn_attr, layout.name_claim
            ))
        })?;
        values.push((layout.rdn_attr.clone(), vec![name.as_bytes().to_vec()]));
        Ok(name.to_owned())
    }

    /// userName is unique without regard to case (the store contract): checked here when the
    /// directory does not enforce it by the DN (users not named by their userName attribute).
    async fn check_user_name(
        &self,
        layout: &Layout,
        claims: &scimd_store::Claims,
        except_dn: Option<&str>,
    ) -> StoreResult<()> {
        let Some(entry) = layout.map.of_claim(layout.name_claim) else { return Ok(()) };
        if layout.kind != ResourceKind::User || entry.attribute.eq_ignore_ascii_case(&layout.rdn_attr) {
            return Ok(());
        }
        let Some(name) = claims.get_str(layout.name_claim) else { return Ok(()) };
        let filter = layout.narrowed(&format!("({}={})", entry.attribute, escape(name.as_bytes())));
        let attrs = vec![entry.attribute.clone()];
        let found = self.lookup(&layout.base, &filter, &attrs, None).await?;
        let taken = found.iter().any(|e| {
            except_dn.is_none_or(|d| dn::normalize(d) != dn::normalize(&e.dn))
                && e.text(&entry.attribute).is_some_and(|v| v.to_lowercase() == name.to_lowercase())
        });
        if taken { Err(StoreError::Conflict { claim: layout.name_claim.to_owned() }) } else { Ok(()) }
    }

    pub(crate) async fn create_entry(&self, new: NewResource) -> StoreResult<StoredResource> {
        let layouts = self.layouts();
        let layout = layouts.of(new.kind);
        if new.kind == ResourceKind::User && !new.members.is_empty() {
            return Err(StoreError::Unsupported("a user has no members".to_owned()));
        }
        let mut values = encode(&new.claims, layout, &self.schema)?;
        let rdn_value = self.rdn_value(layout, &mut values, &new.claims)?;
        let entry_dn = dn::child(&layout.rdn_attr, &rdn_value, &layout.base);
        self.check_user_name(layout, &new.claims, None).await?;
        let resolved = if new.kind == ResourceKind::Group {
            self.resolve_members(&new.members, Some(&entry_dn)).await?
        } else {
            Vec::new()
        };
        let member_attr = self.config.member_attribute.clone();
        if new.kind == ResourceKind::Group {
            let member_values: Vec<Bytes> = if resolved.is_empty() {
                self.config.empty_group_member.iter().map(|d| d.as_bytes().to_vec()).collect()
            } else {
                resolved.iter().map(|r| r.dn.as_bytes().to_vec()).collect()
            };
            if !member_values.is_empty() {
                values.push((member_attr.clone(), member_values));
            }
        }
        // First values in the add; further values, in order, in one modify after it.
        let mut attrs: Vec<(Bytes, HashSet<Bytes>)> =
            vec![(b"objectClass".to_vec(), set(layout.object_classes.iter().map(|c| c.as_bytes().to_vec())))];
        let mut later: Vec<Mod<Bytes>> = Vec::new();
        for (attr, vals) in &values {
            let mut it = vals.iter();
            if let Some(first) = it.next() {
                attrs.push((attr.as_bytes().to_vec(), set([first.clone()])));
            }
            later.extend(it.map(|v| Mod::Add(attr.as_bytes().to_vec(), set([v.clone()]))));
        }
        let written: Vec<String> = values.iter().map(|(a, _)| a.clone()).collect();
        let op = self.op(layout, None, &written);
        let res = self.run(&op, Write::Add(&entry_dn, attrs), self.write_controls(layout, None)).await?;
        let res = if later.is_empty() {
            res
        } else {
            match self.run(&op, Write::Modify(&entry_dn, later), self.write_controls(layout, None)).await {
                Ok(r) => r,
                Err(e) => {
                    // Undo the add: the create is whole or not at all.
                    let _ = self.run(&op, Write::Delete(&entry_dn), Vec::new()).await;
                    return Err(e);
                }
            }
        };
        let decoded = self.after_write(layout, &res, &entry_dn, false).await?;
        let members =
            (new.kind == ResourceKind::Group).then(|| resolved.into_iter().map(|r| r.member).collect());
        Ok(stored(new.kind, decoded, members))
    }

    /// The entry of `id` for a write, checked against `expected`.
    async fn current(
        &self,
        layout: &Layout,
        id: &str,
        expected: Option<u64>,
        with_members: bool,
    ) -> StoreResult<(RawEntry, Decoded)> {
        let not_found = || StoreError::NotFound { kind: layout.kind, id: id.to_owned() };
        let entry = self.find(layout, id, with_members).await?.ok_or_else(not_found)?;
        let d = self.decode(layout, &entry)?;
        if expected.is_some_and(|v| v != d.version) {
            return Err(StoreError::VersionMismatch { current: d.version });
        }
        Ok((entry, d))
    }

    /// After a failed assertion: the version now stored.
    async fn mismatch(&self, layout: &Layout, id: &str) -> StoreError {
        match self.find(layout, id, false).await {
            Ok(Some(e)) => match self.decode(layout, &e) {
                Ok(d) => StoreError::VersionMismatch { current: d.version },
                Err(e) => e,
            },
            Ok(None) => StoreError::NotFound { kind: layout.kind, id: id.to_owned() },
            Err(e) => e,
        }
    }

    /// The modifications that make the mapped attributes hold `values` (and the password, if
    /// a new one is written).
    fn attribute_mods(&self, layout: &Layout, values: &Values) -> Vec<Mod<Bytes>> {
        let mut mods = Vec::new();
        let mut targets: Vec<String> = layout.writable_attrs().into_iter().map(str::to_owned).collect();
        if let Some(pw) = &layout.password_attr
            && values.iter().any(|(a, _)| a.eq_ignore_ascii_case(pw))
        {
            targets.push(pw.clone());
        }
        for attr in targets {
            let new: &[Bytes] =
                values.iter().find(|(a, _)| a.eq_ignore_ascii_case(&attr)).map_or(&[], |(_, v)| v.as_slice());
            let name = attr.as_bytes().to_vec();
            let mut it = new.iter();
            mods.push(Mod::Replace(name.clone(), it.next().map(|v| set([v.clone()])).unwrap_or_default()));
            mods.extend(it.map(|v| Mod::Add(name.clone(), set([v.clone()]))));
        }
        mods
    }

    /// Renames the entry if its RDN value changed; returns its DN and the version raw value to
    /// assert next.
    async fn rename_if_needed(
        &self,
        layout: &Layout,
        op: &Op<'_>,
        current: &Decoded,
        rdn_value: &str,
    ) -> StoreResult<Option<(String, Decoded)>> {
        let new_dn = dn::child(&layout.rdn_attr, rdn_value, dn::parent(&current.dn));
        if dn::normalize(&new_dn) == dn::normalize(&current.dn) {
            return Ok(None);
        }
        let rdn = dn::rdn(&layout.rdn_attr, rdn_value);
        let res = self
            .run(op, Write::Rename(&current.dn, rdn), self.write_controls(layout, Some(&current.version_raw)))
            .await?;
        let d = self.after_write(layout, &res, &new_dn, false).await?;
        Ok(Some((new_dn, d)))
    }

    pub(crate) async fn replace_entry(&self, rep: Replacement) -> StoreResult<StoredResource> {
        if rep.kind == ResourceKind::User && rep.members.as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(StoreError::Unsupported("a user has no members".to_owned()));
        }
        let layouts = self.layouts();
        let layout = layouts.of(rep.kind);
        let with_members = rep.kind == ResourceKind::Group && rep.members.is_some();
        for attempt in 0..3 {
            let (entry, cur) = self.current(layout, &rep.id, rep.expected_version, with_members).await?;
            let mut values = encode(&rep.claims, layout, &self.schema)?;
            let rdn_value = self.rdn_value(layout, &mut values, &rep.claims)?;
            self.check_user_name(layout, &rep.claims, Some(&cur.dn)).await?;
            let mut mods = self.attribute_mods(layout, &values);
            let resolved = match &rep.members {
                Some(members) if rep.kind == ResourceKind::Group => {
                    let resolved = self.resolve_members(members, Some(&cur.dn)).await?;
                    // The difference: members not in the new list leave, new ones are appended,
                    // the others keep their place.
                    let wanted: HashSet<String> = resolved.iter().map(|r| dn::normalize(&r.dn)).collect();
                    let leaving: Vec<String> = cur
                        .member_dns
                        .iter()
                        .filter(|d| !wanted.contains(&dn::normalize(d)))
                        .cloned()
                        .collect();
                    mods.extend(self.member_mods(&entry, &cur, false, &leaving, &resolved));
                    Some(resolved)
                }
                _ => None,
            };
            let written: Vec<String> = values.iter().map(|(a, _)| a.clone()).collect();
            match self.apply(layout, &rep.id, &written, &cur, &rdn_value, mods).await {
                Ok(d) => {
                    let members = resolved.map(|r| r.into_iter().map(|r| r.member).collect());
                    return Ok(stored(rep.kind, d, members));
                }
                Err(e) if assertion_failed(&e) => {
                    if rep.expected_version.is_some() || attempt == 2 {
                        return Err(self.mismatch(layout, &rep.id).await);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(self.mismatch(layout, &rep.id).await)
    }

    /// Renames (if the RDN value changed) and modifies, each on the version read; a failed
    /// modify after a rename renames back.
    async fn apply(
        &self,
        layout: &Layout,
        id: &str,
        written: &[String],
        cur: &Decoded,
        rdn_value: &str,
        mods: Vec<Mod<Bytes>>,
    ) -> StoreResult<Decoded> {
        let op = self.op(layout, Some(id), written);
        let renamed = self.rename_if_needed(layout, &op, cur, rdn_value).await?;
        let (target, version) = match &renamed {
            Some((dn, d)) => (dn.clone(), d.version_raw.clone()),
            None => (cur.dn.clone(), cur.version_raw.clone()),
        };
        if mods.is_empty() {
            return match renamed {
                Some((_, d)) => Ok(d),
                None => Ok(cur.clone()),
            };
        }
        match self.run(&op, Write::Modify(&target, mods), self.write_controls(layout, Some(&version))).await {
            Ok(res) => self.after_write(layout, &res, &target, false).await,
            Err(e) => {
                if renamed.is_some()
                    && let Some(old_rdn) = cur.dn.split_once(',').map(|(r, _)| r.to_owned())
                {
                    let _ = self.run(&op, Write::Rename(&target, old_rdn), Vec::new()).await;
                }
                Err(e)
            }
        }
    }

    /// The modifications of a group's member attribute: `clear` drops every current member,
    /// `remove` the DNs given, `add` appends members not there yet, in order; the empty-group
    /// member comes and goes with the last and first member.
    fn member_mods(
        &self,
        entry: &RawEntry,
        cur: &Decoded,
        clear: bool,
        remove: &[String],
        add: &[Resolved],
    ) -> Vec<Mod<Bytes>> {
        let attr = self.config.member_attribute.as_bytes().to_vec();
        let empty = self.config.empty_group_member.as_deref();
        let has_empty = empty.is_some_and(|e| {
            let e = dn::normalize(e);
            entry
                .values(&self.config.member_attribute)
                .any(|v| dn::normalize(&String::from_utf8_lossy(v)) == e)
        });
        let mut kept: Vec<(String, String)> =
            cur.member_dns.iter().map(|d| (dn::normalize(d), d.clone())).collect();
        let mut deleted: Vec<Bytes> = Vec::new();
        if clear {
            deleted.extend(kept.drain(..).map(|(_, d)| d.into_bytes()));
        } else {
            let gone: HashSet<String> = remove.iter().map(|d| dn::normalize(d)).collect();
            kept.retain(|(n, d)| {
                let stays = !gone.contains(n);
                if !stays {
                    deleted.push(d.clone().into_bytes());
                }
                stays
            });
        }
        let mut present: HashSet<String> = kept.iter().map(|(n, _)| n.clone()).collect();
        let mut mods = Vec::new();
        if !deleted.is_empty() {
            mods.push(Mod::Delete(attr.clone(), set(deleted)));
        }
        let mut added = 0;
        for r in add {
            if present.insert(dn::normalize(&r.dn)) {
                mods.push(Mod::Add(attr.clone(), set([r.dn.as_bytes().to_vec()])));
                added += 1;
            }
        }
        let members_after = kept.len() + added;
        if let Some(e) = empty {
            if members_after == 0 && !has_empty {
                mods.push(Mod::Add(attr.clone(), set([e.as_bytes().to_vec()])));
            } else if members_after > 0 && has_empty {
                mods.push(Mod::Delete(attr.clone(), set([e.as_bytes().to_vec()])));
            }
        }
        mods
    }

    pub(crate) async fn change_group_members(&self, ch: MemberChange) -> StoreResult<StoredResource> {
        let layouts = self.layouts();
        let layout = &layouts.groups;
        for attempt in 0..3 {
            let (entry, cur) = self.current(layout, &ch.group_id, ch.expected_version, true).await?;
            let add = self.resolve_members(&ch.add, Some(&cur.dn)).await?;
            // Ids to remove that name no entry are ignored.
            let remove = self.dns_of_ids(&ch.remove).await?;
            let mut mods = self.member_mods(&entry, &cur, ch.clear, &remove, &add);
            let (mut written, mut rdn_value) = (Vec::new(), cur.dn.clone());
            if let Some(claims) = &ch.claims {
                let mut values = encode(claims, layout, &self.schema)?;
                rdn_value = self.rdn_value(layout, &mut values, claims)?;
                mods.extend(self.attribute_mods(layout, &values));
                written = values.iter().map(|(a, _)| a.clone()).collect();
            } else if let Some(v) =
                cur.dn.split_once(',').and_then(|(r, _)| r.split_once('=')).map(|(_, v)| v)
            {
                // Keep the name: the RDN value as stored (escaped), compared after unescaping.
                rdn_value = unescape_rdn(v);
            }
            match self.apply(layout, &ch.group_id, &written, &cur, &rdn_value, mods).await {
                Ok(d) => return Ok(stored(ResourceKind::Group, d, None)),
                Err(e) if assertion_failed(&e) => {
                    if ch.expected_version.is_some() || attempt == 2 {
                        return Err(self.mismatch(layout, &ch.group_id).await);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(self.mismatch(layout, &ch.group_id).await)
    }

    pub(crate) async fn delete_entry(
        &self,
        kind: ResourceKind,
        id: &str,
        expected: Option<u64>,
    ) -> StoreResult<()> {
        let layouts = self.layouts();
        let layout = layouts.of(kind);
        let (_, cur) = self.current(layout, id, expected, false).await?;
        let op = self.op(layout, Some(id), &[]);
        match self
            .run(
                &op,
                Write::Delete(&cur.dn),
                self.write_controls(layout, Some(&cur.version_raw))
                    .into_iter()
                    .filter(|c| c.ctype != POST_READ_OID)
                    .collect(),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if assertion_failed(&e) => return Err(self.mismatch(layout, id).await),
            Err(e) => return Err(e),
        }
        self.leave_groups(&cur.dn).await
    }

    /// Removes `member_dn` from every group that still holds it (directories with referential
    /// integrity have done so already).
    async fn leave_groups(&self, member_dn: &str) -> StoreResult<()> {
        let layouts = self.layouts();
        let groups = &layouts.groups;
        let attr = &self.config.member_attribute;
        let filter = groups.narrowed(&format!("({attr}={})", escape(member_dn.as_bytes())));
        let attrs = vec![attr.clone()];
        let op = self.op(groups, None, &[]);
        for group in self.lookup(&groups.base, &filter, &attrs, None).await? {
            let value = group
                .values(attr)
                .find(|v| dn::normalize(&String::from_utf8_lossy(v)) == dn::normalize(member_dn))
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| member_dn.as_bytes().to_vec());
            let mut mods = vec![Mod::Delete(attr.as_bytes().to_vec(), set([value]))];
            if group.values(attr).len() == 1
                && let Some(e) = &self.config.empty_group_member
            {
                mods.push(Mod::Add(attr.as_bytes().to_vec(), set([e.as_bytes().to_vec()])));
            }
            match self.run(&op, Write::Modify(&group.dn, mods), Vec::new()).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                // Removed meanwhile (referential integrity): nothing left to do.
                Err(StoreError::Rejected(m)) if m.contains("no such") || m.contains("No such") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// An RDN value as stored, unescaped (RFC 4514 §3): `\,` and `\2C` both become `,`.
fn unescape_rdn(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(b) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
            if let Some(&b) = bytes.get(i + 1) {
                out.push(b);
            }
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One LDAP write.
enum Write<'a> {
    Add(&'a str, Vec<(Bytes, HashSet<Bytes>)>),
    Modify(&'a str, Vec<Mod<Bytes>>),
    Rename(&'a str, String),
    Delete(&'a str),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 4514 §3: escaped characters in an attribute value.
    #[test]
    fn rdn_values_unescape() {
        assert_eq!(unescape_rdn("Smith\\, John"), "Smith, John");
        assert_eq!(unescape_rdn("a\\2Cb\\\\c"), "a,b\\c");
        assert_eq!(unescape_rdn(&dn::escape_value(" #x+y ")), " #x+y ");
    }
}
