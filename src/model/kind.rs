//! The resource registry: every kind dimctl manages ([`Kind`]), one registered description
//! of each ([`KindDef`]: where it lives on the wire, its parent, its identity, its field
//! table, what creating and deleting it does), and the [`Address`] that keys every desired
//! resource, live resource and planned change.
//!
//! Adding a kind is a variant here, its `KindDef`, its spec type and the arms the compiler
//! then asks for in every exhaustive `match kind` (see ARCHITECTURE.md, "Adding a resource
//! kind"). This module does no I/O and decides nothing about desired state.

use serde::{Deserialize, Serialize};

use super::catalogue::{CUSTOMER_FIELDS, EffectClass, Field, Mutability, USER_FIELDS};

/// A kind of resource. Declaration order is create order (parents first); deletes run in
/// the reverse order (children first).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Kind {
    /// A customer tenant (`/customers`).
    Customer,
    /// A user of a customer, with their roles (`/customers/{C}/users`).
    User,
}

impl Kind {
    /// Every kind, in create order.
    pub const ALL: &'static [Kind] = &[Kind::Customer, Kind::User];

    /// The registered description of this kind.
    pub fn def(self) -> &'static KindDef {
        match self {
            Kind::Customer => &CUSTOMER,
            Kind::User => &USER,
        }
    }

    /// The address label, e.g. `customer` in `customer[ACME-0001]`.
    pub fn label(self) -> &'static str {
        self.def().label
    }

    /// The kind whose address label is `label`.
    pub fn from_label(label: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.label() == label)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.def().name)
    }
}

/// Something that happens when a resource of a kind is created or deleted, which a
/// reviewer must see in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindEffect {
    pub class: EffectClass,
    /// The machine code in the JSON plan, where there is one.
    pub code: Option<&'static str>,
    /// The sentence a reviewer reads.
    pub message: &'static str,
}

/// The registered description of one kind.
#[derive(Debug)]
pub struct KindDef {
    pub kind: Kind,
    /// The manifest's `kind:` and the plan's `kind`, e.g. `Customer`.
    pub name: &'static str,
    /// The address label, e.g. `customer`.
    pub label: &'static str,
    /// The collection's path segment under its parent (or under the API root).
    pub collection: &'static str,
    /// The kind this one lives under, if any.
    pub parent: Option<Kind>,
    /// The field(s) that identify a resource within its parent (matched in this order).
    pub identity: &'static [&'static str],
    /// The server-generated id field, which a manifest may pin.
    pub id_field: &'static str,
    /// The field table.
    pub fields: &'static [Field],
    /// Where the kind's section of the committed manifest schema is (a JSON pointer into
    /// `schema/customer.schema.json`; empty for the document root).
    pub schema_pointer: &'static str,
    /// What creating one does (in plan annotations).
    pub on_create: &'static [KindEffect],
    /// What deleting one does (in plan annotations).
    pub on_delete: &'static [KindEffect],
}

impl KindDef {
    /// A field of this kind by its wire name.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A field of this kind by its wire name, ignoring ASCII case (the API is liberal).
    pub fn field_ignore_case(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Fields a manifest may set (everything but the read-only ones).
    pub fn writable_fields(&self) -> impl Iterator<Item = &'static Field> + use<> {
        self.fields
            .iter()
            .filter(|f| f.mutability != Mutability::ReadOnly)
    }
}

/// The customer kind.
pub static CUSTOMER: KindDef = KindDef {
    kind: Kind::Customer,
    name: "Customer",
    label: "customer",
    collection: "customers",
    parent: None,
    identity: &["reference"],
    id_field: "id",
    fields: CUSTOMER_FIELDS,
    schema_pointer: "",
    on_create: &[KindEffect {
        class: EffectClass::Billable,
        code: None,
        message: "creating a customer adds a billable tenant",
    }],
    on_delete: &[KindEffect {
        class: EffectClass::Destructive,
        code: None,
        message: "terminating a customer deactivates it and flags it for deletion; \
                  it cannot be reinstated and its data is lost",
    }],
};

/// The user kind: a customer's users and their roles.
pub static USER: KindDef = KindDef {
    kind: Kind::User,
    name: "User",
    label: "user",
    collection: "users",
    parent: Some(Kind::Customer),
    identity: &["email"],
    id_field: "id",
    fields: USER_FIELDS,
    schema_pointer: "/$defs/UserSpec",
    on_create: &[
        KindEffect {
            class: EffectClass::SideEffect,
            code: Some("sends-activation-email"),
            message: "creating a user sends an activation e-mail to their address immediately",
        },
        KindEffect {
            class: EffectClass::Billable,
            code: Some("roles-billed"),
            message: "a user's roles are billed monthly; a role held over a day carries a 30-day minimum",
        },
    ],
    on_delete: &[KindEffect {
        class: EffectClass::Destructive,
        code: Some("deletes-user-everywhere"),
        message: "deleting a user in their primary tenant deletes them from every tenant",
    }],
};

