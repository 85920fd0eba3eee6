//! A fake GitHub on 127.0.0.1 for the components and pipeline tests (GitHub is not
//! reachable from the build machine): fixed bodies by URL path, 404 for the rest, and
//! a hit counter to prove offline and cached builds make no request.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct FakeGithub {
    pub base: String,
    pub hits: Arc<AtomicUsize>,
    routes: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl FakeGithub {
    pub fn start() -> FakeGithub {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let routes: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let (h, r) = (hits.clone(), routes.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                h.fetch_add(1, Ordering::SeqCst);
                let mut rd = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                let _ = rd.read_line(&mut line);
                loop {
                    let mut hdr = String::new();
                    if rd.read_line(&mut hdr).unwrap_or(0) == 0 || hdr == "\r\n" {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let body = r.lock().unwrap().get(&path).cloned();
                let _ = match body {
                    Some(b) => write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        b.len()
                    )
                    .and_then(|_| s.write_all(&b)),
                    None => write!(
                        s,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                    ),
                };
            }
        });
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
