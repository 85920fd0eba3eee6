//! The loader's two module syscalls, bounded when a timeout is set
//! ([`crate::sys::Kmod::finit_module_within`]): a module still in its init at the
//! timeout becomes [`ModError::StillLoading`].

use std::time::Duration;

use super::load::Node;
use super::ModError;
use crate::sys::{Kmod, Within};

/// `finit_module`, bounded when there is a timeout; Err when it ran out.
pub(super) fn finit(
    kmod: &dyn Kmod,
    node: &Node,
    compressed: bool,
    timeout: Option<Duration>,
) -> Result<SysResult, ModError> {
    let Some(t) = timeout else {
        return Ok(kmod.finit_module(&node.path, &node.params, compressed));
    };
    within(
        node,
        "finit_module",
        t,
        kmod.finit_module_within(&node.path, &node.params, compressed, t),
    )
}

/// `init_module` of a user-space image, bounded as [`finit`].
pub(super) fn init(
    kmod: &dyn Kmod,
    node: &Node,
    image: &[u8],
    timeout: Option<Duration>,
) -> Result<SysResult, ModError> {
    let Some(t) = timeout else {
        return Ok(kmod.init_module(image, &node.params, &node.path));
    };
    within(
        node,
        "init_module",
        t,
        kmod.init_module_within(image, &node.params, &node.path, t),
    )
}

type SysResult = Result<(), crate::error::SysError>;

fn within(node: &Node, op: &'static str, after: Duration, w: Within) -> Result<SysResult, ModError> {
    match w {
        Within::Done(r) => Ok(r),
        Within::StillLoading { pid } => Err(ModError::StillLoading {
            module: node.name.clone(),
            op,
            path: node.path.clone(),
            after,
            pid,
        }),
    }
}