/// How a resource is named within its parent: by its identity (a reference, a name, an
/// e-mail) or, when it is known only by its server id, by that id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressKey {
    Name(String),
    Id(String),
}

/// Where a resource is: its kind, its parent's address and its key. Printed as
/// `customer[ACME-0001]`, `customer[id=8d1f…]`, `customer[ACME-0001].pbx[acme-kazoo]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub parent: Option<Box<Address>>,
    pub kind: Kind,
    pub key: AddressKey,
}

impl Address {
    /// A top-level resource (a customer) named by its identity.
    pub fn named(kind: Kind, name: impl Into<String>) -> Address {
        Address {
            parent: None,
            kind,
            key: AddressKey::Name(name.into()),
        }
    }

    /// A top-level resource known only by its server id.
    pub fn by_id(kind: Kind, id: impl Into<String>) -> Address {
        Address {
            parent: None,
            kind,
            key: AddressKey::Id(id.into()),
        }
    }

    /// A child of this resource.
    pub fn child(&self, kind: Kind, key: AddressKey) -> Address {
        Address {
            parent: Some(Box::new(self.clone())),
            kind,
            key,
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = &self.parent {
            write!(f, "{p}.")?;
        }
        match &self.key {
            AddressKey::Name(n) => write!(f, "{}[{n}]", self.kind.label()),
            AddressKey::Id(id) => write!(f, "{}[id={id}]", self.kind.label()),
        }
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an address ({why}); write e.g. customer[ACME-0001] or customer[id=ID]")]
pub struct AddressError {
    pub input: String,
    pub why: &'static str,
}

impl std::str::FromStr for Address {
    type Err = AddressError;

    /// Parse `label[key](.label[key])*`. A key may itself hold `]` or `.`: a segment ends
    /// at the first `]` that is followed by the end or by `.label[` of a known kind.
    fn from_str(s: &str) -> Result<Address, AddressError> {
        let err = |why| AddressError {
            input: s.to_string(),
            why,
        };
        let mut rest = s;
        let mut parent: Option<Address> = None;
        loop {
            let open = rest.find('[').ok_or_else(|| err("no '['"))?;
            let kind = Kind::from_label(&rest[..open]).ok_or_else(|| err("unknown kind"))?;
            let body = &rest[open + 1..];
            let end = body
                .match_indices(']')
                .map(|(i, _)| i)
                .find(|&i| {
                    let after = &body[i + 1..];
                    after.is_empty()
                        || after.strip_prefix('.').is_some_and(|a| {
                            a.find('[')
                                .is_some_and(|o| Kind::from_label(&a[..o]).is_some())
                        })
                })
                .ok_or_else(|| err("no closing ']'"))?;
            let inner = &body[..end];
            if inner.trim().is_empty() {
                return Err(err("empty key"));
            }
            let key = match inner.strip_prefix("id=") {
                Some(id) => AddressKey::Id(id.to_string()),
                None => AddressKey::Name(inner.to_string()),
            };
            let here = Address {
                parent: parent.map(Box::new),
                kind,
                key,
            };
            if let Some(p) = &here.parent
                && kind.def().parent != Some(p.kind)
            {
                return Err(err("this kind does not live under that parent"));
            }
            if here.parent.is_none() && kind.def().parent.is_some() {
                return Err(err("this kind needs its parent's address first"));
            }
            let after = &body[end + 1..];
            if after.is_empty() {
                return Ok(here);
            }
            parent = Some(here);
            rest = &after[1..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_and_parse_back() {
        for s in [
            "customer[ACME-0001]",
            "customer[id=8d1f0000-aaaa]",
            "customer[odd] name.with]dots]",
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
        let a: Address = "customer[id=8d1f]".parse().unwrap();
        assert_eq!(a.key, AddressKey::Id("8d1f".into()));
        assert_eq!(a, Address::by_id(Kind::Customer, "8d1f"));
    }

    #[test]
    fn bad_addresses_say_why() {
        for s in [
            "ACME-0001",
            "tenant[A]",
            "customer[]",
            "customer[A",
            "customer[A]x",
        ] {
            let e = s.parse::<Address>().unwrap_err();
            assert!(e.to_string().contains("customer[ACME-0001]"), "{e}");
        }
    }

    #[test]
    fn every_kind_is_registered_consistently() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            let d = k.def();
            assert_eq!(d.kind, *k);
            assert_eq!(Kind::from_label(d.label), Some(*k));
            assert!(!d.identity.is_empty());
            for id in d.identity {
                assert!(d.field(id).is_some(), "{k}: identity {id} is not a field");
            }
            assert!(d.field(d.id_field).is_some());
            // A parent comes before its children in create order.
            if let Some(p) = d.parent {
                assert!(
                    Kind::ALL[..i].contains(&p),
                    "{k}: parent {p} must come first"
                );
            }
        }
    }
}
