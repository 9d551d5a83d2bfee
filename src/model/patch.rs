//! The RFC 6902 operation a plan carries and a PATCH sends, and what is safe to send
//! twice. It lives in the model so the planner can build patches without depending on
//! [`crate::api`].

/// One RFC 6902 operation.
pub type PatchOperation = json_patch::PatchOperation;

/// Whether sending these operations twice leaves the same result as sending them once:
/// `replace`, `test` and `add` at an object key are; an array append or insert (`add` at
/// `-` or an index), `remove`, `move` and `copy` are not.
pub fn patch_is_idempotent(ops: &[PatchOperation]) -> bool {
    ops.iter().all(|op| match op {
        PatchOperation::Replace(_) | PatchOperation::Test(_) => true,
        PatchOperation::Add(o) => {
            let p = o.path.to_string();
            let last = p.rsplit('/').next().unwrap_or("");
            last != "-" && last.parse::<usize>().is_err()
        }
        _ => false,
    })
}
