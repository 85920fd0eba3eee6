//! A fake GitHub on 127.0.0.1 for the components and pipeline tests (GitHub is not
//! reachable from the build machine): fixed bodies by URL path, 404 for the rest, and
//! a hit counter to prove offline and cached builds make no request.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[path = "../http_support/mod.rs"]
mod http;

pub struct FakeGithub {
    pub base: String,
    pub hits: Arc<AtomicUsize>,
    routes: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl FakeGithub {
    pub fn start() -> FakeGithub {
        let routes: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let r = routes.clone();
        let (base, hits) = http::serve(move |path| r.lock().unwrap().get(path).cloned());
        FakeGithub { base, hits, routes }
    }

    pub fn route(&self, path: &str, body: &[u8]) {
        self.routes.lock().unwrap().insert(path.to_string(), body.to_vec());
    }

    /// A release asset at GitHub's download path.
    pub fn asset(&self, repo: &str, tag: &str, name: &str, body: &[u8]) {
        self.route(&format!("/{repo}/releases/download/{tag}/{name}"), body);
    }

    /// `releases/latest` for `repo`, listing `assets` (served by [`FakeGithub::asset`]).
    pub fn latest(&self, repo: &str, tag: &str, assets: &[&str]) {
        let list: Vec<String> = assets
            .iter()
            .map(|a| {
                format!(
                    "{{\"name\":\"{a}\",\"browser_download_url\":\"{}/{repo}/releases/download/{tag}/{a}\"}}",
                    self.base
                )
            })
            .collect();
        let json = format!("{{\"tag_name\":\"{tag}\",\"assets\":[{}]}}", list.join(","));
        self.route(&format!("/repos/{repo}/releases/latest"), json.as_bytes());
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}
