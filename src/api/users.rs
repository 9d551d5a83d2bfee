//! Reading users for a plan: one Get All per customer whose manifest declares users, and
//! one Get per declared user that exists (Get All carries no roles), concurrently. The
//! client's own rate and in-flight limits pace the requests; this only bounds how many
//! futures wait on them at once.
//!
//! It reads what it is told to read; which customers and users that is, is decided by
//! the planner ([`crate::plan::users::to_read`]).

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::{Api, ApiError, Collection};
use crate::model::user::live_email;
use crate::model::{Kind, LiveObject, LiveUsers, email_key};

/// How many requests of a read may wait on the client at once.
pub const READ_CONCURRENCY: usize = 32;

/// Read the users of each `(customer id, declared e-mail keys)`: the listing of all, and a
/// Get of each declared one that the listing shows (its roles merged into the listing's
/// entry). Every customer is read whole (`declared: None`) with [`read_all`].
pub async fn read(api: &dyn Api, wanted: &[(String, Vec<String>)]) -> Result<LiveUsers, ApiError> {
    let listings: Vec<(String, Vec<LiveObject>)> = stream::iter(wanted.iter())
        .map(|(customer, _)| async move {
            let users = api
                .list(Collection::new(Kind::User, Some(customer)), None)
                .await?;
            Ok::<_, ApiError>((customer.clone(), users))
        })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = LiveUsers::default();
    let mut gets = Vec::new();
    for (customer, users) in listings {
        let declared: HashSet<&String> = wanted
            .iter()
            .filter(|(c, _)| *c == customer)
            .flat_map(|(_, keys)| keys)
            .collect();
        for u in &users {
            if live_email(u).is_some_and(|e| declared.contains(&email_key(e))) {
                gets.push((customer.clone(), u.id.clone()));
            }
        }
        out.by_customer.insert(customer, users);
    }
    fill_roles(api, &mut out, gets).await?;
    Ok(out)
}

/// Read every user of each customer, with their roles (import and drift).
pub async fn read_all(api: &dyn Api, customers: &[String]) -> Result<LiveUsers, ApiError> {
    let wanted: Vec<(String, Vec<String>)> =
        customers.iter().map(|c| (c.clone(), Vec::new())).collect();
    let mut out = read(api, &wanted).await?;
    let gets: Vec<(String, String)> = out
        .by_customer
        .iter()
        .flat_map(|(c, users)| users.iter().map(move |u| (c.clone(), u.id.clone())))
        .collect();
    fill_roles(api, &mut out, gets).await?;
    Ok(out)
}

/// Get each `(customer, user id)` and merge the answer's fields (its roles) into the
/// listed user. A user gone between the listing and the Get is dropped.
async fn fill_roles(
    api: &dyn Api,
    out: &mut LiveUsers,
    gets: Vec<(String, String)>,
) -> Result<(), ApiError> {
    let answers: Vec<(String, String, Option<LiveObject>)> = stream::iter(gets)
        .map(|(customer, id)| async move {
            match api
                .get(Collection::new(Kind::User, Some(&customer)), &id)
                .await
            {
                Ok(u) => Ok((customer, id, Some(u))),
                Err(ApiError::NotFound { .. }) => Ok((customer, id, None)),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    for (customer, id, got) in answers {
        let Some(users) = out.by_customer.get_mut(&customer) else {
            continue;
        };
        match got {
            Some(u) => {
                if let Some(listed) = users.iter_mut().find(|l| l.id == id) {
                    listed.fields.extend(u.fields);
                }
            }
            None => users.retain(|l| l.id != id),
        }
    }
    Ok(())
}
