//! A saved plan of several workspaces (accounts declared in one `dimctl.yaml`): one
//! ordinary [`Plan`] per workspace, keyed by the workspace's name. A run without
//! workspaces saves a bare [`Plan`] as before, so single-account plans stay as they were;
//! [`Saved::parse`] tells the two apart by the top-level `workspaces` key.
//!
//! Each inner plan keeps its own format version and endpoint, so `apply --plan` checks
//! every workspace's binding on its own.

use std::collections::BTreeMap;

use super::{FORMAT_VERSION, Plan, Summary};

/// Plans of several workspaces, saved together by `plan --out` and applied together,
/// stamped with the dimctl version, the time and the revision like a single plan.
pub type WorkspacePlans = crate::document::Workspaces<Plan>;

impl WorkspacePlans {
    /// A set of plans stamped now; the revision is that of the plans (one commit).
    pub fn new(workspaces: BTreeMap<String, Plan>) -> Self {
        let revision = workspaces.values().find_map(|p| p.revision.clone());
        Self::stamped(FORMAT_VERSION, workspaces, revision)
    }

    /// Whether any workspace would write anything.
    pub fn has_changes(&self) -> bool {
        self.workspaces.values().any(Plan::has_changes)
    }

    /// Whether every workspace's plan may be applied.
    pub fn is_applicable(&self) -> bool {
        self.workspaces.values().all(Plan::is_applicable)
    }

    /// The counts of every workspace added up.
    pub fn total(&self) -> Summary {
        let mut t = Summary::default();
        for p in self.workspaces.values() {
            let s = &p.summary;
            t.create += s.create;
            t.update += s.update;
            t.delete += s.delete;
            t.refused += s.refused;
            t.unverifiable_fields += s.unverifiable_fields;
            t.unchanged += s.unchanged;
            t.unmanaged += s.unmanaged;
            t.errors += s.errors;
        }
        t
    }
}

/// A saved plan file: one account's plan, or several workspaces'.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    Single(Box<Plan>),
    Workspaces(WorkspacePlans),
}

impl Saved {
    /// Read a saved plan's JSON.
    pub fn parse(text: &str) -> Result<Saved, serde_json::Error> {
        Saved::from_value(serde_json::from_str(text)?)
    }

    /// Read a saved plan's parsed JSON.
    pub fn from_value(value: serde_json::Value) -> Result<Saved, serde_json::Error> {
        if value.get("workspaces").is_some() {
            serde_json::from_value(value).map(Saved::Workspaces)
        } else {
            serde_json::from_value(value).map(|p| Saved::Single(Box::new(p)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Policy, plan};

    #[test]
    fn a_single_plan_and_a_workspace_set_are_told_apart() {
        let mut p = plan(&[], &[], &Policy::default());
        p.endpoint = "http://uk".into();
        let single = serde_json::to_string(&p).unwrap();
        assert_eq!(
            Saved::parse(&single).unwrap(),
            Saved::Single(Box::new(p.clone()))
        );
        let mut au = p.clone();
        au.endpoint = "http://au".into();
        let set = WorkspacePlans::new(BTreeMap::from([("uk".into(), p), ("au".into(), au)]));
        let text = serde_json::to_string(&set).unwrap();
        let Saved::Workspaces(back) = Saved::parse(&text).unwrap() else {
            panic!("read as a single plan: {text}");
        };
        assert_eq!(back.workspaces["au"].endpoint, "http://au");
        assert_eq!(back, set);
        assert!(!back.has_changes());
        assert!(Saved::parse("{\"workspaces\": 3}").is_err());
    }
}
