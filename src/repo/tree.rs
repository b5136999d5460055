//! Directory trees: each directory is one tree blob listing its entries by name.
//! Identical directories in two snapshots are the same blob, stored once.

use crate::crypto::Id;
use serde::{Deserialize, Serialize};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// A file name exactly as the filesystem gave it: names need not be UTF-8.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawName(pub Vec<u8>);

impl RawName {
    pub fn from_os(name: &OsStr) -> Self {
        RawName(name.as_bytes().to_vec())
    }

    pub fn to_os(&self) -> OsString {
        OsString::from_vec(self.0.clone())
    }

    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RawNameRepr {
    Text(String),
    Bytes { hex: String },
}

impl Serialize for RawName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => RawNameRepr::Text(text.to_string()),
            Err(_) => RawNameRepr::Bytes {
                hex: hex::encode(&self.0),
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RawName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawNameRepr::deserialize(d)? {
            RawNameRepr::Text(text) => Ok(RawName(text.into_bytes())),
            RawNameRepr::Bytes { hex } => hex::decode(hex)
                .map(RawName)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum NodeKind {
    Dir { subtree: Id },
    File { content: Vec<Id>, blake3: String },
    Symlink { target: RawName },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: RawName,
    #[serde(flatten)]
    pub kind: NodeKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
    pub size: u64,
    #[serde(default)]
    pub inode: u64,
}

impl Node {
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir { .. })
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Dir { .. } => "dir",
            NodeKind::File { .. } => "file",
            NodeKind::Symlink { .. } => "symlink",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Tree, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub fn find(&self, name: &[u8]) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.name.0.as_slice().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn names_survive_any_bytes(name in proptest::collection::vec(any::<u8>(), 1..40)) {
            let tree = Tree { nodes: vec![Node {
                name: RawName(name.clone()),
                kind: NodeKind::Symlink { target: RawName(name.clone()) },
                mode: 0o777, uid: 1, gid: 2, mtime: -5, mtime_nsec: 7, size: 0, inode: 3,
            }] };
            let back = Tree::from_bytes(&tree.to_bytes()).unwrap();
            prop_assert_eq!(back, tree);
        }
    }
}
