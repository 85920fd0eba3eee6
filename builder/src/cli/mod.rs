//! The arguments and the printing of the subcommands that have no module of their
//! own (`build`, `run`, `ls`/`cat`/`unpack`, `lint`, `timeline`): one file each, so
//! main.rs only parses the command line and dispatches.

pub mod build;
mod build_direct;
pub mod docs;
pub mod image;
pub mod lint;
pub mod run;
pub mod timeline;
